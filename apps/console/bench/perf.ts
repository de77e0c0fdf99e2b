// Console performance in the production build, in a real Chromium, against a real server:
//
// 1. First load (cold cache) of the sign-in page and of the Fleet page once signed in:
//    navigation timing (TTFB, DOMContentLoaded, load), largest contentful paint, and the moment
//    the page's main content shows; then client-side navigation between the main pages, from
//    the click on the nav link to the page's heading shown with nothing left loading.
// 2. The Fleet and Cars pages, each open for --minutes, with --cars live cars whose rows change
//    every second (one UPDATE of every car per second, what their heartbeats do to the table),
//    and --history-hours of minute samples already recorded (what a server that has run a day
//    holds, and what the Fleet chart draws): long tasks, each attributed to what ran in it (the
//    long animation frame around it: which callbacks, how long in script, how long in style and
//    layout), frame times, and the JS heap after a forced garbage collection every 10 s.
//    Steady state starts 30 s after the page shows.
//
// Prints a table and writes bench-results/console.json as [{ name, value, unit }].
//
//   npm run bench -w @nightshift/console                  # 5 minutes per page, 10,000 cars
//   npx tsx bench/perf.ts --minutes 1 --cars 2000 --reps 3
//   npx tsx bench/perf.ts --reps 0 --pages fleet --minutes 3 --profile   # the live Fleet page
//     only, sampled by the CPU profiler all along: each long task's functions (slows the page)
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_POLICY } from "@nightshift/api/services/enroll";
import { launchChromium } from "@nightshift/browser/chromium";
import { HARDWARE } from "@nightshift/core/hardware";
import { createDb, createPool } from "@nightshift/db/client";
import { cars as carsTable, fleetSamples, owners } from "@nightshift/db/schema";
import { parseDemo, spawnServe, tempDir } from "@nightshift/server-testkit/serve";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { CONSOLE_DIR, isBuilt, startConsole } from "../src/serve";

interface Figure {
  name: string;
  value: number;
  unit: string;
}

const RESULTS_DIR = fileURLToPath(new URL("../../../bench-results/", import.meta.url));
const args = process.argv.slice(2);
function flag(name: string, fallback: number, min: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${name} must be a number ≥ ${min}, got ${JSON.stringify(args[at + 1])}`);
  }
  return value;
}

/** How long each live page stays open, the first 30 s of it settling in. */
const MINUTES = flag("--minutes", 5, 1);
const CARS = Math.round(flag("--cars", 10_000, 1));
/** Repetitions of each first load and of each navigation; 0 leaves both out. */
const REPS = Math.round(flag("--reps", 7, 0));
/** Pages of rows the Cars table phase scrolls through (200 rows each); 0 skips the phase. */
const TABLE_PAGES = Math.round(flag("--table-pages", 25, 0));
/** Minute samples of the fleet recorded before the live pages open (the Fleet chart's day). */
const HISTORY_HOURS = Math.round(flag("--history-hours", 24, 0));
const LIVE_PAGES = (() => {
  const at = args.indexOf("--pages");
  const names = at < 0 ? ["fleet", "cars"] : String(args[at + 1] ?? "").split(",");
  for (const n of names) {
    if (n !== "fleet" && n !== "cars") {
      throw new Error(
        `--pages takes fleet, cars or both (comma-separated), got ${JSON.stringify(n)}`,
      );
    }
  }
  return names as ("fleet" | "cars")[];
})();
/**
 * The CPU profiler samples each live page all along (every 1 ms) and each long task is broken
 * down by function. Off by default: sampling slows the page it measures.
 */
const PROFILE_ALONG = args.includes("--profile");
/**
 * A heap snapshot of each live page at the start and the end of its steady state, written to a
 * temporary folder, and what grew between them by constructor. Off by default: a snapshot stops
 * the page for a while.
 */
const HEAP_SNAPSHOTS = args.includes("--heap-snapshots");
/** With --heap-snapshots, one more every this many heap samples (two minutes), split in parts. */
const SNAPSHOT_EVERY_SAMPLES = 12;
const SETTLE_MS = 30_000;
const HEAP_SAMPLE_MS = 10_000;
const PROFILE_MS = 20_000;
const VIEWPORT = { width: 1366, height: 900 };

/** The console's navigation (src/components/shell.tsx): each page's heading is its label. */
const PAGES = [
  { key: "fleet", href: "/fleet", title: "Fleet" },
  { key: "cars", href: "/cars", title: "Cars" },
  { key: "jobs", href: "/jobs", title: "Jobs" },
  { key: "tenants", href: "/tenants", title: "Tenants" },
  { key: "energy", href: "/energy", title: "Energy & money" },
  { key: "planner", href: "/planner", title: "Capacity planner" },
  { key: "controls", href: "/controls", title: "Controls & audit" },
] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const MB = 1024 * 1024;

function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[at]!;
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return num / den;
}

// ---- in the page ----

// Runs in every page before its own scripts (addInitScript): marks when the main content first
// shows (a heading, no loading skeleton), and keeps the largest contentful paint. Written as a
// string: the bench is not bundled, so a function's source would carry whatever tsx adds to it.
const OBSERVE_LOAD = `(() => {
  const w = window;
  w.__lcp = 0;
  w.__contentAt = 0;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__lcp = Math.max(w.__lcp, e.startTime);
    }).observe({ type: "largest-contentful-paint", buffered: true });
  } catch {}
  const check = () => {
    if (document.querySelector("h1") && !document.querySelector(".skeleton")) {
      w.__contentAt = performance.now();
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();`;

// For the live pages: every frame's start and its gap from the previous one, into a buffer
// allocated once (so the recording does not itself grow the heap), every long task, and every
// long animation frame over 50 ms with the scripts that ran in it (Chromium's attribution: the
// callback that started each, its source, and the style and layout it forced).
function observeFrames(capacity: number): string {
  return `(() => {
  const w = window;
  const frames = new Float64Array(${capacity} * 2);
  const longTasks = [];
  const longFrames = [];
  w.__perf = { frames, count: 0, longTasks, longFrames };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch {}
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.duration <= 50) continue;
        longFrames.push({
          start: e.startTime,
          duration: e.duration,
          blocking: e.blockingDuration,
          renderStart: e.renderStart,
          styleAndLayoutStart: e.styleAndLayoutStart,
          scripts: e.scripts.map((s) => ({
            invoker: s.invoker,
            invokerType: s.invokerType,
            source: s.sourceURL,
            fn: s.sourceFunctionName,
            char: s.sourceCharPosition,
            start: s.startTime,
            duration: s.duration,
            forcedLayout: s.forcedStyleAndLayoutDuration,
          })),
        });
      }
    }).observe({ type: "long-animation-frame", buffered: true });
  } catch {}
  let last = -1;
  const tick = (t) => {
    if (last >= 0 && w.__perf.count < ${capacity}) {
      frames[w.__perf.count * 2] = t;
      frames[w.__perf.count * 2 + 1] = t - last;
      w.__perf.count++;
    }
    last = t;
    if (!w.__perf.stopped) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();`;
}

interface LoadTiming {
  ttfbMs: number;
  domContentLoadedMs: number;
  loadMs: number;
  lcpMs: number;
  contentMs: number;
}

async function loadTiming(page: Page): Promise<LoadTiming> {
  await page.waitForFunction("window.__contentAt > 0", undefined, { timeout: 60_000 });
  // LCP settles at the first input or when the page is hidden; a moment after the content
  // shows, the largest paint so far is the answer.
  await sleep(500);
  return page.evaluate(`(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return {
      ttfbMs: n.responseStart - n.startTime,
      domContentLoadedMs: n.domContentLoadedEventEnd - n.startTime,
      loadMs: n.loadEventEnd - n.startTime,
      lcpMs: window.__lcp,
      contentMs: window.__contentAt,
    };
  })()`);
}

/** In the page: clicks the nav link and times until the page's heading shows, nothing loading. */
/** In the page: clicks the nav link and times until the page's heading shows, nothing loading. */
async function navigate(page: Page, href: string, title: string): Promise<number> {
  return page.evaluate(`new Promise((resolve, reject) => {
    const href = ${JSON.stringify(href)};
    const title = ${JSON.stringify(title)};
    const link = document.querySelector('nav a[href="' + href + '"]');
    if (!link) throw new Error("no nav link to " + href);
    const t0 = performance.now();
    link.click();
    const check = () => {
      const h1 = document.querySelector("main h1");
      if (location.pathname === href && h1?.textContent === title && !document.querySelector("main .skeleton")) {
        resolve(performance.now() - t0);
      } else if (performance.now() - t0 > 60000) {
        reject(new Error(href + " did not show in 60 s"));
      } else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  })`);
}

// ---- the fleet ----

/**
 * Adds `n` cars as enrollment does (one owner each, the default policy, a credential stored as
 * its sha256), spread over the regions and the hardware profiles, already reporting in: 10%
 * driving, the rest parked or charging.
 */
async function addCars(databaseUrl: string, n: number): Promise<void> {
  const pool = createPool(databaseUrl, { max: 2 });
  try {
    const db = createDb(pool);
    const regionIds = (await pool.query<{ id: string }>("SELECT id FROM regions ORDER BY id")).rows;
    if (regionIds.length === 0) throw new Error("the server has no regions (seeded?)");
    const hardware = Object.keys(HARDWARE);
    const CHUNK = 1000;
    for (let from = 0; from < n; from += CHUNK) {
      const size = Math.min(CHUNK, n - from);
      const names = Array.from({ length: size }, (_, i) => `bench-car-${from + i + 1}`);
      const ownerRows = await db
        .insert(owners)
        .values(names.map((name) => ({ name: `Owner of ${name}` })))
        .returning({ id: owners.id });
      const now = new Date();
      await db.insert(carsTable).values(
        names.map((name, i) => {
          const k = from + i;
          const r = k % 10;
          const state = r === 0 ? "driving" : r <= 5 ? "parked" : "charging";
          return {
            ownerId: ownerRows[i]!.id,
            regionId: regionIds[k % regionIds.length]!.id,
            hardwareId: hardware[k % hardware.length]!,
            name,
            credentialHash: createHash("sha256").update(randomBytes(32)).digest("hex"),
            state,
            socPct: 20 + (k % 76),
            pluggedIn: state === "charging",
            chargerKW: state === "charging" ? (k % 2 ? 11 : 7.4) : 0,
            batteryKWh: 75,
            chargeEfficiency: 0.9,
            batteryTempC: 20,
            policy: DEFAULT_POLICY,
            lastHeartbeatAt: now,
          } as const;
        }),
      );
    }
  } finally {
    await pool.end();
  }
}

/**
 * `hours` of minute samples up to the minute before this one, as the server's sampler writes
 * them (the whole fleet as region "*", and each region): a day that swings from most of the
 * fleet eligible at night to a third of it at midday. Returns how many minutes were written.
 */
async function addHistory(databaseUrl: string, cars: number, hours: number): Promise<number> {
  if (hours === 0) return 0;
  const pool = createPool(databaseUrl, { max: 2 });
  try {
    const db = createDb(pool);
    const regionIds = (await pool.query<{ id: string }>("SELECT id FROM regions ORDER BY id")).rows;
    const profiles = Object.values(HARDWARE);
    const meanKW = profiles.reduce((s, h) => s + h.inferencePowerW, 0) / profiles.length / 1000;
    const meanTops = profiles.reduce((s, h) => s + h.peakTops, 0) / profiles.length;
    const thisMinute = Math.floor(Date.now() / 60_000) * 60_000;
    const minutes = hours * 60;
    const perRegion = cars / regionIds.length;
    let rows: (typeof fleetSamples.$inferInsert)[] = [];
    for (let m = minutes; m >= 1; m--) {
      const at = new Date(thisMinute - m * 60_000);
      const hour = at.getUTCHours() + at.getUTCMinutes() / 60;
      const share = 0.6 + 0.3 * Math.cos(((hour - 2) / 24) * 2 * Math.PI);
      const all = { online: 0, eligible: 0, availableKW: 0, availableTops: 0 };
      regionIds.forEach(({ id }, i) => {
        const online = Math.round(perRegion * 0.9);
        const eligible = Math.round(online * share * (1 - 0.05 * i));
        const figures = {
          online,
          eligible,
          availableKW: eligible * meanKW,
          availableTops: eligible * meanTops,
        };
        rows.push({ at, regionId: id, ...figures, activeLeases: 0, queueDepth: 0 });
        all.online += online;
        all.eligible += eligible;
        all.availableKW += figures.availableKW;
        all.availableTops += figures.availableTops;
      });
      rows.push({ at, regionId: "*", ...all, activeLeases: 0, queueDepth: 0 });
      if (rows.length >= 2000 || m === 1) {
        await db.insert(fleetSamples).values(rows).onConflictDoNothing();
        rows = [];
      }
    }
    return minutes;
  } finally {
    await pool.end();
  }
}

/**
 * Every second, every car's row changes as a heartbeat changes it: last heard now, its charge
 * drifting, and about 2% of cars changing state (a charging car unplugs, a driving car parks).
 */
function heartbeatEverySecond(databaseUrl: string): {
  stop(): Promise<{ updates: number; p50Ms: number; maxMs: number }>;
} {
  const pool = createPool(databaseUrl, { max: 1 });
  const took: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await pool.query(`
        WITH next AS (
          SELECT id,
                 CASE WHEN random() < 0.02
                      THEN (ARRAY['parked', 'charging', 'driving'])[1 + floor(random() * 3)::int]
                      ELSE state END AS state
            FROM cars WHERE name LIKE 'bench-car-%')
        UPDATE cars SET
          state = next.state,
          plugged_in = next.state = 'charging' OR (cars.plugged_in AND next.state = 'parked'),
          charger_kw = CASE WHEN next.state = 'charging' THEN 7.4 ELSE cars.charger_kw END,
          soc_pct = least(100, greatest(5, soc_pct
                    + CASE next.state WHEN 'charging' THEN 0.05 WHEN 'driving' THEN -0.05 ELSE 0 END
                    + (random() - 0.5) * 0.02)),
          last_heartbeat_at = now()
        FROM next WHERE cars.id = next.id`);
      const ms = performance.now() - started;
      took.push(ms);
      await sleep(Math.max(0, 1000 - ms));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await pool.end();
      return { updates: took.length, p50Ms: quantile(took, 0.5), maxMs: Math.max(...took) };
    },
  };
}

// ---- the Cars table at CARS cars ----

/**
 * In the page: does `act`, then times until the Cars table has shown its loading state and then
 * rows again (a filter or a sort the table has not loaded before: each asks the server).
 */
function tableChange(act: string): string {
  return `new Promise((resolve, reject) => {
    const t0 = performance.now();
    let sawLoading = false;
    ${act};
    const check = () => {
      if (performance.now() - t0 > 60000) return reject(new Error("the Cars table did not settle"));
      if (document.querySelector(".skeleton")) sawLoading = true;
      else if (sawLoading && document.querySelector("[data-testid=cars-table] [aria-rowindex='2']"))
        return resolve(performance.now() - t0);
      requestAnimationFrame(check);
    };
    check();
  })`;
}

/** Clicks the table's sort button for `label` (a column's header, or the sort bar's). */
const clickSort = (label: string) =>
  `[...document.querySelectorAll("main button")]
     .find((b) => b.textContent.trim().startsWith(${JSON.stringify(label)})).click()`;

/**
 * Picks an option of the filter labelled `label` the way a person does (React sees a change):
 * the option `index` places down its list (0: the first, "any").
 */
const pickFilter = (label: string, index: number) =>
  `(() => {
    const field = [...document.querySelectorAll("label.field")]
      .find((l) => l.querySelector("span").textContent === ${JSON.stringify(label)});
    const select = field.querySelector("select");
    const set = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set;
    set.call(select, select.options[${index}].value);
    select.dispatchEvent(new Event("change", { bubbles: true }));
  })()`;

/** In the page: scrolls the table to its end and times until the next page of rows is in. */
const SCROLL_ONE_PAGE = `new Promise((resolve, reject) => {
  const loaded = () => {
    const span = [...document.querySelectorAll("[aria-live=polite]")]
      .find((e) => / loaded/.test(e.textContent));
    return span ? Number(span.textContent.replace(/ loaded.*/, "").replace(/\\D/g, "")) : 0;
  };
  const table = document.querySelector("[data-testid=cars-table]");
  const before = loaded();
  const t0 = performance.now();
  table.scrollTop = table.scrollHeight;
  const check = () => {
    if (performance.now() - t0 > 60000) return reject(new Error("no more rows after scrolling"));
    if (loaded() > before) return resolve([performance.now() - t0, loaded()]);
    requestAnimationFrame(check);
  };
  check();
})`;

interface TableTimes {
  firstRowsMs: number;
  /** Each sort and order the table had not loaded, click to rows. */
  sortMs: Record<string, number>;
  filterMs: Record<string, number>;
  /** Scrolled to the end, to the next page of rows in, page after page. */
  scrollPageMs: number[];
  rowsLoaded: number;
  /** Each task over 50 ms from the first rows on, with what ran in it. */
  longTasks: LongTask[];
}

/**
 * What an operator does with the Cars table while CARS cars report in: open it, sort by each
 * column both ways, filter, and scroll far down (a page of rows at a time, fetched by keyset).
 */
async function operateCarsTable(context: BrowserContext, baseUrl: string): Promise<TableTimes> {
  const page = await context.newPage();
  await page.addInitScript(observeFrames(600 * 144));
  const opened = Date.now();
  await page.goto(`${baseUrl}/cars`);
  await page.waitForSelector("[data-testid=cars-table] [aria-rowindex='2']", { timeout: 60_000 });
  const firstRowsMs = Date.now() - opened;
  const from = (await page.evaluate("performance.now()")) as number;
  const sortMs: Record<string, number> = {};
  for (const [label, key] of [
    ["Name", "name.asc"],
    ["Name", "name.desc"],
    ["Charge", "charge.desc"],
    ["Charge", "charge.asc"],
    ["Last heard", "lastHeard.desc"],
    ["Last heard", "lastHeard.asc"],
  ] as const) {
    sortMs[key] = (await page.evaluate(tableChange(clickSort(label)))) as number;
  }
  const filterMs: Record<string, number> = {};
  // Parked cars (the state list's first option after "any"), then only the first region's.
  filterMs.state = (await page.evaluate(tableChange(pickFilter("State", 1)))) as number;
  filterMs.region = (await page.evaluate(tableChange(pickFilter("Region", 1)))) as number;
  // Every car again, newest enrolled first.
  await page.evaluate(pickFilter("Region", 0));
  await page.evaluate(pickFilter("State", 0));
  await page.evaluate(clickSort("Enrolled"));
  // Loaded before (the page's first order) or not: wait for rows either way.
  await sleep(500);
  await page.waitForFunction(
    `!document.querySelector(".skeleton") &&
     document.querySelector("[data-testid=cars-table] [aria-rowindex='2']")`,
    undefined,
    { timeout: 60_000 },
  );
  const scrollPageMs: number[] = [];
  let rowsLoaded = 0;
  while (scrollPageMs.length < TABLE_PAGES) {
    const [ms, rows] = (await page.evaluate(SCROLL_ONE_PAGE)) as [number, number];
    scrollPageMs.push(ms);
    rowsLoaded = rows;
  }
  const recorded = (await page.evaluate(
    "({ longTasks: window.__perf.longTasks, longFrames: window.__perf.longFrames })",
  )) as { longTasks: [number, number][]; longFrames: LongFrame[] };
  const longTasks = recorded.longTasks
    .filter(([start, d]) => start >= from && d > 50)
    .map((t) => attribute(t, recorded.longFrames, from));
  await page.close();
  return {
    firstRowsMs,
    sortMs,
    filterMs,
    scrollPageMs,
    rowsLoaded,
    longTasks,
  };
}

// ---- a live page over minutes ----

interface LongFrameScript {
  invoker: string;
  invokerType: string;
  source: string;
  fn: string;
  char: number;
  start: number;
  duration: number;
  forcedLayout: number;
}
interface LongFrame {
  start: number;
  duration: number;
  blocking: number;
  renderStart: number;
  styleAndLayoutStart: number;
  scripts: LongFrameScript[];
}

/** One long task of the steady state and what ran in it. */
interface LongTask {
  /** Seconds into the steady state. */
  atS: number;
  durationMs: number;
  /** CPU time the main thread got during it (from a trace): the rest it waited for a core. */
  cpuMs?: number;
  /** The long animation frame around it: script, then style/layout and paint, and who ran. */
  frame?: {
    durationMs: number;
    scriptMs: number;
    forcedLayoutMs: number;
    renderMs: number;
    scripts: string[];
  };
}

interface LiveResult {
  longTasksOver50ms: number;
  longestTaskMs: number;
  longTasks: LongTask[];
  /** Long tasks that overlapped a garbage collection the bench forced: not counted above. */
  longTasksInForcedGc: number;
  frames: number;
  frameP50Ms: number;
  frameP95Ms: number;
  frameP99Ms: number;
  frameMaxMs: number;
  /** JS heap after a forced full GC at the start and the end of the steady state. */
  heapStartMB: number;
  heapEndMB: number;
  heapGrowthMBPerMin: number;
  /** Least-squares slope over every heap sample (each after a forced GC). */
  heapSlopeMBPerMin: number;
  /** The same over the second half of the steady state, once buffers that fill have filled. */
  heapSlopeLastHalfMBPerMin: number;
  /**
   * With --heap-snapshots: the heap in two parts at each snapshot, the code V8 compiled and the
   * rest (the page's objects), and the least-squares slope of the rest.
   */
  heapParts: { minute: number; codeMB: number; objectsMB: number }[];
  heapObjectsSlopeMBPerMin: number;
  heapSamples: number;
  heapMinMB: number;
  heapMaxMB: number;
  /** Distinct texts of the page's live figure seen at the heap samples: proof it was updating. */
  liveValuesSeen: number;
  profile: ScriptProfile;
  threadTimes: ThreadTimes;
  /** Where the memory allocated in the steady state and alive at its end was allocated. */
  retained: RetainedSite[];
  /** With --heap-snapshots: what grew between the snapshots at the start and the end. */
  growth: HeapGrowth[];
  /** With --profile: each run of script over 50 ms in the profile, by function. */
  profiledRuns: ProfiledRun[];
}

/**
 * The value of `expression` in the page, through the DevTools protocol. What the bench reads
 * again and again goes this way: Playwright's evaluate runs a script of its own in the page,
 * and the code V8 compiles for it as it gets hot would count as the page's growth.
 */
async function inPage<T>(cdp: CDPSession, expression: string): Promise<T> {
  const { result, exceptionDetails } = await cdp.send("Runtime.evaluate", {
    expression,
    returnByValue: true,
  });
  if (exceptionDetails) throw new Error(`${expression} in the page: ${exceptionDetails.text}`);
  return result.value as T;
}

/** A pause the bench makes in the page (a forced GC, a heap snapshot), in page time. */
interface PagePause {
  gcFrom: number;
  gcTo: number;
}

/** The JS heap in use after a forced full garbage collection, and when (page time) it ran. */
async function heapAfterGc(cdp: CDPSession): Promise<PagePause & { mb: number }> {
  const gcFrom = await inPage<number>(cdp, "performance.now()");
  await cdp.send("HeapProfiler.collectGarbage");
  const gcTo = await inPage<number>(cdp, "performance.now()");
  const { usedSize } = await cdp.send("Runtime.getHeapUsage");
  return { mb: usedSize / MB, gcFrom, gcTo };
}

/** A script of a long animation frame in a line: who called it, for how long, from where. */
function describeScript(s: LongFrameScript): string {
  const file = s.source
    ? s.source.replace(/^https?:\/\/[^/]+/, "").replace(/^\/_next\/static\//, "")
    : "";
  const where = file ? ` ${file}:${s.char}` : "";
  const fn = s.fn ? ` ${s.fn}()` : "";
  const layout = s.forcedLayout >= 1 ? `, ${Math.round(s.forcedLayout)} ms forced layout` : "";
  return `${Math.round(s.duration)} ms ${s.invokerType} ${s.invoker}${fn}${where}${layout}`;
}

function attribute(
  task: [number, number],
  frames: readonly LongFrame[],
  steadyFrom: number,
): LongTask {
  const [start, duration] = task;
  const frame = frames.find((f) => f.start < start + duration && start < f.start + f.duration);
  const out: LongTask = { atS: round((start - steadyFrom) / 1000), durationMs: round(duration) };
  if (frame) {
    const end = frame.start + frame.duration;
    out.frame = {
      durationMs: round(frame.duration),
      scriptMs: round(frame.scripts.reduce((sum, s) => sum + s.duration, 0)),
      forcedLayoutMs: round(frame.scripts.reduce((sum, s) => sum + s.forcedLayout, 0)),
      renderMs: round(frame.renderStart > 0 ? end - frame.renderStart : 0),
      scripts: [...frame.scripts]
        .sort((a, b) => b.duration - a.duration)
        .slice(0, 4)
        .map(describeScript),
    };
  }
  return out;
}

/** Writes a heap snapshot of the page to `file` (it collects garbage first). */
async function heapSnapshot(cdp: CDPSession, file: string): Promise<void> {
  const chunks: string[] = [];
  const onChunk = (e: { chunk: string }) => chunks.push(e.chunk);
  cdp.on("HeapProfiler.addHeapSnapshotChunk", onChunk);
  await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  cdp.off("HeapProfiler.addHeapSnapshotChunk", onChunk);
  writeFileSync(file, chunks.join(""));
}

interface HeapGrowth {
  what: string;
  countDelta: number;
  kbDelta: number;
}

/** Objects by type and constructor (or string, closure name…) in a heap snapshot file. */
function heapCensus(file: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const census = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt!]!]!;
    // Strings and code are grouped by kind, not by their text.
    const name =
      type === "string" || type === "concatenated string" || type === "sliced string"
        ? ""
        : snap.strings[snap.nodes[i + nameAt!]!]!.slice(0, 80);
    const key = `${type} ${name}`.trim();
    const entry = census.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snap.nodes[i + sizeAt!]!;
    census.set(key, entry);
  }
  return census;
}

/**
 * A heap snapshot's bytes in two parts: the code V8 compiled (bytecode, optimized code and their
 * metadata: it grows as more of the page's functions get hot, and stops once they all have) and
 * everything else, the page's own objects.
 */
function heapSplit(file: string): { codeMB: number; objectsMB: number } {
  let code = 0;
  let objects = 0;
  for (const [key, { bytes }] of heapCensus(file)) {
    if (key === "code" || key.startsWith("code ")) code += bytes;
    else objects += bytes;
  }
  return { codeMB: code / MB, objectsMB: objects / MB };
}

/** What grew between two heap snapshots, by bytes, the fifteen largest. */
function heapGrowth(startFile: string, endFile: string): HeapGrowth[] {
  const [start, end] = [heapCensus(startFile), heapCensus(endFile)];
  const keys = new Set([...start.keys(), ...end.keys()]);
  return [...keys]
    .map((what) => ({
      what,
      countDelta: (end.get(what)?.count ?? 0) - (start.get(what)?.count ?? 0),
      kbDelta: round(((end.get(what)?.bytes ?? 0) - (start.get(what)?.bytes ?? 0)) / 1024),
    }))
    .sort((a, b) => b.kbDelta - a.kbDelta)
    .slice(0, 15);
}

const SYNC_MARK = "bench-clock-sync";

/** A main-thread task of the page from a trace: when (page clock, ms), wall time, CPU time. */
interface TracedTask {
  atMs: number;
  wallMs: number;
  cpuMs: number;
}

/** What a trace of the steady state says of the page's main thread. */
interface ThreadTimes {
  /** Its tasks over 50 ms, oldest first. */
  long: TracedTask[];
  /** All its tasks: wall time and the CPU time they got (the rest they waited for a core). */
  tasksWallMs: number;
  tasksCpuMs: number;
  traceMB: number;
  /** The trace's buffer filled and events were dropped: the figures above cover part of it. */
  dataLost: boolean;
}

/**
 * Ends a trace started with category "toplevel" (one event per task of every thread, with its
 * wall and thread time) and reads the page's main thread from it: the renderer main thread
 * that ran the most.
 */
async function endTrace(cdp: CDPSession, syncAt: number): Promise<ThreadTimes> {
  const complete = new Promise<{ stream?: string; dataLossOccurred: boolean }>((resolve) =>
    cdp.once("Tracing.tracingComplete", resolve),
  );
  await cdp.send("Tracing.end");
  const { stream, dataLossOccurred } = await complete;
  const handle = stream!;
  const chunks: string[] = [];
  let size = 0;
  for (;;) {
    const r = await cdp.send("IO.read", { handle, size: 4 * MB });
    const text = r.base64Encoded ? Buffer.from(r.data, "base64").toString("utf8") : r.data;
    chunks.push(text);
    size += text.length;
    if (r.eof) break;
  }
  await cdp.send("IO.close", { handle });
  const { traceEvents } = JSON.parse(chunks.join("")) as {
    traceEvents: {
      name: string;
      ph: string;
      pid: number;
      tid: number;
      ts: number;
      dur?: number;
      tdur?: number;
      args?: { name?: string };
    }[];
  };
  const mains = new Set(
    traceEvents
      .filter((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain")
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const byThread = new Map<string, typeof traceEvents>();
  for (const e of traceEvents) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph !== "X" || e.name !== "ThreadControllerImpl::RunTask" || !mains.has(key)) continue;
    if (!byThread.has(key)) byThread.set(key, []);
    byThread.get(key)!.push(e);
  }
  const busiest = [...byThread.values()].sort(
    (a, b) => b.reduce((t, e) => t + e.dur!, 0) - a.reduce((t, e) => t + e.dur!, 0),
  )[0];
  const tasks = (busiest ?? []).sort((a, b) => a.ts - b.ts);
  const mark = traceEvents.find((e) => e.name === SYNC_MARK);
  if (!mark) throw new Error(`the trace has no ${SYNC_MARK} mark: cannot place its tasks`);
  const offsetMs = mark.ts / 1000 - syncAt;
  return {
    long: tasks
      .filter((e) => e.dur! > 50_000)
      .map((e) => ({
        atMs: e.ts / 1000 - offsetMs,
        wallMs: e.dur! / 1000,
        cpuMs: (e.tdur ?? Number.NaN) / 1000,
      })),
    tasksWallMs: tasks.reduce((t, e) => t + e.dur!, 0) / 1000,
    tasksCpuMs: tasks.reduce((t, e) => t + (e.tdur ?? 0), 0) / 1000,
    traceMB: size / MB,
    dataLost: dataLossOccurred,
  };
}

/** The CPU time of each long task: the traced task that started with it. */
function matchCpu(
  tasks: readonly [number, number][],
  reports: LongTask[],
  traced: readonly TracedTask[],
): void {
  tasks.forEach(([start], i) => {
    const match = traced.find((t) => Math.abs(t.atMs - start) <= 3);
    if (match) reports[i]!.cpuMs = round(match.cpuMs);
  });
}

async function livePage(
  context: BrowserContext,
  baseUrl: string,
  href: string,
  liveSelector: string,
): Promise<LiveResult> {
  const page = await context.newPage();
  const totalMs = MINUTES * 60_000;
  await page.addInitScript(observeFrames(Math.ceil((totalMs / 1000 + 120) * 144)));
  const cdp = await context.newCDPSession(page);
  await cdp.send("HeapProfiler.enable");
  await page.goto(`${baseUrl}${href}`);
  await page.waitForFunction("window.__contentAt > 0", undefined, { timeout: 60_000 });
  const shownAt = Date.now();
  const liveText = () =>
    inPage<string>(cdp, `document.querySelector(${JSON.stringify(liveSelector)})?.innerText ?? ""`);

  await sleep(SETTLE_MS);
  if (PROFILE_ALONG) {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 1000 });
    await cdp.send("Profiler.start");
  }
  const snapshots = HEAP_SNAPSHOTS
    ? {
        start: path.join(SNAPSHOT_DIR, `${href.slice(1)}-start.heapsnapshot`),
        end: path.join(SNAPSHOT_DIR, `${href.slice(1)}-end.heapsnapshot`),
      }
    : undefined;
  const seen = new Set([await liveText()]);
  // The bench's pauses of the page (forced GCs, snapshots): the frames across them are its doing.
  const pauses: PagePause[] = [];
  /** With --heap-snapshots: the heap's two parts at each snapshot, by page time. */
  const parts: { at: number; codeMB: number; objectsMB: number }[] = [];
  const snapshot = async (file: string, keep: boolean) => {
    const gcFrom = await inPage<number>(cdp, "performance.now()");
    await heapSnapshot(cdp, file);
    pauses.push({ gcFrom, gcTo: await inPage<number>(cdp, "performance.now()") });
    parts.push({ at: gcFrom, ...heapSplit(file) });
    if (!keep) rmSync(file);
  };
  if (snapshots) await snapshot(snapshots.start, true);
  await cdp.send("Tracing.start", {
    // Every task of every thread of the browser: ~15 MB a minute, more than the default buffer.
    traceConfig: {
      includedCategories: ["toplevel", "blink.user_timing"],
      recordMode: "recordUntilFull",
      // Read back as one string, which V8 caps at 512 MB: a run past ~30 minutes fills this and
      // reports traceDataLost rather than failing at its end.
      traceBufferSizeInKb: 400 * 1024,
    },
    transferMode: "ReturnAsStream",
  });
  // A mark seen by both clocks: the trace's and the page's.
  const syncAt = await inPage<number>(
    cdp,
    `performance.mark(${JSON.stringify(SYNC_MARK)}).startTime`,
  );
  const first = await heapAfterGc(cdp);
  // From here, a sample of what is allocated (one per 16 KB): what is still alive at the end
  // says where any growth comes from.
  await cdp.send("HeapProfiler.startSampling", { samplingInterval: 16 * 1024 });
  const steadyFrom = first.gcFrom;
  const forcedGcs = [first];
  pauses.push(first);
  const samples = [{ x: 0, y: first.mb }];
  while (Date.now() - shownAt < totalMs - HEAP_SAMPLE_MS / 2) {
    await sleep(Math.min(HEAP_SAMPLE_MS, totalMs - (Date.now() - shownAt)));
    const sample = await heapAfterGc(cdp);
    forcedGcs.push(sample);
    pauses.push(sample);
    samples.push({ x: (sample.gcFrom - steadyFrom) / 60_000, y: sample.mb });
    if (snapshots && samples.length % SNAPSHOT_EVERY_SAMPLES === 0) {
      await snapshot(path.join(SNAPSHOT_DIR, `${href.slice(1)}-census.heapsnapshot`), false);
    }
    seen.add(await liveText());
    process.stdout.write(
      `  ${href}: ${Math.round((Date.now() - shownAt) / 1000)} s, heap after GC ${sample.mb.toFixed(2)} MB, ${os
        .loadavg()[0]!
        .toFixed(1)} load\n`,
    );
  }
  const last = forcedGcs.at(-1)!;
  const threadTimes = await endTrace(cdp, syncAt);
  const retained = retainedBySite((await cdp.send("HeapProfiler.stopSampling")).profile);
  if (snapshots) await snapshot(snapshots.end, true);
  const growth = snapshots ? heapGrowth(snapshots.start, snapshots.end) : [];
  const profiledRuns = PROFILE_ALONG ? busyRuns((await cdp.send("Profiler.stop")).profile, 50) : [];

  const recorded = (await page.evaluate(`(() => {
    const p = window.__perf;
    return {
      frames: Array.from(p.frames.subarray(0, p.count * 2)),
      longTasks: p.longTasks,
      longFrames: p.longFrames,
    };
  })()`)) as { frames: number[]; longTasks: [number, number][]; longFrames: LongFrame[] };
  // The recorder stops, so that the profile shows the console's work, not the bench's.
  await page.evaluate("window.__perf.stopped = true");
  const profile = await profileScript(cdp, PROFILE_MS);
  await page.close();

  // A forced GC runs on the page's main thread: a task or a frame that overlaps one is the
  // bench's doing.
  const forced = ([start, d]: [number, number]) =>
    pauses.some((g) => start < g.gcTo + 5 && g.gcFrom - 5 < start + d);
  const gaps: number[] = [];
  for (let i = 0; i < recorded.frames.length; i += 2) {
    const [at, gap] = [recorded.frames[i]!, recorded.frames[i + 1]!];
    if (at >= steadyFrom && !forced([at - gap, gap])) gaps.push(gap);
  }
  const inSteadyState = recorded.longTasks.filter(
    ([start, d]) => start >= steadyFrom && start + d <= last.gcTo && d > 50,
  );
  const steadyTasks = inSteadyState.filter((t) => !forced(t));
  const heaps = samples.map((p) => p.y);
  const longTasks = steadyTasks.map((t) => attribute(t, recorded.longFrames, steadyFrom));
  matchCpu(steadyTasks, longTasks, threadTimes.long);
  // The trace's own long tasks in the steady state, the bench's forced GCs left out.
  threadTimes.long = threadTimes.long.filter(
    (t) => t.atMs >= steadyFrom && t.atMs <= last.gcTo && !forced([t.atMs, t.wallMs]),
  );
  return {
    longTasksOver50ms: steadyTasks.length,
    longestTaskMs: steadyTasks.reduce((m, [, d]) => Math.max(m, d), 0),
    longTasks,
    threadTimes,
    retained,
    growth,
    longTasksInForcedGc: inSteadyState.length - steadyTasks.length,
    frames: gaps.length,
    frameP50Ms: quantile(gaps, 0.5),
    frameP95Ms: quantile(gaps, 0.95),
    frameP99Ms: quantile(gaps, 0.99),
    frameMaxMs: Math.max(...gaps),
    heapStartMB: first.mb,
    heapEndMB: last.mb,
    heapGrowthMBPerMin: (last.mb - first.mb) / ((last.gcFrom - steadyFrom) / 60_000),
    heapSlopeMBPerMin: slope(samples),
    heapSlopeLastHalfMBPerMin: slope(samples.filter((p) => p.x >= samples.at(-1)!.x / 2)),
    heapParts: parts.map(({ at, codeMB, objectsMB }) => ({
      minute: round((at - steadyFrom) / 60_000, 2),
      codeMB: round(codeMB, 3),
      objectsMB: round(objectsMB, 3),
    })),
    heapObjectsSlopeMBPerMin: slope(
      parts.map((p) => ({ x: (p.at - steadyFrom) / 60_000, y: p.objectsMB })),
    ),
    heapSamples: samples.length,
    heapMinMB: Math.min(...heaps),
    heapMaxMB: Math.max(...heaps),
    liveValuesSeen: seen.size,
    profile,
    profiledRuns,
  };
}

interface RetainedSite {
  /** The allocating function and its callers, innermost first (minified names). */
  stack: string[];
  kb: number;
}

interface SamplingHeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  children: SamplingHeapProfileNode[];
}

/**
 * The allocation sites of a sampling heap profile taken over the steady state, by the bytes
 * they allocated that were still alive when it stopped (right after a forced GC): the ten
 * largest, each with three callers.
 */
function retainedBySite(profile: { head: SamplingHeapProfileNode }): RetainedSite[] {
  const sites: RetainedSite[] = [];
  const frame = (n: SamplingHeapProfileNode) => {
    const { functionName, url, lineNumber, columnNumber } = n.callFrame;
    const file = url.replace(/^https?:\/\/[^/]+/, "").replace(/^\/_next\/static\//, "");
    return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}:${columnNumber + 1}` : "(native)"}`;
  };
  const walk = (n: SamplingHeapProfileNode, stack: string[]) => {
    const here = [frame(n), ...stack];
    if (n.selfSize > 0) sites.push({ stack: here.slice(0, 4), kb: n.selfSize / 1024 });
    for (const c of n.children) walk(c, here);
  };
  walk(profile.head, []);
  return sites
    .sort((a, b) => b.kb - a.kb)
    .slice(0, 10)
    .map((s) => ({ ...s, kb: round(s.kb) }));
}

interface ProfiledRun {
  durationMs: number;
  /** Functions by time inside them, callees included (minified names, file:line:column). */
  inclusive: { fn: string; where: string; ms: number }[];
  /** Functions by their own time. */
  self: { fn: string; where: string; ms: number }[];
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }[];
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Runs of consecutive non-idle samples longer than `overMs` in a CPU profile (the profile's own
 * view of long tasks), each broken down by function; runs of garbage collection alone left out.
 */
function busyRuns(profile: CpuProfile, overMs: number): ProfiledRun[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (id: number) => {
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    const file = url.replace(/^https?:\/\/[^/]+/, "").replace(/^\/_next\/static\//, "");
    return {
      fn: functionName || "(anonymous)",
      where: file ? `${file}:${lineNumber + 1}:${columnNumber + 1}` : "(native)",
    };
  };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const runs: ProfiledRun[] = [];
  let from = -1;
  let ms = 0;
  const close = (to: number) => {
    if (from >= 0 && ms > overMs) {
      const self = new Map<string, { fn: string; where: string; ms: number }>();
      const inclusive = new Map<string, { fn: string; where: string; ms: number }>();
      for (let i = from; i < to; i++) {
        // A sample's time is the gap to the next one.
        const dt = (deltas[i + 1] ?? 0) / 1000;
        const leaf = name(samples[i]!);
        const key = `${leaf.fn}@${leaf.where}`;
        self.set(key, { ...leaf, ms: (self.get(key)?.ms ?? 0) + dt });
        const onStack = new Set<string>();
        for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) {
          const f = name(id);
          const k = `${f.fn}@${f.where}`;
          if (onStack.has(k) || f.fn === "(root)") continue;
          onStack.add(k);
          inclusive.set(k, { ...f, ms: (inclusive.get(k)?.ms ?? 0) + dt });
        }
      }
      const top = (m: Map<string, { fn: string; where: string; ms: number }>, n: number) =>
        [...m.values()]
          .sort((a, b) => b.ms - a.ms)
          .slice(0, n)
          .map((e) => ({ ...e, ms: round(e.ms) }));
      // Garbage collection alone is the bench's own, forced before each heap sample.
      const gcMs = self.get("(garbage collector)@(native)")?.ms ?? 0;
      if (gcMs < 0.9 * ms) {
        runs.push({ durationMs: round(ms), inclusive: top(inclusive, 14), self: top(self, 6) });
      }
    }
    from = -1;
    ms = 0;
  };
  for (let i = 0; i < samples.length; i++) {
    const idle = byId.get(samples[i]!)!.callFrame.functionName === "(idle)";
    if (idle) close(i);
    else {
      if (from < 0) from = i;
      ms += (deltas[i + 1] ?? 0) / 1000;
    }
  }
  close(samples.length);
  return runs;
}

interface ScriptProfile {
  /** Share of the window the page's main thread spent running script (GC and idle excluded). */
  scriptBusyPct: number;
  gcPct: number;
  /** Where that time went: function, file:line, ms of self time. */
  top: { fn: string; where: string; ms: number }[];
}

/**
 * A CPU profile of the page after the measured window (sampling would disturb the frame times
 * inside it): which of the console's functions take the time while the page sits open.
 */
async function profileScript(cdp: CDPSession, ms: number): Promise<ScriptProfile> {
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
  await cdp.send("Profiler.start");
  await sleep(ms);
  const { profile } = await cdp.send("Profiler.stop");
  const self = new Map<number, number>();
  const deltas = profile.timeDeltas ?? [];
  (profile.samples ?? []).forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0)));
  const byFn = new Map<string, { fn: string; where: string; ms: number }>();
  let busy = 0;
  let gc = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)" || functionName === "(program)" || functionName === "(root)")
      continue;
    if (functionName === "(garbage collector)") gc += us;
    else busy += us;
    const where = url ? `${url.replace(/^https?:\/\/[^/]+/, "")}:${lineNumber + 1}` : "(native)";
    const key = `${functionName}@${where}`;
    const entry = byFn.get(key) ?? { fn: functionName || "(anonymous)", where, ms: 0 };
    entry.ms += us / 1000;
    byFn.set(key, entry);
  }
  const top = [...byFn.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 10)
    .map((e) => ({ ...e, ms: round(e.ms) }));
  return { scriptBusyPct: (100 * busy) / (ms * 1000), gcPct: (100 * gc) / (ms * 1000), top };
}

// ---- the run ----

function ensureBuilt(): string {
  if (!isBuilt()) {
    console.log("console: no production build, running next build…");
    const bin = createRequire(import.meta.url).resolve("next/dist/bin/next");
    const run = spawnSync(process.execPath, [bin, "build"], {
      cwd: CONSOLE_DIR,
      stdio: "inherit",
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    });
    if (run.status !== 0) throw new Error(`next build failed (exit ${run.status ?? run.signal})`);
  }
  return readFileSync(path.join(CONSOLE_DIR, ".next", "BUILD_ID"), "utf8").trim();
}

const figures: Figure[] = [];
/** Each live page's long tasks and what ran in them: bench-results/console.long-tasks.json. */
const longTaskReport: Record<
  string,
  Pick<LiveResult, "longTasks" | "profiledRuns" | "retained"> & { tracedOver50ms: TracedTask[] }
> = {};
const add = (name: string, value: number, unit: string) =>
  figures.push({ name: `console.${name}`, value: round(value, 2), unit });

const buildId = ensureBuilt();
const SNAPSHOT_DIR = HEAP_SNAPSHOTS ? tempDir("nightshift-console-heap-") : "";
const dataDir = tempDir("nightshift-console-bench-");
const server = await spawnServe(
  ["--port", "0", "--data", dataDir, "--demo", "--print-database-url"],
  {
    startTimeoutMs: 180_000,
  },
);
let browser: Browser | undefined;
let running: Awaited<ReturnType<typeof startConsole>> | undefined;
let heartbeats: ReturnType<typeof heartbeatEverySecond> | undefined;
const loads: number[] = [];
const sampleLoad = setInterval(() => loads.push(os.loadavg()[0]!), 10_000);
try {
  const demo = parseDemo(server.banner);
  if (!demo.email || !server.databaseUrl) {
    throw new Error(`serve printed no demo operator or database URL:\n${server.banner.join("\n")}`);
  }
  running = await startConsole({ port: 0, serverUrl: server.url });
  browser = await launchChromium({ webgpu: false });
  const base = running.url;
  console.log(
    `console ${base} (build ${buildId}), server ${server.url}; ${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );

  // Sign in once; every later context starts with that session and an empty cache.
  const signInContext = await browser.newContext({ viewport: VIEWPORT });
  const signInPage = await signInContext.newPage();
  await signInPage.goto(`${base}/sign-in`);
  await signInPage.getByLabel("Email").fill(demo.email);
  await signInPage.getByLabel("Password").fill(demo.password);
  await signInPage.getByRole("button", { name: "Sign in" }).click();
  await signInPage.waitForURL(/\/fleet$/, { timeout: 60_000 });
  const session = await signInContext.storageState();
  await signInContext.close();

  // 1a. Cold first loads: a fresh context (no cache) each time.
  for (const [key, href, signedIn] of REPS === 0
    ? []
    : ([
        ["signIn", "/sign-in", false],
        ["fleet", "/fleet", true],
      ] as const)) {
    const runs: LoadTiming[] = [];
    for (let i = 0; i < REPS; i++) {
      const context = await browser.newContext({
        viewport: VIEWPORT,
        ...(signedIn ? { storageState: session } : {}),
      });
      await context.addInitScript(OBSERVE_LOAD);
      const page = await context.newPage();
      await page.goto(`${base}${href}`, { waitUntil: "load", timeout: 60_000 });
      if (new URL(page.url()).pathname !== href) throw new Error(`${href} went to ${page.url()}`);
      runs.push(await loadTiming(page));
      await context.close();
    }
    for (const field of ["ttfbMs", "domContentLoadedMs", "loadMs", "lcpMs", "contentMs"] as const) {
      const values = runs.map((r) => r[field]);
      const name = field.replace(/Ms$/, "");
      add(`firstLoad.${key}.${name}.p50Ms`, quantile(values, 0.5), "ms");
      add(`firstLoad.${key}.${name}.p95Ms`, quantile(values, 0.95), "ms");
    }
    add(
      `firstLoad.${key}.ms`,
      quantile(
        runs.map((r) => r.contentMs),
        0.5,
      ),
      "ms",
    );
  }

  // 1b. Client-side navigation through every page, REPS rounds, in one signed-in tab.
  if (REPS > 0) {
    const context = await browser.newContext({ viewport: VIEWPORT, storageState: session });
    await context.addInitScript(OBSERVE_LOAD);
    const page = await context.newPage();
    await page.goto(`${base}/fleet`);
    await page.waitForFunction("window.__contentAt > 0", undefined, { timeout: 60_000 });
    const times = new Map<string, number[]>(PAGES.map((p) => [p.key, []]));
    for (let round = 0; round < REPS; round++) {
      // Fleet last, so that each round starts and ends on it.
      for (const p of [...PAGES.slice(1), PAGES[0]]) {
        times.get(p.key)!.push(await navigate(page, p.href, p.title));
        // Let the page settle (its queries, the planner's first run) before the next click.
        await sleep(1500);
      }
    }
    await context.close();
    for (const p of PAGES) {
      const t = times.get(p.key)!;
      add(`nav.${p.key}.p50Ms`, quantile(t, 0.5), "ms");
      add(`nav.${p.key}.p95Ms`, quantile(t, 0.95), "ms");
    }
  }

  // 2. The live pages with CARS cars changing every second.
  const enrollStarted = performance.now();
  await addCars(server.databaseUrl, CARS);
  const history = await addHistory(server.databaseUrl, CARS, HISTORY_HOURS);
  console.log(
    `${CARS} cars and ${history} minute samples added in ${((performance.now() - enrollStarted) / 1000).toFixed(1)} s; each page open ${MINUTES} min`,
  );
  heartbeats = heartbeatEverySecond(server.databaseUrl);
  const tag = CARS % 1000 === 0 ? `${CARS / 1000}k` : String(CARS);
  if (TABLE_PAGES > 0) {
    const context = await browser.newContext({ viewport: VIEWPORT, storageState: session });
    const t = await operateCarsTable(context, base);
    await context.close();
    const prefix = `carsTable${tag}`;
    add(`${prefix}.firstRowsMs`, t.firstRowsMs, "ms");
    for (const [key, ms] of Object.entries(t.sortMs)) add(`${prefix}.sort.${key}.ms`, ms, "ms");
    for (const [key, ms] of Object.entries(t.filterMs)) add(`${prefix}.filter.${key}.ms`, ms, "ms");
    add(`${prefix}.scrollPage.p50Ms`, quantile(t.scrollPageMs, 0.5), "ms");
    add(`${prefix}.scrollPage.p95Ms`, quantile(t.scrollPageMs, 0.95), "ms");
    add(`${prefix}.scrollPage.lastMs`, t.scrollPageMs.at(-1)!, "ms");
    add(`${prefix}.rowsLoaded`, t.rowsLoaded, "rows");
    add(`${prefix}.longTasksOver50ms`, t.longTasks.length, "tasks");
    add(`${prefix}.longestTaskMs`, Math.max(0, ...t.longTasks.map((l) => l.durationMs)), "ms");
    for (const l of t.longTasks) {
      console.log(`  Cars table: a task of ${l.durationMs} ms, ${l.atS} s after the first rows`);
      for (const line of l.frame?.scripts ?? []) console.log(`    ${line}`);
    }
  }
  const live = await browser.newContext({ viewport: VIEWPORT, storageState: session });
  await live.addInitScript(OBSERVE_LOAD);
  for (const [key, href, selector] of (
    [
      ["fleet", "/fleet", "[data-testid=stat-parked]"],
      ["cars", "/cars", ".page-head"],
    ] as const
  ).filter(([key]) => LIVE_PAGES.includes(key))) {
    const r = await livePage(live, base, href, selector);
    const prefix = `${key}${tag}`;
    add(`${prefix}.longTasksOver50ms`, r.longTasksOver50ms, "tasks");
    add(`${prefix}.longestTaskMs`, r.longestTaskMs, "ms");
    add(`${prefix}.frameP50Ms`, r.frameP50Ms, "ms");
    add(`${prefix}.frameP95Ms`, r.frameP95Ms, "ms");
    add(`${prefix}.frameP99Ms`, r.frameP99Ms, "ms");
    add(`${prefix}.frameMaxMs`, r.frameMaxMs, "ms");
    add(`${prefix}.heapStartMB`, r.heapStartMB, "MB");
    add(`${prefix}.heapEndMB`, r.heapEndMB, "MB");
    add(`${prefix}.heapGrowthMBPerMin`, r.heapGrowthMBPerMin, "MB/min");
    add(`${prefix}.heapSlopeMBPerMin`, r.heapSlopeMBPerMin, "MB/min");
    add(`${prefix}.heapSlopeLastHalfMBPerMin`, r.heapSlopeLastHalfMBPerMin, "MB/min");
    if (HEAP_SNAPSHOTS) {
      const [a, z] = [r.heapParts[0]!, r.heapParts.at(-1)!];
      add(`${prefix}.heapObjectsStartMB`, a.objectsMB, "MB");
      add(`${prefix}.heapObjectsEndMB`, z.objectsMB, "MB");
      add(`${prefix}.heapObjectsSlopeMBPerMin`, r.heapObjectsSlopeMBPerMin, "MB/min");
      add(`${prefix}.heapCodeStartMB`, a.codeMB, "MB");
      add(`${prefix}.heapCodeEndMB`, z.codeMB, "MB");
    }
    add(`${prefix}.heapMinMB`, r.heapMinMB, "MB");
    add(`${prefix}.heapMaxMB`, r.heapMaxMB, "MB");
    add(`${prefix}.heapSamples`, r.heapSamples, "samples");
    add(`${prefix}.longTasksInForcedGc`, r.longTasksInForcedGc, "tasks");
    add(`${prefix}.longTaskMaxCpuMs`, Math.max(0, ...r.longTasks.map((t) => t.cpuMs ?? 0)), "ms");
    add(`${prefix}.traceDataLost`, r.threadTimes.dataLost ? 1 : 0, "bool");
    // How much longer the page's tasks took than the CPU they got: 1 on an idle machine.
    add(
      `${prefix}.taskWallOverCpu`,
      r.threadTimes.tasksWallMs / Math.max(1, r.threadTimes.tasksCpuMs),
      "ratio",
    );
    add(`${prefix}.scriptBusyPct`, r.profile.scriptBusyPct, "%");
    add(`${prefix}.gcPct`, r.profile.gcPct, "%");
    console.log(
      `  ${href}: ${r.frames} frames in steady state, live figure took ${r.liveValuesSeen} values; ` +
        `then ${PROFILE_MS / 1000} s profiled: script ${r.profile.scriptBusyPct.toFixed(1)}%, GC ${r.profile.gcPct.toFixed(1)}%, self time:`,
    );
    for (const t of r.profile.top)
      console.log(`    ${String(t.ms).padStart(8)} ms  ${t.fn}  ${t.where}`);
    console.log(
      `  ${href}: ${r.longTasks.length} long tasks over 50 ms in steady state` +
        (r.longTasksInForcedGc ? ` (and ${r.longTasksInForcedGc} in the bench's forced GCs)` : ""),
    );
    console.log(
      `    main thread in steady state: tasks ${Math.round(r.threadTimes.tasksWallMs)} ms, ` +
        `of which CPU ${Math.round(r.threadTimes.tasksCpuMs)} ms (trace ${r.threadTimes.traceMB.toFixed(0)} MB` +
        `${r.threadTimes.dataLost ? ", its buffer filled: events were lost" : ""}); ` +
        `traced tasks over 50 ms (wall / CPU): ${r.threadTimes.long.map((t) => `${Math.round(t.wallMs)}/${Math.round(t.cpuMs)}`).join(", ") || "none"}`,
    );
    for (const t of r.longTasks) {
      const f = t.frame;
      console.log(
        `    at ${t.atS} s: ${t.durationMs} ms` +
          (t.cpuMs !== undefined ? ` (${t.cpuMs} ms CPU)` : "") +
          (f
            ? `; its frame ${f.durationMs} ms: script ${f.scriptMs} (forced layout ${f.forcedLayoutMs}), style/layout/paint ${f.renderMs}`
            : "; no long animation frame around it"),
      );
      for (const line of f?.scripts ?? []) console.log(`      ${line}`);
    }
    console.log(
      `  ${href}: allocated in steady state and alive at its end, by site (KB, sampled):`,
    );
    for (const site of r.retained)
      console.log(`    ${String(site.kb).padStart(8)} KB  ${site.stack.join(" ← ")}`);
    if (HEAP_SNAPSHOTS) {
      console.log(`  ${href}: the heap at each snapshot, compiled code and the rest (MB):`);
      for (const p of r.heapParts)
        console.log(
          `    minute ${p.minute.toFixed(1).padStart(5)}: code ${p.codeMB.toFixed(3)}, objects ${p.objectsMB.toFixed(3)}`,
        );
      console.log(`  ${href}: grew between the heap snapshots (in ${SNAPSHOT_DIR}):`);
      for (const g of r.growth)
        console.log(
          `    ${String(g.kbDelta).padStart(8)} KB  ${String(g.countDelta).padStart(7)}×  ${g.what}`,
        );
    }
    for (const run of r.profiledRuns) {
      console.log(`    profiled run of ${run.durationMs} ms; inclusive:`);
      for (const e of run.inclusive)
        console.log(`      ${String(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}`);
      console.log("      self:");
      for (const e of run.self)
        console.log(`      ${String(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}`);
    }
    longTaskReport[key] = {
      longTasks: r.longTasks,
      tracedOver50ms: r.threadTimes.long,
      retained: r.retained,
      profiledRuns: r.profiledRuns,
    };
  }
  await live.close();
  const hb = await heartbeats.stop();
  heartbeats = undefined;
  console.log(
    `heartbeat updates: ${hb.updates} of ${CARS} cars, p50 ${hb.p50Ms.toFixed(0)} ms, max ${hb.maxMs.toFixed(0)} ms`,
  );
  add("run.minutesPerPage", MINUTES, "min");
  add("run.cars", CARS, "cars");
  add("run.loadAverage1m", loads.reduce((s, l) => s + l, 0) / Math.max(1, loads.length), "load");
  // A rebuild under a running console swaps the files it serves: say so next to the figures.
  const rebuilt =
    readFileSync(path.join(CONSOLE_DIR, ".next", "BUILD_ID"), "utf8").trim() !== buildId;
  if (rebuilt) console.error("warning: the console was rebuilt during the run");
  add("run.rebuiltDuringRun", rebuilt ? 1 : 0, "bool");
} finally {
  clearInterval(sampleLoad);
  await heartbeats?.stop().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await running?.close().catch(() => undefined);
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const width = Math.max(...figures.map((f) => f.name.length));
for (const f of figures)
  console.log(`${f.name.padEnd(width)}  ${String(f.value).padStart(10)} ${f.unit}`);
mkdirSync(RESULTS_DIR, { recursive: true });
// A run of part of the bench keeps the full figures: it writes beside them.
const partial = REPS === 0 || LIVE_PAGES.length < 2;
const file = path.join(RESULTS_DIR, partial ? "console.partial.json" : "console.json");
writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
const longTasksFile = path.join(
  RESULTS_DIR,
  partial ? "console.partial.long-tasks.json" : "console.long-tasks.json",
);
writeFileSync(longTasksFile, `${JSON.stringify(longTaskReport, null, 2)}\n`);
console.log(`  → ${file}, ${longTasksFile}`);
