// Starts one server instance: PostgreSQL (embedded or DATABASE_URL), migrations, the demo world
// (with `demo`) or else the first operator of an empty database, HTTP, the sweeper (leases,
// overdue jobs, input images no job needs); and stops it gracefully. Several instances may share
// one database: nothing here holds state that another instance needs.
import { type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type ApiConfig, apiConfig } from "@nightshift/api/config";
import { REAL_TIME, type TimeScale, timeScale } from "@nightshift/core/time-scale";
import { DEFAULT_VERIFICATION } from "@nightshift/core/verify";
import { type ApiDeps, createContextFactory } from "@nightshift/api/context";
import { appRouter } from "@nightshift/api/router";
import { createFirstOperator, DEFAULT_OPERATOR_EMAIL } from "@nightshift/api/first-operator";
import { registerModels, seedDemo } from "@nightshift/api/seed";
import { sweepInputs } from "@nightshift/api/services/input-storage";
import { readImage } from "@nightshift/api/services/inputs";
import { pruneFleetSamples, recordFleetSample } from "@nightshift/api/services/history";
import { stateOf } from "@nightshift/api/state";
import { type ReclaimResult, reclaimForGuarantees } from "@nightshift/api/services/reclaim";
import { endOverdueJobs, settleCanaries, sweepExpired } from "@nightshift/api/sweeper";
import { type Logger, pino } from "pino";
import { type Readiness, createApp } from "./app";
import type { TrustedProxies } from "./client-address";
import { openDatabase } from "./database";
import { REPO_ROOT, serverEnv } from "./env";
import { readFleetGauges } from "./fleet-gauges";
import { startSweeper } from "./lease-sweeper";
import { createMetrics } from "./metrics";
import { createModelFiles } from "./model-files";

export type DemoSeed = Awaited<ReturnType<typeof seedDemo>>;

export interface StartServerOptions {
  /** 0 picks a free port. Default NIGHTSHIFT_PORT, else 8787. */
  port?: number;
  /** Default NIGHTSHIFT_HOST, else 127.0.0.1. */
  host?: string;
  /** The embedded PostgreSQL's folder. Default NIGHTSHIFT_DATA_DIR, else `<repo>/.nightshift/data`. */
  dataDir?: string;
  /** Default DATABASE_URL; unset: an embedded PostgreSQL in dataDir. */
  databaseUrl?: string;
  /** Default NIGHTSHIFT_MODELS_DIR, else `<repo>/.nightshift/models`. */
  modelsDir?: string;
  corsOrigins?: string[];
  /**
   * Seed the demo world: regions, tenants, an operator, the demo's codes (idempotent). Default
   * false: a start that finds no operator makes the first one instead (`operatorEmail`).
   */
  demo?: boolean;
  /**
   * With `demo`: a new fleet code even where the demo's operator exists (SeedOptions.newFleetCode).
   */
  newFleetCode?: boolean;
  /** The first operator's email, on a start (not a demo) that finds none. Default DEFAULT_OPERATOR_EMAIL. */
  operatorEmail?: string;
  log?: Logger;
  config?: Partial<ApiConfig>;
  drainDelayMs?: number;
  drainTimeoutMs?: number;
  sweepIntervalMs?: number;
  /** Between samples of the fleet's figures (the console's history). Default 60 s. */
  sampleIntervalMs?: number;
  /**
   * Proxies in front whose X-Forwarded-For per-IP limits believe (see clientAddress). Default
   * NIGHTSHIFT_TRUSTED_PROXIES, else none.
   */
  trustedProxies?: TrustedProxies;
  /**
   * What /metrics asks for: `Authorization: Bearer <token>`. Default NIGHTSHIFT_METRICS_TOKEN;
   * unset: /metrics answers callers on this host only.
   */
  metricsToken?: string;
  /**
   * Compressed time: the scheduling clock runs `speedup` times as fast as the wall clock, from
   * `worldStartAt` (default now). Default NIGHTSHIFT_SPEEDUP and NIGHTSHIFT_WORLD_START.
   */
  clock?: { speedup: number; worldStartAt?: Date };
}

export interface RunningServer {
  /** `http://host:port`, the base of /trpc, /healthz, … */
  url: string;
  port: number;
  /** The PostgreSQL this instance uses, password included: for other instances, not for logs. */
  databaseUrl: string;
  /** What seeding (`demo`) created this time (credentials are only ever returned on creation). */
  demo: DemoSeed | null;
  /** The operator this start made on an empty database, with its password: shown once. */
  firstOperator: { email: string; password: string } | null;
  /** The clock it schedules on (real time unless compressed). */
  timeScale: TimeScale;
  /** Graceful: not ready, no new leases, in-flight calls finish (bounded), then the database. */
  stop(): Promise<void>;
}

/** Never log these, whatever object they turn up in. */
const REDACT = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "password",
  "*.password",
  "credential",
  "*.credential",
  "token",
  "*.token",
  "key",
  "*.key",
  "databaseUrl",
];

/** `destination`: a file descriptor (1 stdout, 2 stderr) or a file to append to. */
export function createLogger(level: string, destination: number | string = 1): Logger {
  return pino(
    { level, redact: { paths: REDACT, censor: "[redacted]" } },
    pino.destination({ dest: destination, sync: true, mkdir: typeof destination === "string" }),
  );
}

/** A wait that does not by itself keep the process alive. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const env = serverEnv();
  const log = opts.log ?? createLogger(env.LOG_LEVEL);
  const host = opts.host ?? env.NIGHTSHIFT_HOST;
  const startedS = Date.now() / 1000;
  const speedup = opts.clock?.speedup ?? env.NIGHTSHIFT_SPEEDUP;
  const worldStartAt =
    opts.clock?.worldStartAt ??
    (env.NIGHTSHIFT_WORLD_START ? new Date(env.NIGHTSHIFT_WORLD_START) : undefined);
  const config = apiConfig({
    timeScale:
      speedup === 1 && !worldStartAt
        ? REAL_TIME
        : timeScale(speedup, startedS, worldStartAt ? worldStartAt.getTime() / 1000 : startedS),
    ...(env.NIGHTSHIFT_DRAW_SECRET === undefined ? {} : { drawSecret: env.NIGHTSHIFT_DRAW_SECRET }),
    ...(env.NIGHTSHIFT_CANARY_RATE === undefined
      ? {}
      : {
          verification: { ...DEFAULT_VERIFICATION, canaryRate: env.NIGHTSHIFT_CANARY_RATE },
        }),
    ...opts.config,
  });
  const drainDelayMs = opts.drainDelayMs ?? env.NIGHTSHIFT_DRAIN_DELAY_MS;
  const drainTimeoutMs = opts.drainTimeoutMs ?? env.NIGHTSHIFT_DRAIN_TIMEOUT_MS;
  const trustedProxies = opts.trustedProxies ?? env.NIGHTSHIFT_TRUSTED_PROXIES ?? 0;

  const database = await openDatabase({
    databaseUrl: opts.databaseUrl ?? env.DATABASE_URL,
    dataDir: opts.dataDir ?? env.NIGHTSHIFT_DATA_DIR ?? join(REPO_ROOT, ".nightshift", "data"),
    log,
  });
  const { db, pool } = database;

  let demo: DemoSeed | null = null;
  let firstOperator: RunningServer["firstOperator"] = null;
  let draining = false;
  try {
    if (opts.demo) {
      demo = await seedDemo(db, { newFleetCode: opts.newFleetCode ?? false });
    } else {
      await registerModels(db);
      firstOperator = await createFirstOperator(db, {
        email: opts.operatorEmail ?? DEFAULT_OPERATOR_EMAIL,
      });
    }
  } catch (error) {
    await database.close();
    throw error;
  }

  const deps: ApiDeps = { db, now: () => new Date(), config };
  const metrics = createMetrics({
    readFleetGauges: () => readFleetGauges(db),
    onScrapeError: (error) => log.warn({ err: error }, "metrics could not read the database"),
  });

  async function readiness(): Promise<Readiness> {
    if (draining) return { ready: false, reason: "shutting down" };
    try {
      // Migrations ran before the listener opened; what remains to check is the connection.
      await withTimeout(pool.query("select 1"), 2000);
      return { ready: true };
    } catch (error) {
      return { ready: false, reason: `database unreachable: ${(error as Error).message}` };
    }
  }

  const app = createApp({
    router: appRouter,
    createContext: createContextFactory(deps),
    metrics,
    modelFiles: createModelFiles(
      opts.modelsDir ?? env.NIGHTSHIFT_MODELS_DIR ?? join(REPO_ROOT, ".nightshift", "models"),
    ),
    readInput: (sha256) => readImage(db, sha256),
    corsOrigins: new Set(opts.corsOrigins ?? env.NIGHTSHIFT_CORS_ORIGINS),
    log,
    maxBodyBytes: config.maxBodyBytes,
    maxAnonymousBodyBytes: config.maxAnonymousBodyBytes,
    metricsToken: opts.metricsToken ?? env.NIGHTSHIFT_METRICS_TOKEN ?? null,
    readiness,
    isDraining: () => draining,
    trustedProxies,
  });

  // Cars keep their connections between calls. An idle connection the server closes just as a
  // car reuses it fails that call ("fetch failed": the car retries, but counts an error), which
  // happened every few minutes to a demo fleet on a busy machine at Node's 5 s. Keep idle
  // connections a minute, as load balancers do; headers must arrive within that too.
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 }, app);
  const open = new Set<ServerResponse>();
  let allDone: (() => void) | undefined;
  server.on("request", (_req, res) => {
    open.add(res);
    res.once("close", () => {
      open.delete(res);
      if (open.size === 0) allDone?.();
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? env.NIGHTSHIFT_PORT, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await database.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(host)}:${port}`;

  const countedPreemptions = (reclaimed: ReclaimResult): ReclaimResult => {
    metrics.countPreemptions(reclaimed.preemptedLeases);
    return reclaimed;
  };
  const sweeper = startSweeper({
    // Leases, then borrowed capacity reclaimed (cars freed by expiry count as free first), then
    // overdue jobs, then canaries' pay, then the input images that no job needs.
    sweep: async () => ({
      ...(await sweepExpired(deps)),
      ...countedPreemptions(await reclaimForGuarantees(deps)),
      ...(await endOverdueJobs(deps)),
      ...(await settleCanaries(deps)),
      ...(await sweepInputs(deps)),
    }),
    intervalMs: opts.sweepIntervalMs ?? env.NIGHTSHIFT_SWEEP_INTERVAL_S * 1000,
    log,
  });
  // The fleet's history for the console: a sample a minute (one instance writes each minute),
  // and samples past a week dropped.
  let samples = 0;
  const sampler = startSweeper({
    sweep: async () => {
      const state = stateOf(deps);
      const wrote = await recordFleetSample(deps, state);
      if (samples++ % 60 === 0) await pruneFleetSamples(deps);
      return { sampled: wrote };
    },
    intervalMs: opts.sampleIntervalMs ?? 60_000,
    log,
    name: "fleet sample",
  });
  log.info(
    {
      port,
      host,
      embeddedDatabase: database.embedded,
      seeded: demo !== null,
      trustedProxies: String(trustedProxies),
    },
    "server listening",
  );

  let stopping: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    const startedAt = performance.now();
    draining = true;
    log.info({ drainDelayMs, inFlight: open.size }, "draining: not ready, no new leases");
    await Promise.all([sweeper.stop(), sampler.stop()]);
    if (drainDelayMs > 0) await sleep(drainDelayMs);

    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Event streams never end on their own; their clients reconnect to another instance.
    for (const res of open) {
      if (String(res.getHeader("content-type") ?? "").startsWith("text/event-stream")) {
        res.destroy();
      }
    }
    if (open.size > 0) {
      const finished = new Promise<void>((resolve) => (allDone = resolve));
      const timedOut = await Promise.race([
        finished.then(() => false),
        sleep(drainTimeoutMs).then(() => true),
      ]);
      if (timedOut) log.warn({ inFlight: open.size }, "drain timed out: cutting connections");
    }
    server.closeAllConnections();
    await closed;
    await database.close();
    log.info({ ms: Math.round(performance.now() - startedAt) }, "server stopped");
  }

  return {
    url,
    port,
    databaseUrl: database.url,
    demo,
    firstOperator,
    timeScale: config.timeScale,
    stop: () => (stopping ??= shutdown()),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
