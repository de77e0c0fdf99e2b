// API benchmark: tasks completed end to end (leased, computed, submitted, validated, ledger
// written, job completed) per second by headless car clients over real HTTP, against the real
// server (startServer, in a child process) on an embedded PostgreSQL with durable settings; and,
// in the same run on the same PostgreSQL, graphile-worker claiming and completing as many no-op
// jobs. Prints a table and writes bench-results/api.json as [{ name, value, unit }].
//
//   npm run bench -w @nightshift/server            # 16 cars, 20,000 tasks, the server's lease limit
//   npx tsx bench/api.ts --cars 32 --tasks 40000 --max 32
//   npx tsx bench/api.ts --profile DIR | --statements | --waits | --single   (see below)
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { DEFAULT_API_CONFIG } from "@nightshift/api/config";
import { runTiny, tinyInput } from "@nightshift/api/seed";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { createPool } from "@nightshift/db/client";
import { startEmbedded } from "@nightshift/db/embedded";
import { Logger, run, runMigrations } from "graphile-worker";

interface Figure {
  name: string;
  value: number;
  unit: string;
}

const RESULTS_DIR = fileURLToPath(new URL("../../../bench-results/", import.meta.url));
const args = process.argv.slice(2);
function flag(name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}
function textFlag(name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

/** Headless cars, each one HTTP client looping heartbeat → lease → run → submit. */
const CARS = flag("--cars", 16);
/** Tasks per run (and graphile-worker jobs): jobs of at most 10,000 tasks (maxTasksPerJob). */
const TASKS = flag("--tasks", 20_000);
/** Tasks a car asks for per lease call: the server's limit by default. */
const MAX_PER_LEASE = flag("--max", DEFAULT_API_CONFIG.maxLeasePerCall);
/** graphile-worker as the brief measured it: 10 concurrent jobs, one job per claim (0.16 has no batching). */
const GRAPHILE_CONCURRENCY = 10;
/** --single: one result per submit call (concurrently), as before node.submitMany. */
const SINGLE = args.includes("--single");
/** --profile DIR: the server process writes a CPU profile (node --cpu-prof) there. */
const PROFILE_DIR = textFlag("--profile");
/**
 * --statements: the benchmark starts the embedded PostgreSQL itself (same folder, same durable
 * settings) with pg_stat_statements loaded, hands it to the server, and prints the statements
 * that took the most time in each run. For profiling; the figures are from runs without it.
 */
const STATEMENTS = args.includes("--statements");
/** --waits: samples what the server's PostgreSQL sessions wait on during each API run. */
const SAMPLE_WAITS = args.includes("--waits");
const JOB_CHUNK = 10_000;

const PARKED = {
  state: "parked",
  socPct: 80,
  pluggedIn: true,
  chargerKW: 11,
  predictedDepartureAt: null,
  batteryTempC: 20,
} as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Handshake {
  url: string;
  databaseUrl: string;
  tenantKey: string;
  enrollmentCode: string;
  serverPid: number;
  postgresPid: number;
}

async function startServerProcess(
  dataDir: string,
  databaseUrl?: string,
): Promise<{ child: ChildProcess; hs: Handshake }> {
  const script = fileURLToPath(new URL("./serve.ts", import.meta.url));
  const nodeArgs = ["--import", "tsx"];
  if (PROFILE_DIR) nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`);
  const log = openSync(`${dataDir}.log`, "a");
  const serveArgs = [script, path.join(dataDir, "db"), ...(databaseUrl ? [databaseUrl] : [])];
  const child = spawn(process.execPath, [...nodeArgs, ...serveArgs], {
    stdio: ["pipe", "pipe", log],
  });
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout! }), "line"),
    once(child, "exit").then(([code]) => {
      throw new Error(`the server exited (${String(code)}); see ${dataDir}.log`);
    }),
  ])) as [string];
  // The postmaster's pid is the first line of its pid file (root may read it whoever owns it).
  const postgresPid = Number(
    readFileSync(path.join(dataDir, "db", "pgdata", "postmaster.pid"), "utf8").split("\n")[0],
  );
  const hs = { ...(JSON.parse(line) as Handshake), serverPid: child.pid as number, postgresPid };
  return { child, hs };
}

interface Car {
  client: NightshiftClient;
}

async function enrollCars(url: string, code: string, n: number): Promise<Car[]> {
  const anonymous = createNightshiftClient({ url });
  const cars: Car[] = [];
  for (let i = 0; i < n; i++) {
    const { credential } = await anonymous.node.enroll.mutate({ code, name: `bench-${i}` });
    cars.push({ client: createNightshiftClient({ url, credential }) });
  }
  return cars;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

/**
 * CPU seconds from /proc/PID/stat (Linux): its own (utime, stime), and with `ended` those of its
 * children that have ended (cutime, cstime); clock ticks are 1/100 s. Also its parent's pid.
 */
function procCpu(pid: number, ended: boolean): { seconds: number; ppid: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = f.slice(11, ended ? 15 : 13).reduce((sum, x) => sum + Number(x), 0);
    return { seconds: ticks / 100, ppid: Number(f[1]) };
  } catch {
    return { seconds: 0, ppid: -1 };
  }
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
function machineBusy(): number {
  const [, ...ticks] = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/);
  const t = ticks.map(Number);
  return t.reduce((sum, x, i) => (i === 3 || i === 4 ? sum : sum + x), 0) / 100;
}

/** The postmaster, its live backends and those that have ended. */
function postgresCpu(postmaster: number): number {
  let total = procCpu(postmaster, true).seconds;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const p = procCpu(Number(entry), false);
    if (p.ppid === postmaster) total += p.seconds;
  }
  return total;
}

/** CPU seconds used so far: the server, its PostgreSQL (every backend that ended), this process. */
interface CpuMeter {
  server: number;
  postgres: number;
  cars: number;
  machine: number;
}

function readCpu(serverPid: number, postgresPid: number): CpuMeter {
  const self = process.cpuUsage();
  return {
    server: procCpu(serverPid, false).seconds,
    postgres: postgresCpu(postgresPid),
    cars: (self.user + self.system) / 1e6,
    machine: machineBusy(),
  };
}

interface ApiRun {
  cpu: CpuMeter;
  tasks: number;
  replicas: number;
  seconds: number;
  leaseCalls: number;
  leaseP50Ms: number;
  leaseP99Ms: number;
  submitP50Ms: number;
  submitP99Ms: number;
}

/** One run: the tenant submits TASKS tasks, the cars work until every job has completed. */
async function runApi(
  hs: Handshake,
  cars: Car[],
  db: ReturnType<typeof createPool>,
  replication: number,
): Promise<ApiRun> {
  const tenant = createNightshiftClient({ url: hs.url, credential: hs.tenantKey });
  const jobIds: string[] = [];
  for (let start = 0; start < TASKS; start += JOB_CHUNK) {
    const inputs = Array.from({ length: Math.min(JOB_CHUNK, TASKS - start) }, (_, i) => {
      const k = start + i;
      return tinyInput([k % 97, (k * 7) % 13, -(k % 5), 0.25 * (k % 11)]);
    });
    const { jobId } = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs,
      replication,
    });
    jobIds.push(jobId);
  }

  const leaseMs: number[] = [];
  const submitMs: number[] = [];
  let done = false;
  const work = async (car: Car) => {
    let idleMs = 0;
    while (!done) {
      await car.client.node.heartbeat.mutate(PARKED);
      const t0 = performance.now();
      // A requestId per call, as the agent sends it: the idempotency lookup and lock are measured.
      const { tasks } = await car.client.node.lease.mutate({
        max: MAX_PER_LEASE,
        requestId: randomUUID(),
      });
      leaseMs.push(performance.now() - t0);
      if (tasks.length === 0) {
        // Nothing for this car now: the others hold the rest, or the run is over.
        idleMs = Math.min(200, Math.max(10, idleMs * 2));
        await sleep(idleMs);
        continue;
      }
      idleMs = 0;
      const results = tasks.map((t) => ({
        leaseId: t.leaseId,
        output: runTiny((t.input as { x: { data: number[] } }).x.data),
        durationMs: 1,
        backend: "native" as const,
      }));
      const t1 = performance.now();
      if (SINGLE) await Promise.all(results.map((r) => car.client.node.submit.mutate(r)));
      else await car.client.node.submitMany.mutate({ results });
      submitMs.push(performance.now() - t1);
    }
  };
  const watch = async () => {
    while (!done) {
      await sleep(50);
      const { rows } = await db.query<{ open: number }>(
        "select count(*)::int as open from jobs where id = any($1::uuid[]) and status <> 'completed'",
        [jobIds],
      );
      if (rows[0]?.open === 0) done = true;
    }
  };
  const waits = new Map<string, number>();
  const sampleWaits = async () => {
    while (SAMPLE_WAITS && !done) {
      const { rows } = await db.query<{ what: string; n: number }>(
        `select coalesce(wait_event_type || ':' || wait_event, 'cpu') || ' ' || state || ' ' ||
                left(regexp_replace(query, '\\s+', ' ', 'g'), 60) as what, count(*)::int as n
           from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'
          group by 1`,
      );
      for (const r of rows) waits.set(r.what, (waits.get(r.what) ?? 0) + r.n);
      await sleep(10);
    }
  };
  if (STATEMENTS) {
    await db.query("create extension if not exists pg_stat_statements");
    await db.query("select pg_stat_statements_reset()");
  }
  const cpuBefore = readCpu(hs.serverPid, hs.postgresPid);
  const startedAt = Date.now();
  await Promise.all([watch(), sampleWaits(), ...cars.map(work)]);
  const cpuAfter = readCpu(hs.serverPid, hs.postgresPid);
  if (STATEMENTS) {
    const { rows: top } = await db.query<{
      ms: number;
      calls: number;
      mean: number;
      rows: number;
      q: string;
    }>(
      `select total_exec_time + total_plan_time as ms, calls, mean_exec_time as mean, rows,
              left(regexp_replace(query, '\\s+', ' ', 'g'), 90) as q
         from pg_stat_statements order by 1 desc limit 15`,
    );
    for (const t of top)
      console.log(
        `  ${t.ms.toFixed(0).padStart(7)} ms ${String(t.calls).padStart(6)} calls ${t.mean.toFixed(3).padStart(8)} ms/call ${String(t.rows).padStart(7)} rows  ${t.q}`,
      );
  }
  if (SAMPLE_WAITS) {
    const total = [...waits.values()].reduce((a, b) => a + b, 0);
    for (const [what, n] of [...waits].sort((a, b) => b[1] - a[1]).slice(0, 15))
      console.log(`  ${((100 * n) / total).toFixed(1).padStart(5)}% ${what}`);
  }

  // The figure is the server's own completion time of the last job, not the poll's.
  const { rows } = await db.query<{ last: Date; validated: number; ledger: number; paid: number }>(
    `select (select max(completed_at) from jobs where id = any($1::uuid[])) as last,
            (select sum(tasks_validated)::int from jobs where id = any($1::uuid[])) as validated,
            count(*)::int as ledger, (count(*) filter (where le.validated))::int as paid
       from ledger_entries le
       join leases l on l.id = le.lease_id
       join tasks t on t.id = le.task_id
      -- Canaries (leased after their task's verdict) are checks, not the tasks' replicas.
      where le.job_id = any($1::uuid[]) and l.leased_at <= t.validated_at`,
    [jobIds],
  );
  const r = rows[0]!;
  // Not a test, but a figure for work that was not done would be worthless.
  if (r.validated !== TASKS || r.ledger !== TASKS * replication || r.paid !== TASKS * replication) {
    throw new Error(`incomplete run: ${JSON.stringify(r)}`);
  }
  leaseMs.sort((a, b) => a - b);
  submitMs.sort((a, b) => a - b);
  return {
    cpu: {
      server: cpuAfter.server - cpuBefore.server,
      postgres: cpuAfter.postgres - cpuBefore.postgres,
      cars: cpuAfter.cars - cpuBefore.cars,
      machine: cpuAfter.machine - cpuBefore.machine,
    },
    tasks: TASKS,
    replicas: TASKS * replication,
    seconds: (r.last.getTime() - startedAt) / 1000,
    leaseCalls: leaseMs.length,
    leaseP50Ms: percentile(leaseMs, 0.5),
    leaseP99Ms: percentile(leaseMs, 0.99),
    submitP50Ms: percentile(submitMs, 0.5),
    submitP99Ms: percentile(submitMs, 0.99),
  };
}

/**
 * graphile-worker on the same PostgreSQL: TASKS no-op jobs added in one statement, then a worker
 * (concurrency 10) runs until it has completed them all. Timed from run() to the last completion.
 */
async function runGraphileWorker(
  connectionString: string,
  postgresPid: number,
): Promise<{ seconds: number; cpu: { worker: number; postgres: number; machine: number } }> {
  const quiet = new Logger(() => () => {});
  // One pool (its default size) for the setup and the worker: the connections that inserted the
  // jobs stay open, so their work is not counted in the CPU figure when they end; and the pool is
  // ours to end before the database stops.
  const pgPool = createPool(connectionString, { max: GRAPHILE_CONCURRENCY });
  await runMigrations({ pgPool, logger: quiet });
  await pgPool.query(
    "select graphile_worker.add_job('noop', json_build_object('i', i)) from generate_series(1, $1::int) i",
    [TASKS],
  );
  let completed = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const cpuBefore = {
    worker: process.cpuUsage(),
    postgres: postgresCpu(postgresPid),
    machine: machineBusy(),
  };
  const startedAt = performance.now();
  const runner = await run({
    pgPool,
    concurrency: GRAPHILE_CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: quiet,
    taskList: { noop: async () => {} },
  });
  runner.events.on("job:complete", () => {
    if (++completed === TASKS) finish();
  });
  await finished;
  const seconds = (performance.now() - startedAt) / 1000;
  const worker = process.cpuUsage(cpuBefore.worker);
  const cpu = {
    worker: (worker.user + worker.system) / 1e6,
    postgres: postgresCpu(postgresPid) - cpuBefore.postgres,
    machine: machineBusy() - cpuBefore.machine,
  };
  await runner.stop();
  await pgPool.end();
  return { seconds, cpu };
}

/** Where the CPU went, per task: the machine's two cores are shared by all three. */
function cpuLine(r: ApiRun): string {
  const ms = (s: number) => ((s * 1000) / r.tasks).toFixed(2);
  const busy = (100 * r.cpu.machine) / r.seconds / os.cpus().length;
  return `CPU per task: server ${ms(r.cpu.server)} ms, PostgreSQL ${ms(r.cpu.postgres)} ms, cars ${ms(r.cpu.cars)} ms; the machine was busy ${busy.toFixed(0)}%; ${(r.tasks / r.leaseCalls).toFixed(1)} tasks per lease call`;
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function round(x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

const cpu = os.cpus();
console.log(
  `machine: ${cpu.length} × ${cpu[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
);
console.log(
  `api: ${CARS} cars, ${fmt(TASKS)} tasks per run, up to ${MAX_PER_LEASE} per lease; graphile-worker: ${fmt(TASKS)} jobs, concurrency ${GRAPHILE_CONCURRENCY}`,
);

const dataDir = mkdtempSync(path.join(os.tmpdir(), "nightshift-bench-api-"));
// As root, PostgreSQL runs as `postgres`, which must traverse this folder to reach its own.
chmodSync(dataDir, 0o711);
const statementsDb = STATEMENTS
  ? await startEmbedded({
      dataDir: path.join(dataDir, "db"),
      settings: {
        shared_preload_libraries: "pg_stat_statements,auto_explain",
        "pg_stat_statements.track": "all",
        // Plans of statements slower than 20 ms, with their row counts, in the PostgreSQL log.
        "auto_explain.log_min_duration": "20ms",
        "auto_explain.log_analyze": "on",
        "auto_explain.log_timing": "off",
        "auto_explain.log_nested_statements": "on",
      },
      log: (line) => appendFileSync(`${dataDir}.pg.log`, `${line}\n`),
    })
  : undefined;
const { child, hs } = await startServerProcess(dataDir, statementsDb?.url);
const db = createPool(hs.databaseUrl, { max: 2 });
let figures: Figure[];
try {
  // graphile-worker first, on the fresh database: none of the API runs' dead rows or autovacuum
  // work is in its way (nor in its CPU figure).
  const gw = await runGraphileWorker(hs.databaseUrl, hs.postgresPid);
  console.log(
    `graphile-worker: ${fmt(TASKS)} jobs in ${gw.seconds.toFixed(2)} s = ${fmt(TASKS / gw.seconds)} jobs/s`,
  );
  console.log(
    `  CPU per job: worker ${((gw.cpu.worker * 1000) / TASKS).toFixed(2)} ms, PostgreSQL ${((gw.cpu.postgres * 1000) / TASKS).toFixed(2)} ms; the machine was busy ${((100 * gw.cpu.machine) / gw.seconds / os.cpus().length).toFixed(0)}%`,
  );
  const cars = await enrollCars(hs.url, hs.enrollmentCode, CARS);
  const r1 = await runApi(hs, cars, db, 1);
  console.log(
    `api r1: ${fmt(r1.tasks)} tasks in ${r1.seconds.toFixed(2)} s = ${fmt(r1.tasks / r1.seconds)} tasks/s; lease p50 ${r1.leaseP50Ms.toFixed(1)} ms, p99 ${r1.leaseP99Ms.toFixed(1)} ms; submit p50 ${r1.submitP50Ms.toFixed(1)} ms, p99 ${r1.submitP99Ms.toFixed(1)} ms`,
  );
  console.log(`  ${cpuLine(r1)}`);
  const r2 = await runApi(hs, cars, db, 2);
  console.log(
    `api r2: ${fmt(r2.tasks)} tasks (${fmt(r2.replicas)} replicas) in ${r2.seconds.toFixed(2)} s = ${fmt(r2.tasks / r2.seconds)} tasks/s; lease p50 ${r2.leaseP50Ms.toFixed(1)} ms, p99 ${r2.leaseP99Ms.toFixed(1)} ms`,
  );
  console.log(`  ${cpuLine(r2)}`);
  const ours = r1.tasks / r1.seconds;
  const theirs = TASKS / gw.seconds;
  console.log(`api ÷ graphile-worker: ${(ours / theirs).toFixed(2)}`);
  figures = [
    { name: "api.complete.perSecond", value: Math.round(ours), unit: "tasks/s" },
    {
      name: "api.complete.r2.perSecond",
      value: Math.round(r2.tasks / r2.seconds),
      unit: "tasks/s",
    },
    {
      name: "api.complete.r2.replicasPerSecond",
      value: Math.round(r2.replicas / r2.seconds),
      unit: "replicas/s",
    },
    { name: "api.tasksPerLeaseCall", value: round(r1.tasks / r1.leaseCalls, 1), unit: "tasks" },
    {
      name: "api.cpuPerTask.ms",
      value: round(((r1.cpu.server + r1.cpu.postgres + r1.cpu.cars) * 1000) / r1.tasks, 3),
      unit: "ms",
    },
    { name: "api.lease.p50Ms", value: round(r1.leaseP50Ms, 2), unit: "ms" },
    { name: "api.lease.p99Ms", value: round(r1.leaseP99Ms, 2), unit: "ms" },
    { name: "api.submit.p50Ms", value: round(r1.submitP50Ms, 2), unit: "ms" },
    { name: "api.submit.p99Ms", value: round(r1.submitP99Ms, 2), unit: "ms" },
    { name: "graphileWorker.perSecond", value: Math.round(theirs), unit: "jobs/s" },
    {
      name: "graphileWorker.cpuPerJob.ms",
      value: round(((gw.cpu.worker + gw.cpu.postgres) * 1000) / TASKS, 3),
      unit: "ms",
    },
    { name: "api.vsGraphileWorker.ratio", value: round(ours / theirs, 3), unit: "ratio" },
  ];
} finally {
  await db.end();
  child.stdin!.end();
  await once(child, "exit");
  await statementsDb?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
// The logs stay only when something failed, or for --statements (its plans are in the second).
if (!STATEMENTS) rmSync(`${dataDir}.log`, { force: true });
mkdirSync(RESULTS_DIR, { recursive: true });
const file = path.join(RESULTS_DIR, "api.json");
writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
console.log(`  → ${file}`);
if (STATEMENTS) console.log(`  logs: ${dataDir}.log, plans of slow statements: ${dataDir}.pg.log`);
