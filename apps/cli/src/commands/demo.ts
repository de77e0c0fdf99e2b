// `nightshift demo` (what `npm start` runs): the whole product on this machine. The server on
// an embedded PostgreSQL (data kept in .nightshift/ across restarts), the operator console, the
// vehicle page, a headless fleet running real ONNX models, and a tenant that keeps a steady
// stream of demo jobs coming. Prints the addresses and the operator's sign-in; Ctrl-C stops it
// all cleanly. The console and the vehicle page must be built first (`npm start` does it).
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { NightshiftClient } from "@nightshift/client/client";
import { worldS } from "@nightshift/core/time-scale";
import type { Command } from "commander";
import { z } from "zod";
import { parseInstantFlag, parseIntegerFlag, parseNumberFlag } from "../flags";
import { formatDemoStatus } from "../format";
import { UsageError } from "../usage-error";

interface DemoFlags {
  cars: number;
  data?: string;
  port: number;
  consolePort: number;
  vehiclePort: number;
  reset?: boolean;
  workload: boolean;
  speedup: number;
  start?: Date;
}

/** The demo's secrets, written once when the database is created (the server never shows them again). */
const ZDemoCredentials = z.object({
  operator: z.object({ email: z.string(), password: z.string() }),
  tenantKeys: z.record(z.string(), z.string()),
  /** The demo fleet's code (owners vouched for); absent in the files of earlier releases. */
  enrollmentCode: z.string().optional(),
});
type DemoCredentials = z.infer<typeof ZDemoCredentials>;

/** How often the workload tops the queue up, and to how many open tasks. */
const WORKLOAD_EVERY_MS = 5_000;
const WORKLOAD_QUEUE_TARGET = 60;
/** How often the status line is printed. */
const STATUS_EVERY_MS = 10_000;

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "run the whole product here: server (embedded PostgreSQL), console, vehicle page, a headless fleet and a steady demo workload (Ctrl-C stops it)",
    )
    .option(
      "--cars <count>",
      "headless cars in the fleet, 0 to 1000",
      (raw: string) => parseIntegerFlag("--cars", raw, { min: 0, max: 1000 }),
      50,
    )
    .option(
      "--data <dir>",
      "the folder for the database and the demo's secrets (default .nightshift)",
    )
    .option(
      "--port <port>",
      "the server's port",
      (raw: string) => parseIntegerFlag("--port", raw, { min: 0, max: 65_535 }),
      8787,
    )
    .option(
      "--console-port <port>",
      "the console's port",
      (raw: string) => parseIntegerFlag("--console-port", raw, { min: 0, max: 65_535 }),
      3000,
    )
    .option(
      "--vehicle-port <port>",
      "the vehicle page's port",
      (raw: string) => parseIntegerFlag("--vehicle-port", raw, { min: 0, max: 65_535 }),
      5180,
    )
    .option("--reset", "start from an empty database (deletes the demo's data folder)")
    .option("--no-workload", "submit no demo jobs")
    .option(
      "--speedup <factor>",
      "how fast the demo's world runs, 1 to 3600: the cars' days and the server's scheduling clock (60: a day in 24 minutes)",
      (raw: string) => parseNumberFlag("--speedup", raw, { min: 1, max: 3600 }),
      60,
    )
    .option(
      "--start <time>",
      "the demo world's time at start, ISO 8601 such as 2026-06-01T08:00 (UTC unless it has an offset; default now)",
      (raw: string) => parseInstantFlag("--start", raw),
    )
    .action(async (flags: DemoFlags) => {
      await demo(flags);
    });
}

async function demo(flags: DemoFlags): Promise<void> {
  // Loaded here: the other commands need none of this.
  const [
    { EnvError, REPO_ROOT, serverEnv },
    { parseTrustedProxies },
    server,
    consoleApp,
    vehicle,
    fleetModule,
    client,
    demoImages,
  ] = await Promise.all([
    import("@nightshift/server/env"),
    import("@nightshift/server/client-address"),
    import("@nightshift/server/start"),
    import("@nightshift/console/serve"),
    import("@nightshift/vehicle/serve"),
    import("@nightshift/agent/fleet"),
    import("@nightshift/client/client"),
    import("@nightshift/models/demo-images"),
  ]);
  // Ctrl-C from the very start: during start-up too, what has started is stopped cleanly.
  const stopRequested = new Promise<void>((done) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) {
        say("Stopping now.");
        process.exit(130);
      }
      stopping = true;
      say("\nStopping (Ctrl-C again to force)…");
      done();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const home = resolve(flags.data ?? defaultHome(join(REPO_ROOT, ".nightshift")));
  const dataDir = join(home, "data");
  const secretsFile = join(home, "demo-credentials.json");
  if (flags.reset) {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(secretsFile, { force: true });
  }
  if (!consoleApp.isBuilt()) {
    throw new UsageError(
      "the console is not built: run `npm start` (it builds first) or `npm run build -w @nightshift/console`",
    );
  }
  mkdirSync(join(home, "logs"), { recursive: true });
  const logFile = join(home, "logs", "server.log");
  let env: ReturnType<typeof serverEnv>;
  try {
    env = serverEnv();
  } catch (error) {
    if (error instanceof EnvError) throw new UsageError(error.message);
    throw error;
  }
  // The console runs in this process and calls the server over loopback, adding each
  // operator's address to X-Forwarded-For: trusted, so that sign-in limits are per operator.
  const trustedProxies = env.NIGHTSHIFT_TRUSTED_PROXIES ?? parseTrustedProxies("loopback");
  const log = server.createLogger(env.LOG_LEVEL, logFile);

  say(`Starting Nightshift (data in ${home})…`);
  const saved = readCredentials(secretsFile);
  const api = await server.startServer({
    port: flags.port,
    dataDir,
    demo: true,
    // Secrets saved by an earlier release hold no fleet code (its fleet enrolled with
    // DEMO-NIGHTSHIFT, which now makes strangers): the seed makes one.
    newFleetCode: saved !== null && !saved.enrollmentCode,
    log,
    trustedProxies,
    // One clock for the demo's world: the server schedules on the cars' compressed days.
    clock: { speedup: flags.speedup, ...(flags.start ? { worldStartAt: flags.start } : {}) },
  });
  const credentials = rememberCredentials(secretsFile, api.demo, saved);
  const stops: (() => Promise<unknown>)[] = [() => api.stop()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const consoleServer = await consoleApp.startConsole({
      port: flags.consolePort,
      serverUrl: api.url,
    });
    stops.push(() => consoleServer.close());
    const vehicleServer = await vehicle.startVehicleServer({
      port: flags.vehiclePort,
      serverUrl: api.url,
    });
    stops.push(() => vehicleServer.close());
    // The fleet's own code, not the public one: its cars' owners are vouched for by the demo's
    // operator, so that they count as independent replicas of each other's work.
    const fleetCode = credentials?.enrollmentCode;
    const fleet =
      flags.cars > 0 && fleetCode
        ? fleetModule.runFleet({
            server: api.url,
            code: fleetCode,
            cars: flags.cars,
            seed: 7,
            speedup: flags.speedup,
            // The cars' day starts where the server's world is now.
            startMs: worldS(api.timeScale, Date.now() / 1000) * 1000,
            namePrefix: "demo-car",
            // Spread over the seeded regions, so that the console shows each of them at work.
            ...(api.demo ? { regions: api.demo.regions } : {}),
            modelDir: join(home, "model-cache"),
          })
        : null;
    if (fleet) stops.push(() => fleet.stop());

    const tenantKey = credentials ? Object.values(credentials.tenantKeys)[0] : undefined;
    const workload =
      flags.workload && tenantKey
        ? startWorkload(
            client.createNightshiftClient({ url: api.url, credential: tenantKey }),
            (kind) => demoImages.DEMO_IMAGES.filter((d) => d.kind === kind).map((d) => d.file),
          )
        : null;
    if (workload) stops.push(async () => workload.stop());

    say("");
    say(`  Console       ${consoleServer.url}`);
    say(
      credentials
        ? `    sign in     ${credentials.operator.email} / ${credentials.operator.password}`
        : `    sign in     (the demo's credentials were not kept: run npm start -- --reset)`,
    );
    say(`  Vehicle page  ${vehicleServer.url}   (open it in more tabs: each tab is a car)`);
    say(`  Server        ${api.url}   (tRPC under /trpc, /healthz, /metrics)`);
    say(`  Fleet         ${fleet ? flags.cars : 0} headless cars; server log in ${logFile}`);
    const worldAt = new Date(worldS(api.timeScale, Date.now() / 1000) * 1000);
    say(
      `  Clock         ${flags.speedup}× (a day in ${formatDayLength(flags.speedup)}); the demo's world is at ${worldAt.toISOString().slice(0, 16).replace("T", " ")} UTC`,
    );
    if (credentials) say(`  Secrets       ${secretsFile}`);
    const tenant = credentials ? Object.entries(credentials.tenantKeys)[0] : undefined;
    if (tenant) {
      const [tenantId, key] = tenant;
      say("");
      say(`  Tenant key    ${key}   (tenant ${tenantId}; every key is in ${secretsFile})`);
      say(`    try it      export NIGHTSHIFT_URL=${api.url} NIGHTSHIFT_KEY=${key}`);
      say(
        `                npx nightshift jobs submit --model ppocr-det --inputs examples/jobs/pages.json`,
      );
      say(`                npx nightshift jobs results JOB_ID`);
    }
    say("");
    say(
      "Ctrl-C stops everything; the data stays for the next start (npm start -- --reset starts fresh).",
    );

    const status = setInterval(() => {
      if (!fleet) return;
      say(formatDemoStatus(fleet.summary()));
    }, STATUS_EVERY_MS);
    status.unref();
    stops.push(async () => clearInterval(status));

    await stopRequested;
  } finally {
    await stopAll();
  }
  say("Stopped.");
}

/**
 * `.nightshift` in the checkout, except as root in a checkout that other users cannot reach
 * (under /root, say): PostgreSQL runs as the `postgres` user then, and could not open its data.
 * The demo's folder goes to /var/lib/nightshift/<checkout's hash> instead, kept across restarts.
 */
function defaultHome(inCheckout: string): string {
  if (process.getuid?.() !== 0) return inCheckout;
  for (let dir = dirname(inCheckout); ; dir = dirname(dir)) {
    const mode = existsSync(dir) ? statSync(dir).mode : 0o755;
    if ((mode & 0o001) === 0) {
      const hash = createHash("sha256").update(inCheckout).digest("hex").slice(0, 12);
      const elsewhere = join("/var/lib/nightshift", hash);
      say(
        `(${dir} is closed to other users, and PostgreSQL runs as 'postgres': data in ${elsewhere})`,
      );
      return elsewhere;
    }
    if (dir === dirname(dir)) return inCheckout;
  }
}

/** How long a day of the demo's world lasts on the wall clock: "24 minutes", "24 seconds". */
export function formatDayLength(speedup: number): string {
  const s = 86_400 / speedup;
  if (s >= 3600) return `${Number((s / 3600).toPrecision(3))} hours`;
  if (s >= 60) return `${Number((s / 60).toPrecision(3))} minutes`;
  return `${Number(s.toPrecision(3))} seconds`;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The demo's secrets as an earlier start saved them, if it did. */
function readCredentials(file: string): DemoCredentials | null {
  if (!existsSync(file)) return null;
  const parsed = ZDemoCredentials.safeParse(JSON.parse(readFileSync(file, "utf8")));
  return parsed.success ? parsed.data : null;
}

/**
 * The demo's secrets: written when seeding created them (the first start on a fresh folder), or
 * a fleet code for secrets saved without one; else as saved. Readable by this user only.
 */
function rememberCredentials(
  file: string,
  seeded: {
    operator: { email: string; password: string | null };
    tenants: { id: string; apiKey: string | null }[];
    enrollmentCode: string | null;
  } | null,
  saved: DemoCredentials | null,
): DemoCredentials | null {
  let credentials = saved;
  if (seeded?.operator.password) {
    credentials = {
      operator: { email: seeded.operator.email, password: seeded.operator.password },
      tenantKeys: Object.fromEntries(
        seeded.tenants.flatMap((t) => (t.apiKey ? [[t.id, t.apiKey]] : [])),
      ),
    };
  }
  if (!credentials) return null;
  if (seeded?.enrollmentCode)
    credentials = { ...credentials, enrollmentCode: seeded.enrollmentCode };
  if (credentials !== saved) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return credentials;
}

interface Workload {
  stop(): void;
}

type DemoKind = "line" | "page" | "document";

type TenantClient = NightshiftClient;

/**
 * A tenant that keeps real OCR work coming: whenever its open work runs low, it submits another
 * job, in turn: scanned A4 documents to the text detector (about half a second each on one CPU
 * core, at PaddleOCR's 960-pixel working size), the demo's text lines to the direction
 * classifier, and its small pages to the detector.
 */
function startWorkload(tenant: TenantClient, demoFiles: (kind: DemoKind) => string[]): Workload {
  let turn = 0;
  let busy = false;
  const images = (kind: DemoKind, copies: number) =>
    Array.from({ length: copies }, () => demoFiles(kind))
      .flat()
      .map((demo) => ({ image: { demo } }));
  const jobs = [
    async () =>
      tenant.tenant.jobs.submit.mutate({ modelId: "ppocr-det", inputs: images("document", 8) }),
    async () =>
      tenant.tenant.jobs.submit.mutate({ modelId: "ppocr-cls", inputs: images("line", 1) }),
    async () =>
      tenant.tenant.jobs.submit.mutate({ modelId: "ppocr-det", inputs: images("page", 2) }),
  ];
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      // Newest first: the workload's unfinished jobs are among its latest. Top the queue up to
      // the target at once (a few jobs a tick), so that cars that may work find work.
      for (let submitted = 0; submitted < 4; submitted++) {
        const latest = await tenant.tenant.jobs.list.query({ limit: 50 });
        const pending = latest.items
          .filter((j) => j.status === "queued" || j.status === "running")
          .reduce((n, j) => n + j.taskCount - j.tasksValidated - j.tasksFailed, 0);
        if (pending >= WORKLOAD_QUEUE_TARGET) break;
        await jobs[turn % jobs.length]!();
        turn++;
      }
    } catch {
      // The server may be restarting or busy: the next tick tries again.
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), WORKLOAD_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
