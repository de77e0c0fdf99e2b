// For tests: light headless cars over real HTTP, for tests that need hundreds of cars without
// the agent. Each enrolls, heartbeats, leases, computes tiny-mlp in JavaScript and submits;
// where a test asks, it drives off holding its leases, lies about its answers, or fails over
// between server instances. What the cars saw (leases, acknowledged submits, departures,
// retries) is kept in a FleetLog for the checks against the database afterwards.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { runTiny, tinyInput } from "@nightshift/api/seed";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { apiErrorCode, isApiError } from "@nightshift/client/errors";
import type { createPool } from "@nightshift/db/client";
import { DEMO_CODE, DRIVING, PARKED } from "./testing";

type Pool = ReturnType<typeof createPool>;

/** A tiny-mlp input per row. */
export function tinyInputs(rows: readonly (readonly number[])[]) {
  return rows.map((x) => tinyInput(x));
}

/** The numbers of a tiny-mlp input. */
export function xOf(input: unknown): number[] {
  return (input as { x: { data: number[] } }).x.data;
}

// ---- randomness: seeded, so a run's cars make the same choices for the same seed ----

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

/** mulberry32: small, fast and good enough to spread cars' choices. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

// ---- answers: the truth, or a lie ----

/** What a car hands back for an input. */
export type Answer = (x: readonly number[], random: Rng) => number[];

export const honest: Answer = (x) => runTiny(x);
/**
 * A lie: each value off by 5–15% of itself, plus 1. Far outside any tolerance a model allows
 * (tiny-mlp's is 1e-3 absolute plus 1e-3 relative): a smaller change would be an answer within
 * tolerance, and accepting it would be right.
 */
const lie = (x: readonly number[], random: Rng) =>
  runTiny(x).map((v) => v * (1.05 + 0.1 * random.next()) + 1);

/** Wrong on a random share of tasks. */
export const perturbing =
  (share: number): Answer =>
  (x, random) =>
    random.next() < share ? lie(x, random) : runTiny(x);
/**
 * Honest until it has answered `after` tasks (time enough to be trusted and run work alone),
 * wrong ever after. One per car: it counts.
 */
export const sleeping = (after: number): Answer => {
  let answered = 0;
  return (x, random) => (answered++ < after ? runTiny(x) : lie(x, random));
};
/** Always the same wrong answer for the same input, so colluders agree with each other. */
export const colluding: Answer = (x) => runTiny(x).map((v) => v * 2 + 1);

// ---- cars ----

export interface FleetCar {
  index: number;
  carId: string;
  ownerId: string;
  /** One client per server instance, with its URL; `at` is the one in use. */
  clients: NightshiftClient[];
  urls: string[];
  at: number;
  /** The instance each round starts at: back to it once it is up again. */
  home: number;
  answer: Answer;
  random: Rng;
}

/** How every car of a fleet behaves. */
export interface CarBehaviour {
  /** Tasks asked for per lease call. */
  leaseMax: number;
  /** Heartbeat when the last one is older than this, ms. */
  heartbeatEveryMs: number;
  /** Wait after an empty lease call, ms (±50%). */
  idleMs: number;
  /** The chance that a car drives off while holding the tasks of a lease call. */
  departChance: number;
  /** How long a departed car stays away, ms. */
  awayMs: readonly [number, number];
  /** Also retry internal errors (the database is away): only where the test causes them. */
  retryServerErrors: boolean;
}

/**
 * Parked cars that stay. A parked car heartbeats every couple of seconds, as the agent does
 * (every 5 s): the server ends the leases of a car silent past its heartbeat timeout (90 s).
 */
export const STEADY: CarBehaviour = {
  leaseMax: 4,
  heartbeatEveryMs: 2000,
  idleMs: 300,
  departChance: 0,
  awayMs: [200, 1000],
  retryServerErrors: false,
};

/** What one car does besides its behaviour, where a test stages it. */
export interface CarScript {
  /** The car's first call waits for this. */
  startAfter?: Promise<unknown>;
  /** The car drives off while holding the leases of this (1-based) lease call with tasks. */
  departAt?: number;
  /** How it hands its leases back; by chance, half each, when not given. */
  departBy?: "driving" | "release";
  /** Runs once the car holds the leases it will walk away from, before it departs. */
  beforeDeparting?: () => Promise<void>;
}

/** What the cars saw, for the checks afterwards. */
export class FleetLog {
  /** Leases the cars were given, with when the answer arrived and when their end was asked. */
  readonly leases = new Map<string, { receivedAt: number; endSentAt?: number }>();
  /** Submits the servers acknowledged (accepted), by lease, with when and whether on a retry. */
  readonly acked = new Map<string, { at: number; duplicate: boolean }>();
  /** Submits refused, with the server's reason. */
  readonly refused: { leaseId: string; reason: string | null }[] = [];
  /**
   * Leases a car walked away from, how many the server said it ended, and the late submit of
   * one of them (null when the car tried none): each accepted one is a defect.
   */
  readonly departures: {
    carId: string;
    how: "driving" | "release";
    leaseIds: string[];
    released: number;
    late: { accepted: boolean; reason: string | null } | null;
  }[] = [];
  /** Lease calls that brought nothing, by the server's reason. */
  readonly emptyLeases = new Map<string, number>();
  /** Lease calls answered, and those that brought tasks, by the instance (URL) that answered. */
  readonly leaseCalls = new Map<string, { answered: number; withTasks: number }>();
  /** Call errors by code ("NETWORK": no answer), retried or not. */
  readonly errors = new Map<string, number>();
  /** Calls retried (after a failure without an answer, or a refusal to serve). */
  retries = 0;
  /** Calls moved to another instance. */
  failovers = 0;
  /**
   * Lease calls without an answer, retried with the same requestId: the retry gets back what
   * the first attempt leased, if it got that far.
   */
  unansweredLeaseCalls = 0;
}

/** Longest a call may go without an answer from any instance before the car (and test) fail. */
const CALL_DEADLINE_MS = 60_000;

/**
 * A failure worth another try, on another instance: no answer at all (refused connection, cut
 * connection, a process gone), or a server that says it is going away or busy. Anything else
 * (a refusal, an internal error) is the test's business, unless it asked to retry internal
 * errors.
 */
function retryable(error: unknown, serverErrors: boolean): boolean {
  if (!isApiError(error)) return false;
  const code = apiErrorCode(error);
  if (code === null || code === "SERVICE_UNAVAILABLE" || code === "TOO_MANY_REQUESTS") return true;
  return serverErrors && code === "INTERNAL_SERVER_ERROR";
}

/**
 * Calls `fn` on the car's current instance; when that fails retryably, moves to the next one
 * (not for "too many requests": that is this car's own limit) and tries again after a growing,
 * jittered pause. `onLostAnswer` runs before a retry after a failure without an answer: the
 * call may have been carried out.
 */
async function call<T>(
  car: FleetCar,
  log: FleetLog,
  b: CarBehaviour,
  fn: (client: NightshiftClient) => Promise<T>,
  onLostAnswer?: () => Promise<void>,
): Promise<T> {
  const deadline = performance.now() + CALL_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(car.clients[car.at]!);
    } catch (error) {
      const code = apiErrorCode(error) ?? "NETWORK";
      log.errors.set(code, (log.errors.get(code) ?? 0) + 1);
      if (!retryable(error, b.retryServerErrors) || performance.now() > deadline) throw error;
      log.retries += 1;
      if (code !== "TOO_MANY_REQUESTS" && car.clients.length > 1) {
        car.at = (car.at + 1) % car.clients.length;
        log.failovers += 1;
      }
      await sleep(Math.min(25 * 2 ** attempt, 500) * (0.5 + car.random.next()));
      if (code === "NETWORK" && onLostAnswer) await onLostAnswer();
    }
  }
}

/** One enrollment; past the anonymous rate limit it waits and tries again, as a car would. */
async function enrollOnce(client: NightshiftClient) {
  const deadline = performance.now() + CALL_DEADLINE_MS;
  for (;;) {
    try {
      return await client.node.enroll.mutate({ code: DEMO_CODE });
    } catch (error) {
      if (apiErrorCode(error) !== "TOO_MANY_REQUESTS" || performance.now() > deadline) throw error;
      await sleep(200 + 300 * Math.random());
    }
  }
}

/**
 * Enrolls `count` cars with the demo code, car i at instance i mod urls, 20 at a time (the
 * anonymous rate limit is per instance and client address: 200 at once, then 50/s; past it
 * they wait). Each car answers honestly unless `answer` says otherwise, and draws its chances
 * from its own generator, seeded by `seed` and its index.
 */
export async function enrollCars(
  urls: readonly string[],
  count: number,
  opts: { seed?: number; answer?: (index: number) => Answer } = {},
): Promise<FleetCar[]> {
  const seed = opts.seed ?? 0;
  const anonymous = urls.map((url) => createNightshiftClient({ url }));
  const cars: FleetCar[] = [];
  for (let from = 0; from < count; from += 20) {
    const batch = Array.from({ length: Math.min(20, count - from) }, (_, k) => from + k);
    cars.push(
      ...(await Promise.all(
        batch.map(async (index) => {
          const home = index % urls.length;
          const out = await enrollOnce(anonymous[home]!);
          return {
            index,
            carId: out.carId,
            ownerId: out.ownerId,
            clients: urls.map((url) => createNightshiftClient({ url, credential: out.credential })),
            urls: [...urls],
            at: home,
            home,
            answer: opts.answer?.(index) ?? honest,
            random: rng(seed * 100_003 + index),
          };
        }),
      )),
    );
  }
  return cars;
}

/**
 * One car until `stop`: heartbeat (parked, plugged in) → lease → compute → submit. A car that
 * departs (its script says so, or by chance) hands its leases back with a "driving" heartbeat
 * or node.release, tries to submit one of them late (a scripted departure always, else half the
 * time: a run that finished just as it left), stays away, and parks again at a random instance.
 */
async function runCar(
  car: FleetCar,
  o: CarScript & { behaviour: CarBehaviour; log: FleetLog; stop: () => boolean },
): Promise<void> {
  const { log, behaviour: b } = o;
  let lastBeat = -Infinity;
  let leaseCallsWithTasks = 0;
  const unanswered = async () => {
    log.unansweredLeaseCalls += 1;
  };
  await o.startAfter;
  while (!o.stop()) {
    car.at = car.home;
    if (performance.now() - lastBeat > b.heartbeatEveryMs) {
      await call(car, log, b, (c) => c.node.heartbeat.mutate(PARKED));
      lastBeat = performance.now();
    }
    // One requestId per lease attempt, the same on each retry of it: a retry whose first
    // answer was lost (its instance killed after COMMIT) gets those leases back.
    const requestId = randomUUID();
    const { tasks, reason } = await call(
      car,
      log,
      b,
      (c) => c.node.lease.mutate({ max: b.leaseMax, requestId }),
      unanswered,
    );
    const url = car.urls[car.at]!;
    const by = log.leaseCalls.get(url) ?? { answered: 0, withTasks: 0 };
    log.leaseCalls.set(url, {
      answered: by.answered + 1,
      withTasks: by.withTasks + (tasks.length > 0 ? 1 : 0),
    });
    const receivedAt = performance.now();
    for (const t of tasks) log.leases.set(t.leaseId, { receivedAt });
    if (tasks.length === 0) {
      const why = reason ?? "none";
      log.emptyLeases.set(why, (log.emptyLeases.get(why) ?? 0) + 1);
      await sleep(b.idleMs * (0.5 + car.random.next()));
      continue;
    }
    leaseCallsWithTasks += 1;
    const outputs = tasks.map((t) => car.answer(xOf(t.input), car.random));
    const endSentAt = () => {
      const at = performance.now();
      for (const t of tasks) log.leases.get(t.leaseId)!.endSentAt = at;
    };

    const scripted = leaseCallsWithTasks === o.departAt;
    if (scripted || (b.departChance > 0 && car.random.next() < b.departChance)) {
      if (scripted) await o.beforeDeparting?.();
      const how = o.departBy ?? (car.random.next() < 0.5 ? "driving" : "release");
      endSentAt();
      const { released } = await call(car, log, b, (c) =>
        how === "driving" ? c.node.heartbeat.mutate(DRIVING) : c.node.release.mutate(),
      );
      const late =
        scripted || car.random.next() < 0.5
          ? await call(car, log, b, (c) =>
              c.node.submit.mutate({
                leaseId: tasks[0]!.leaseId,
                output: outputs[0]!,
                durationMs: 5,
                backend: "native",
              }),
            )
          : null;
      log.departures.push({
        carId: car.carId,
        how,
        leaseIds: tasks.map((t) => t.leaseId),
        released,
        late: late && { accepted: late.accepted, reason: late.reason },
      });
      const [lo, hi] = b.awayMs;
      await sleep(lo + (hi - lo) * car.random.next());
      car.home = Math.floor(car.random.next() * car.clients.length);
      lastBeat = -Infinity;
      continue;
    }

    endSentAt();
    // All of a lease call's results in one call and one transaction, as the agent sends them.
    const { results } = await call(car, log, b, (c) =>
      c.node.submitMany.mutate({
        results: tasks.map((t, i) => ({
          leaseId: t.leaseId,
          output: outputs[i]!,
          durationMs: 5,
          backend: "native" as const,
        })),
      }),
    );
    const at = performance.now();
    for (const r of results) {
      if (r.accepted) log.acked.set(r.leaseId, { at, duplicate: r.duplicate });
      else log.refused.push({ leaseId: r.leaseId, reason: r.reason });
    }
  }
}

/**
 * Samples the leases table until `stop`: any moment at which one work unit has two active
 * leases is recorded. Each sample is one statement, so one consistent snapshot.
 */
async function sampleActiveLeases(
  pool: Pool,
  stop: () => boolean,
): Promise<{ samples: number; doubled: { work_unit_id: number; n: number }[] }> {
  const doubled: { work_unit_id: number; n: number }[] = [];
  let samples = 0;
  while (!stop()) {
    const { rows } = await pool.query<{ work_unit_id: number; n: number }>(
      `SELECT work_unit_id, count(*)::int AS n FROM leases WHERE status = 'active'
        GROUP BY work_unit_id HAVING count(*) > 1`,
    );
    doubled.push(...rows);
    samples += 1;
    await sleep(150);
  }
  return { samples, doubled };
}

export interface FleetRun<T> {
  /** What `drive` returned. */
  value: T;
  ms: number;
  /** Snapshots of the leases table taken (0 without `sampleLeasesOf`). */
  samples: number;
  /** Work units seen with two active leases at once. */
  doubled: { work_unit_id: number; n: number }[];
}

/**
 * Runs the cars while `drive` does what the test does to them (waits for jobs, stops a server,
 * …); when it returns, the cars stop. With `sampleLeasesOf`, the leases table is sampled all the
 * while for units held twice. The first failure, a car's or the sampler's before the driver's,
 * stops everything and is thrown once everything has stopped.
 */
export async function withFleet<T>(
  cars: readonly FleetCar[],
  o: {
    log: FleetLog;
    /** STEADY when not given. */
    behaviour?: CarBehaviour;
    script?: (car: FleetCar) => CarScript;
    sampleLeasesOf?: Pool;
  },
  drive: (stopped: () => boolean) => Promise<T>,
): Promise<FleetRun<T>> {
  let done = false;
  const stopped = () => done;
  const stop = () => (done = true);
  const startedAt = performance.now();
  const behaviour = o.behaviour ?? STEADY;
  const working = Promise.all(
    cars.map((car) => runCar(car, { ...o.script?.(car), behaviour, log: o.log, stop: stopped })),
  );
  const sampling = o.sampleLeasesOf
    ? sampleActiveLeases(o.sampleLeasesOf, stopped)
    : Promise.resolve({ samples: 0, doubled: [] });
  working.catch(stop);
  sampling.catch(stop);
  const driving = drive(stopped).finally(stop);
  const [d, w, s] = await Promise.allSettled([driving, working, sampling]);
  for (const r of [w, s, d]) if (r.status === "rejected") throw r.reason;
  return {
    value: (d as PromiseFulfilledResult<T>).value,
    ms: Math.round(performance.now() - startedAt),
    ...(s as PromiseFulfilledResult<Awaited<typeof sampling>>).value,
  };
}

/**
 * Polls the jobs until none is queued or running, the deadline, or `stopped`. All must be
 * finished in one poll: a finished job runs again when a car caught cheating has its unchecked
 * answers withdrawn. A poll that gets no answer (its instance or the database away) counts as
 * not finished. Returns whether all finished, and each job's completedAt as first seen, to
 * compare with what it says later.
 */
export async function waitForJobs(
  tenant: NightshiftClient,
  jobIds: readonly string[],
  deadlineMs: number,
  stopped: () => boolean = () => false,
): Promise<{ finished: boolean; completedAt: Map<string, string | null> }> {
  const until = performance.now() + deadlineMs;
  const completedAt = new Map<string, string | null>();
  while (performance.now() < until && !stopped()) {
    const jobs = await Promise.all(
      jobIds.map((jobId) => tenant.tenant.jobs.get.query({ jobId }).catch(() => null)),
    );
    let finished = 0;
    for (const j of jobs) {
      if (!j || j.status === "queued" || j.status === "running") continue;
      finished += 1;
      if (!completedAt.has(j.id)) completedAt.set(j.id, j.completedAt);
    }
    if (finished === jobIds.length) return { finished: true, completedAt };
    await sleep(250);
  }
  return { finished: false, completedAt };
}
