// The simulator predicts the server: one scenario's day replayed through a real server
// (`nightshift serve` on a compressed clock, embedded PostgreSQL) by a headless fleet whose car i
// lives the simulator's car i's day, beside the simulator's own run of the same scenario, seed
// and start date. The same jobs arrive on both sides (the simulator's own arrival draws, from
// its onJob hook, submitted to the server at the same world instants through the tenant API).
// The server's figures are read from its database (ledger entries, verifications, leases) and,
// at the simulator's sample instants, from its fleet summary: both sides by the simulator's
// definitions. A benchmark, not a test: it prints the figures side by side and says which
// differ by more than 5%.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { runFleet } from "@nightshift/agent/fleet";
import { NodeRuntime } from "@nightshift/agent/runtime-node";
import { advance, createSimulatedTwin } from "@nightshift/agent/twin";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { hardwareById } from "@nightshift/core/hardware";
import { DEFAULT_SCHEDULE_CONFIG } from "@nightshift/core/schedule/config";
import { carSeed, drawCar, lifeRng } from "@nightshift/core/sim/car-life";
import { DEFAULT_SCENARIO, type Scenario } from "@nightshift/core/sim/scenario";
import { type SimJob, type SimResult, simulate } from "@nightshift/core/sim/simulate";
import { timeScale, type TimeScale } from "@nightshift/core/time-scale";
import { createDb, createPool } from "@nightshift/db/client";
import { models, regions } from "@nightshift/db/schema";
import { apiConfig } from "@nightshift/api/config";
import { modelRow } from "@nightshift/api/seed";
import { readShares } from "@nightshift/api/state";
import { parseDemo, spawnServe, tempDir } from "@nightshift/server-testkit/serve";
import { parseStartDate, simulationOffsets } from "@nightshift/time-zones/sim-offsets";
import { coarserTasks, PacedRuntime, replayManifest, writeModelFiles } from "./replay-world";

type Pool = ReturnType<typeof createPool>;
type Db = ReturnType<typeof createDb>;

export interface ReplaySize {
  cars: number;
  /** World hours replayed, from the start date's UTC midnight. */
  hours: number;
  seed: number;
  /** YYYY-MM-DD. */
  date: string;
  /** World seconds per wall second on the server and the fleet. */
  speedup: number;
  /** Each model's task this many times the scenario's (see coarserTasks). */
  taskScale: number;
  scenario?: Scenario;
}

/** Hundreds of cars, a day, in about eight minutes on a 2-core machine. */
export const REPLAY_FULL: ReplaySize = {
  cars: 200,
  hours: 24,
  seed: 7,
  date: "2025-01-15",
  speedup: 180,
  taskScale: 200,
};

/** A check that the harness works: 30 cars, three world hours. */
export const REPLAY_SMALL: ReplaySize = {
  cars: 30,
  hours: 3,
  seed: 7,
  date: "2025-01-15",
  speedup: 360,
  taskScale: 200,
};

/**
 * Wall seconds the world runs before the replayed day, while the server starts and the fleet
 * enrolls and first asks for work (the cars wait at their state of the day's start).
 */
const leadWallS = (cars: number) => 15 + cars * 0.1;

/** One figure on both sides. */
export interface Comparison {
  name: string;
  unit: string;
  simulator: number | null;
  server: number | null;
  /** (server − simulator) ÷ simulator; null when either is missing or the simulator's is 0. */
  relative: number | null;
  within5: boolean;
}

export interface ReplayResult {
  size: Omit<ReplaySize, "scenario"> & { scenario: string };
  wallS: number;
  figures: Comparison[];
  /** Counts behind the figures, for reading a gap. */
  counts: { simulator: Record<string, number>; server: Record<string, number> };
}

interface Sample {
  t: number;
  parked: number;
  busy: number;
  eligible: number;
  /** min(1, usage ÷ guaranteed) per tenant where guaranteed ≥ 1 car. */
  quota: Map<string, number>;
}

export async function replay(
  size: ReplaySize,
  log: (line: string) => void = () => {},
): Promise<ReplayResult> {
  const began = performance.now();
  const scenario = coarserTasks(size.scenario ?? DEFAULT_SCENARIO, size.taskScale);
  const startS = parseStartDate(size.date);
  const leadS = leadWallS(size.cars) * size.speedup;

  // The simulator first: its run gives the jobs the server will be sent.
  const jobs: SimJob[] = [];
  const sim = simulate({
    vehicles: size.cars,
    hours: size.hours,
    seed: size.seed,
    scenario,
    offsets: simulationOffsets(scenario.regions, startS, size.hours),
    onJob: (j) => jobs.push(j),
  });
  log(`simulator: ${jobs.length} jobs, ${jobs.reduce((a, j) => a + j.inferences, 0)} tasks`);

  const root = tempDir("nightshift-replay-");
  const modelsDir = join(root, "models");
  await writeModelFiles(scenario, modelsDir);
  const serve = await spawnServe(
    ["--port", "0", "--data", join(root, "data"), "--demo", "--print-database-url"],
    {
      env: {
        NIGHTSHIFT_SPEEDUP: String(size.speedup),
        NIGHTSHIFT_WORLD_START: new Date((startS - leadS) * 1000).toISOString(),
        NIGHTSHIFT_MODELS_DIR: modelsDir,
        // The simulator issues no canaries.
        NIGHTSHIFT_CANARY_RATE: "0",
        LOG_LEVEL: "warn",
      },
    },
  );
  const pool = createPool(serve.databaseUrl!);
  const runtime = new NodeRuntime({ intraOpThreads: 1, maxConcurrentRuns: 1 });
  try {
    const demo = parseDemo(serve.banner);
    const manifests = new Map(scenario.models.map((m) => [m.id, replayManifest(m)]));
    const db = createDb(pool);
    for (const m of manifests.values()) {
      const row = modelRow(m);
      await db.insert(models).values(row).onConflictDoUpdate({ target: models.id, set: row });
    }
    const session = await createNightshiftClient({ url: serve.url }).operator.auth.signIn.mutate({
      email: demo.email,
      password: demo.password,
    });
    const operator = createNightshiftClient({ url: serve.url, credential: session.token });
    // The scenario's tenants and quotas, through the operator API.
    for (const t of scenario.tenants) {
      await operator.operator.tenants.update.mutate({
        id: t.id,
        quotaShare: t.quotaShare,
        weight: t.weight,
        borrowingLimitShare: t.borrowingLimitShare,
        lendingLimitShare: t.lendingLimitShare,
      });
    }
    const tenantApi = new Map(
      scenario.tenants.map((t) => {
        const key = demo.tenantKeys.get(t.id);
        if (!key) throw new Error(`the demo made no key for tenant ${t.id}`);
        return [t.id, createNightshiftClient({ url: serve.url, credential: key })];
      }),
    );

    const world = await worldClock(createNightshiftClient({ url: serve.url }), size.speedup);
    const fleet = runFleet({
      server: serve.url,
      code: demo.enrollmentCode,
      cars: size.cars,
      seed: size.seed,
      scenario,
      speedup: size.speedup,
      startMs: world.nowS() * 1000,
      regions: scenario.regions.map((r) => ({ id: r.id, timeZone: r.timeZone })),
      // Car i as the simulator draws it at the day's start, waiting there through the lead.
      twin: (i, nowMs) => {
        const born = bornAt(scenario, size.seed, i, startS);
        return nowMs / 1000 >= startS
          ? advance(born, nowMs / 1000 - startS, 0)
          : { ...born, nowMs };
      },
      runtime,
      runtimeOf: (i, shared) =>
        new PacedRuntime(
          shared,
          hardwareById(drawCar(scenario, lifeRng(carSeed(size.seed, i), 0)).hardwareId),
          DEFAULT_SCHEDULE_CONFIG.sustainedTopsShare,
          size.speedup,
        ),
      manifest: (id) => manifests.get(id),
      // A world minute or two: the simulator offers queued work to idle cars every tick (5 min).
      idleMs: { min: 100, max: Math.max(200, (120 * 1000) / size.speedup) },
      tickMs: 200,
      heartbeatMs: Math.max(500, (5 * 60 * 1000) / size.speedup),
      maxLease: 16,
    });
    try {
      await waitUntil(() => fleet.loops.every((l) => l.decisions > 0) || world.nowS() >= startS);
      const readyS = world.nowS();
      log(`every car decided once ${Math.round(startS - readyS)} world s before the day began`);
      const endS = startS + size.hours * 3600;
      const submitted = submitJobs(jobs, startS, endS, world, tenantApi);
      const { samples, lateS } = await sampleServer(sim, startS, world, operator, db, log);
      log(`samples taken at most ${Math.round(lateS)} world s late`);
      await world.at(endS);
      const cutoff = new Date();
      const lag = await submitted;
      log(
        `jobs: ${lag.jobs} submitted, at most ${Math.round(lag.sentS)} world s late sent and ${Math.round(lag.acceptedS)} world s late accepted`,
      );
      const server = await serverTotals(pool, cutoff);
      const cars = fleet.summary();
      log(
        `fleet: leased ${cars.leased}, computed ${cars.computed}, acknowledged ${cars.acknowledged}, refused ${cars.refused}, dropped ${cars.dropped}, errors ${cars.errors}; idle answers ${JSON.stringify(cars.idle)}`,
      );
      return {
        size: { ...size, scenario: scenario.name },
        wallS: (performance.now() - began) / 1000,
        figures: compare(sim, samples, server, scenario),
        counts: {
          simulator: simCounts(sim),
          server: {
            ...server,
            samples: samples.length,
            sampleLateS: Math.round(lateS),
            submitLateSentS: Math.round(lag.sentS),
            submitLateAcceptedS: Math.round(lag.acceptedS),
          },
        },
      };
    } finally {
      await fleet.stop();
    }
  } finally {
    await runtime.dispose();
    await pool.end().catch(() => undefined);
    await serve.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

function bornAt(scenario: Scenario, seed: number, i: number, startS: number) {
  const own = carSeed(seed, i);
  const region = scenario.regions[drawCar(scenario, lifeRng(own, 0)).regionIndex]!;
  return createSimulatedTwin(startS * 1000, own, { scenario, timeZone: region.timeZone });
}

interface WorldClock {
  /** The server's time scale, as read from it. */
  scale: TimeScale;
  nowS(): number;
  /** Resolves once the world's clock reads `worldS`. */
  at(worldS: number): Promise<void>;
}

/** The server's world clock, read once and run on here (it runs at `speedup` from its origin). */
async function worldClock(anonymous: NightshiftClient, speedup: number): Promise<WorldClock> {
  const sentMs = Date.now();
  const { worldAt } = await anonymous.node.clock.query();
  const wall0Ms = (sentMs + Date.now()) / 2;
  const world0S = Date.parse(worldAt) / 1000;
  const nowS = () => world0S + ((Date.now() - wall0Ms) / 1000) * speedup;
  return {
    scale: timeScale(speedup, wall0Ms / 1000, world0S),
    nowS,
    async at(worldS) {
      for (let left = worldS - nowS(); left > 0; left = worldS - nowS())
        await new Promise((r) => setTimeout(r, Math.min(1000, (left * 1000) / speedup + 1)));
    },
  };
}

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 100));
}

/** How far behind the world the submitter fell, in world seconds (at most, over all jobs). */
interface SubmitLag {
  /** Arrival to the request's sending. */
  sentS: number;
  /** Arrival to the server's acknowledgement (the job's tasks are then open). */
  acceptedS: number;
  jobs: number;
}

/**
 * Each simulated job, submitted by its tenant at its world arrival; tiny-mlp inputs, one a task.
 * Every job's inputs are built ahead and its request is timed for its arrival's wall instant, not
 * after the previous job's acknowledgement: a submission of a few hundred tasks takes wall seconds
 * on a loaded machine, i.e. world hours at 100×, and one after another they fell hours behind.
 */
async function submitJobs(
  jobs: readonly SimJob[],
  startS: number,
  endS: number,
  world: WorldClock,
  tenants: ReadonlyMap<string, NightshiftClient>,
): Promise<SubmitLag> {
  const lag: SubmitLag = { sentS: 0, acceptedS: 0, jobs: 0 };
  const due = jobs
    .filter((job) => startS + job.arrivalS < endS)
    .map((job) => ({ job, arrivalS: startS + job.arrivalS, inputs: inputsOf(job) }));
  await Promise.all(
    due.map(async ({ job, arrivalS, inputs }) => {
      await world.at(arrivalS);
      lag.sentS = Math.max(lag.sentS, world.nowS() - arrivalS);
      // No deadline: the server ends a job at its deadline, the simulator only scores it.
      await tenants.get(job.tenantId)!.tenant.jobs.submit.mutate({
        modelId: job.modelId,
        inputs,
        priority: job.priority,
        replication: job.replication,
        idempotencyKey: job.id,
      });
      lag.acceptedS = Math.max(lag.acceptedS, world.nowS() - arrivalS);
      lag.jobs++;
    }),
  );
  return lag;
}

function inputsOf(job: SimJob) {
  const salt = Number(job.id.slice(job.id.lastIndexOf("-") + 1));
  return Array.from({ length: job.inferences }, (_, i) => ({
    x: {
      dims: [1, 16],
      data: Array.from({ length: 16 }, (_, j) => (((i + salt) * 31 + j * 7) % 17) / 8 - 1),
    },
  }));
}

/**
 * At each of the simulator's sample instants: the server's fleet summary (parked, eligible,
 * busy), and each tenant's cars at work against its guarantee in the server's own shares (api's
 * readShares on the server's clock: what its lease path and reclaiming decide on).
 */
async function sampleServer(
  sim: SimResult,
  startS: number,
  world: WorldClock,
  operator: NightshiftClient,
  db: Db,
  log: (line: string) => void,
): Promise<{ samples: Sample[]; lateS: number }> {
  const config = apiConfig({ timeScale: world.scale });
  const regionRows = new Map((await db.select().from(regions)).map((r) => [r.id, r]));
  const out: Sample[] = [];
  let lateS = 0;
  for (const s of sim.series) {
    await world.at(startS + s.t);
    lateS = Math.max(lateS, world.nowS() - (startS + s.t));
    const [summary, shares] = await Promise.all([
      operator.operator.fleet.summary.query(),
      readShares(db, new Date(), regionRows, config),
    ]);
    const { usage, entitlements } = shares.snapshot;
    const quota = new Map<string, number>();
    for (const [id, e] of entitlements)
      if (e.guaranteed >= 1) quota.set(id, Math.min(1, (usage.get(id) ?? 0) / e.guaranteed));
    out.push({
      t: s.t,
      parked: summary.cars.byState.parked + summary.cars.byState.charging,
      busy: summary.busyCars,
      eligible: summary.eligible + summary.busyCars - summary.busyEligible,
      quota,
    });
    if (process.env.REPLAY_TRACE || s.t % (3 * 3600) === 0)
      log(
        `world +${s.t / 3600} h: parked ${out.at(-1)!.parked}/${s.parked}, busy ${summary.busyCars}/${s.runningTasks}, eligible ${out.at(-1)!.eligible}/${s.eligible}, cars' worth waiting ${[...shares.waiting.values()].join("+") || 0}/${s.queued} queued items (server/simulator)`,
      );
  }
  return { samples: out, lateS };
}

interface ServerTotals {
  energyKWh: number;
  costUsd: number;
  carbonG: number;
  results: number;
  tasksValidated: number;
  leases: number;
  leasesCutByDepartures: number;
  runsCutByDepartures: number;
  leasesExpired: number;
  leasesPreempted: number;
  runsPreempted: number;
  jobs: number;
}

/** The server's day from its database, up to the wall instant the world's day ended. */
async function serverTotals(pool: Pool, cutoff: Date): Promise<ServerTotals> {
  const { rows } = await pool.query<ServerTotals>(
    `SELECT (SELECT coalesce(sum(energy_k_wh), 0) FROM ledger_entries WHERE created_at <= $1)::float8 AS "energyKWh",
            (SELECT coalesce(sum(cost_usd), 0) FROM ledger_entries WHERE created_at <= $1)::float8 AS "costUsd",
            (SELECT coalesce(sum(carbon_g), 0) FROM ledger_entries WHERE created_at <= $1)::float8 AS "carbonG",
            (SELECT count(*) FROM ledger_entries WHERE created_at <= $1)::int AS results,
            (SELECT count(*) FROM verifications WHERE status = 'valid' AND decided_at <= $1)::int AS "tasksValidated",
            (SELECT count(*) FROM leases WHERE leased_at <= $1)::int AS leases,
            (SELECT count(*) FROM leases WHERE status = 'released' AND ended_at <= $1)::int AS "leasesCutByDepartures",
            -- A car that drives off hands back all it holds at once: one run cut short.
            (SELECT count(*) FROM (SELECT DISTINCT car_id, ended_at FROM leases
                                    WHERE status = 'released' AND ended_at <= $1) r)::int AS "runsCutByDepartures",
            (SELECT count(*) FROM leases WHERE status = 'expired' AND ended_at <= $1)::int AS "leasesExpired",
            (SELECT count(*) FROM leases WHERE status = 'preempted' AND ended_at <= $1)::int AS "leasesPreempted",
            -- Reclaiming ends all a car holds for one tenant at once: one run preempted.
            (SELECT count(*) FROM (SELECT DISTINCT l.car_id, wu.tenant_id, l.ended_at FROM leases l
                                     JOIN work_units wu ON wu.id = l.work_unit_id
                                    WHERE l.status = 'preempted' AND l.ended_at <= $1) p)::int AS "runsPreempted",
            (SELECT count(*) FROM jobs WHERE submitted_at <= $1)::int AS jobs`,
    [cutoff],
  );
  return rows[0]!;
}

function simCounts(sim: SimResult): Record<string, number> {
  const s = sim.summary;
  return {
    energyKWh: s.energyKWh,
    costUsd: s.costUsd,
    carbonKg: s.carbonKg,
    tasksCompleted: s.tasksCompleted,
    replicaTasks: s.verification.replicaTasks,
    runs: s.runs,
    tasksLostToDepartures: s.tasksLostToDepartures,
    tasksPreempted: s.tasksPreempted,
    departures: s.departures,
  };
}

function compare(
  sim: SimResult,
  samples: readonly Sample[],
  server: ServerTotals,
  scenario: Scenario,
): Comparison[] {
  const s = sim.summary;
  const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
  const out: Comparison[] = [];
  const add = (name: string, unit: string, simulator: number | null, srv: number | null) => {
    const relative =
      simulator === null || srv === null || simulator === 0 ? null : (srv - simulator) / simulator;
    out.push({
      name,
      unit,
      simulator,
      server: srv,
      relative,
      within5: relative !== null && Math.abs(relative) <= 0.05,
    });
  };
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  const series = sim.series.slice(0, samples.length);
  add(
    "parked share",
    "of cars",
    ratio(
      sum(series, (x) => x.parked),
      series.length * s.vehicles,
    ),
    ratio(
      sum(samples, (x) => x.parked),
      samples.length * s.vehicles,
    ),
  );
  add(
    "eligible share",
    "of cars",
    ratio(
      sum(series, (x) => x.eligible),
      series.length * s.vehicles,
    ),
    ratio(
      sum(samples, (x) => x.eligible),
      samples.length * s.vehicles,
    ),
  );
  // The simulator's busy cars: those with a run, of the parked ones, at each sample.
  add(
    "utilization",
    "busy ÷ parked car-hours",
    ratio(
      sum(series, (x) => x.runningTasks),
      sum(series, (x) => x.parked),
    ),
    ratio(
      sum(samples, (x) => x.busy),
      sum(samples, (x) => x.parked),
    ),
  );
  add("tasks validated", "tasks", s.tasksCompleted, server.tasksValidated);
  // Verification's overhead: every result computed (replicas, and on the simulator's side the
  // part of a run cut short), per task validated.
  add(
    "executions per task",
    "results ÷ tasks validated",
    ratio(s.tasksCompleted + s.verification.replicaTasks, s.tasksCompleted),
    ratio(server.results, server.tasksValidated),
  );
  add("energy", "kWh", s.energyKWh, server.energyKWh);
  add("cost per kWh", "USD/kWh", s.costUsdPerKWh, ratio(server.costUsd, server.energyKWh));
  add(
    "cost per task",
    "USD/1000 tasks",
    s.costUsdPerMillionTasks === null ? null : s.costUsdPerMillionTasks / 1000,
    ratio(server.costUsd * 1000, server.tasksValidated),
  );
  add(
    "carbon per kWh",
    "g/kWh",
    ratio(s.carbonKg * 1000, s.energyKWh),
    ratio(server.carbonG, server.energyKWh),
  );
  add(
    "carbon per task",
    "g/task",
    ratio(s.carbonKg * 1000, s.tasksCompleted),
    ratio(server.carbonG, server.tasksValidated),
  );
  for (const t of scenario.tenants) {
    const q = samples.flatMap((x) => (x.quota.has(t.id) ? [x.quota.get(t.id)!] : []));
    add(
      `quota attainment ${t.id}`,
      "time-averaged min(1, usage ÷ guaranteed)",
      s.tenants.find((x) => x.id === t.id)?.quotaAttainment ?? null,
      q.length > 0 ? sum(q, (x) => x) / q.length : null,
    );
  }
  add("runs cut short by departures", "runs", s.tasksLostToDepartures, server.runsCutByDepartures);
  add("runs preempted", "runs", s.tasksPreempted, server.runsPreempted);
  return out;
}

export function formatReplay(r: ReplayResult): string {
  const width = Math.max(...r.figures.map((f) => f.name.length));
  const num = (x: number | null) => (x === null ? "—" : Number(x.toPrecision(4)).toString());
  const lines = r.figures.map(
    (f) =>
      `  ${f.name.padEnd(width)}  ${num(f.simulator).padStart(10)}  ${num(f.server).padStart(10)}  ${
        f.relative === null ? "     —" : `${(f.relative * 100).toFixed(1).padStart(6)}%`
      }${f.within5 ? "" : "  outside 5%"}  ${f.unit}`,
  );
  const { size } = r;
  return [
    `replay: ${size.cars} cars, ${size.hours} world hours from ${size.date}, seed ${size.seed}, ` +
      `${size.speedup}× (${r.wallS.toFixed(0)} s wall), tasks ×${size.taskScale}`,
    `  ${"figure".padEnd(width)}  ${"simulator".padStart(10)}  ${"server".padStart(10)}  ${"diff".padStart(7)}`,
    ...lines,
    `  counts: simulator ${JSON.stringify(r.counts.simulator)}`,
    `          server ${JSON.stringify(r.counts.server)}`,
  ].join("\n");
}
