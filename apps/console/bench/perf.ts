// Console performance in the production build, in a real Chromium, against a real server:
//
// 1. First load (cold cache) of the sign-in page and of the Fleet page once signed in:
//    navigation timing (TTFB, DOMContentLoaded, load), largest contentful paint, and the moment
//    the page's main content shows; then client-side navigation between the main pages, from
//    the click on the nav link to the page's heading shown with nothing left loading.
// 2. The Fleet and Cars pages, each open for --minutes, with --cars live cars whose rows change
//    every second (one UPDATE of every car per second, what their heartbeats do to the table):
//    long tasks, frame times and the JS heap. Steady state starts 30 s after the page shows.
//
// Prints a table and writes bench-results/console.json as [{ name, value, unit }].
//
//   npm run bench -w @nightshift/console                  # 5 minutes per page, 10,000 cars
//   npx tsx bench/perf.ts --minutes 1 --cars 2000 --reps 3
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
import { cars as carsTable, owners } from "@nightshift/db/schema";
import { parseDemo, spawnServe, tempDir } from "@nightshift/server/testing";
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
/** Repetitions of each first load and of each navigation. */
const REPS = Math.round(flag("--reps", 7, 1));
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
// allocated once (so the recording does not itself grow the heap), and every long task.
function observeFrames(capacity: number): string {
  return `(() => {
  const w = window;
  const frames = new Float64Array(${capacity} * 2);
  const longTasks = [];
  w.__perf = { frames, count: 0, longTasks };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
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

// ---- a live page over minutes ----

interface LiveResult {
  longTasksOver50ms: number;
  longestTaskMs: number;
  frames: number;
  frameP50Ms: number;
  frameP95Ms: number;
  frameP99Ms: number;
  frameMaxMs: number;
  heapStartMB: number;
  heapEndMB: number;
  heapGrowthMBPerMin: number;
  heapSlopeMBPerMin: number;
  /** Distinct texts of the page's live figure seen at the heap samples: proof it was updating. */
  liveValuesSeen: number;
  profile: ScriptProfile;
}

async function heapMB(cdp: CDPSession, gc: boolean): Promise<number> {
  if (gc) await cdp.send("HeapProfiler.collectGarbage");
  const { metrics } = await cdp.send("Performance.getMetrics");
  return metrics.find((m) => m.name === "JSHeapUsedSize")!.value / MB;
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
  await cdp.send("Performance.enable");
  await cdp.send("HeapProfiler.enable");
  await page.goto(`${baseUrl}${href}`);
  await page.waitForFunction("window.__contentAt > 0", undefined, { timeout: 60_000 });
  const shownAt = Date.now();
  const liveText = () =>
    page
      .locator(liveSelector)
      .first()
      .innerText({ timeout: 5_000 })
      .catch(() => "");

  await sleep(SETTLE_MS);
  const steadyFrom: number = await page.evaluate("performance.now()");
  const heapStart = await heapMB(cdp, true);
  const samples = [{ x: 0, y: heapStart }];
  const seen = new Set([await liveText()]);
  const steadyMs = totalMs - SETTLE_MS;
  while (Date.now() - shownAt < totalMs - HEAP_SAMPLE_MS / 2) {
    await sleep(Math.min(HEAP_SAMPLE_MS, totalMs - (Date.now() - shownAt)));
    samples.push({ x: (Date.now() - shownAt - SETTLE_MS) / 60_000, y: await heapMB(cdp, false) });
    seen.add(await liveText());
    process.stdout.write(
      `  ${href}: ${Math.round((Date.now() - shownAt) / 1000)} s, heap ${samples.at(-1)!.y.toFixed(1)} MB, ${os
        .loadavg()[0]!
        .toFixed(1)} load\n`,
    );
  }
  const heapEnd = await heapMB(cdp, true);
  samples.push({ x: (Date.now() - shownAt - SETTLE_MS) / 60_000, y: heapEnd });

  const recorded = (await page.evaluate(`(() => {
    const p = window.__perf;
    return { frames: Array.from(p.frames.subarray(0, p.count * 2)), longTasks: p.longTasks };
  })()`)) as { frames: number[]; longTasks: [number, number][] };
  // The recorder stops, so that the profile shows the console's work, not the bench's.
  await page.evaluate("window.__perf.stopped = true");
  const profile = await profileScript(cdp, PROFILE_MS);
  await page.close();

  const gaps: number[] = [];
  for (let i = 0; i < recorded.frames.length; i += 2) {
    if (recorded.frames[i]! >= steadyFrom) gaps.push(recorded.frames[i + 1]!);
  }
  const steadyTasks = recorded.longTasks.filter(([start]) => start >= steadyFrom);
  return {
    longTasksOver50ms: steadyTasks.filter(([, d]) => d > 50).length,
    longestTaskMs: steadyTasks.reduce((m, [, d]) => Math.max(m, d), 0),
    frames: gaps.length,
    frameP50Ms: quantile(gaps, 0.5),
    frameP95Ms: quantile(gaps, 0.95),
    frameP99Ms: quantile(gaps, 0.99),
    frameMaxMs: Math.max(...gaps),
    heapStartMB: heapStart,
    heapEndMB: heapEnd,
    heapGrowthMBPerMin: (heapEnd - heapStart) / (steadyMs / 60_000),
    heapSlopeMBPerMin: slope(samples),
    liveValuesSeen: seen.size,
    profile,
  };
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
const add = (name: string, value: number, unit: string) =>
  figures.push({ name: `console.${name}`, value: round(value, 2), unit });

const buildId = ensureBuilt();
const dataDir = tempDir("nightshift-console-bench-");
const server = await spawnServe(["--port", "0", "--data", dataDir, "--print-database-url"], {
  startTimeoutMs: 180_000,
});
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
  for (const [key, href, signedIn] of [
    ["signIn", "/sign-in", false],
    ["fleet", "/fleet", true],
  ] as const) {
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
  {
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
  console.log(
    `${CARS} cars added in ${((performance.now() - enrollStarted) / 1000).toFixed(1)} s; each page open ${MINUTES} min`,
  );
  heartbeats = heartbeatEverySecond(server.databaseUrl);
  const live = await browser.newContext({ viewport: VIEWPORT, storageState: session });
  await live.addInitScript(OBSERVE_LOAD);
  const tag = CARS % 1000 === 0 ? `${CARS / 1000}k` : String(CARS);
  for (const [key, href, selector] of [
    ["fleet", "/fleet", "[data-testid=stat-parked]"],
    ["cars", "/cars", ".page-head"],
  ] as const) {
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
    add(`${prefix}.scriptBusyPct`, r.profile.scriptBusyPct, "%");
    add(`${prefix}.gcPct`, r.profile.gcPct, "%");
    console.log(
      `  ${href}: ${r.frames} frames in steady state, live figure took ${r.liveValuesSeen} values; ` +
        `then ${PROFILE_MS / 1000} s profiled: script ${r.profile.scriptBusyPct.toFixed(1)}%, GC ${r.profile.gcPct.toFixed(1)}%, self time:`,
    );
    for (const t of r.profile.top)
      console.log(`    ${String(t.ms).padStart(8)} ms  ${t.fn}  ${t.where}`);
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
const file = path.join(RESULTS_DIR, "console.json");
writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
console.log(`  → ${file}`);
