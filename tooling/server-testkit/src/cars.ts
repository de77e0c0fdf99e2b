// For tests: light headless cars over real HTTP, for tests that need hundreds of cars without
// the agent. Each enrolls, heartbeats, leases, computes tiny-mlp in JavaScript and submits;
// where a test asks, it drives off holding its leases, lies about its answers, or fails over
// between server instances. What the cars saw (leases, acknowledged submits, departures,
// retries) is kept in a FleetLog for the checks against the database afterwards.
//
// Nothing here decides by the clock: a test waits for what the cars report (FleetLog.until) or
// for the jobs to finish (waitForJobs), and gives up only when nothing has progressed for
// STALL_MS, so a slow or busy machine makes a run slower, never a failure.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { runTiny, tinyInput } from "@nightshift/api/seed";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { apiErrorCode, isApiError } from "@nightshift/client/errors";
import type { createPool } from "@nightshift/db/client";
import { DRIVING, PARKED, STALL_MS } from "./serve";

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

// ---- progress ----

/**
 * Thrown where a car (or a wait) cannot go on because its fleet stopped: the car just leaves,
 * and withFleet reports the failure that stopped the fleet, not this.
 */
class FleetStopped extends Error {}

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

  /** When a call was last answered (performance.now()): the fleet's progress, for until(). */
  private lastAnsweredAt = performance.now();
  private readonly waiters = new Set<() => void>();
  private fleetRunning = false;

  /** The cars report a call answered (and what it changed in the log): progress. */
  answered(): void {
    this.lastAnsweredAt = performance.now();
    this.wake();
  }

  /** The cars report something that is not progress (an error, a retry). */
  wake(): void {
    for (const check of [...this.waiters]) check();
  }

  /** withFleet says when its cars run, so that until() does not wait for a fleet gone. */
  running(on: boolean): void {
    this.fleetRunning = on;
    if (on) this.lastAnsweredAt = performance.now();
    this.wake();
  }

  /**
   * Resolves once `ok()` holds, checked each time the cars report something. Rejects when the
   * fleet stops first, or when no call has been answered for STALL_MS (a hang: the cars
   * stopped getting answers, so nothing they report can change).
   */
  until(ok: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = () => {
        if (ok()) {
          done();
          resolve();
        } else if (!this.fleetRunning) {
          done();
          reject(new FleetStopped(`the fleet stopped before ${what}`));
        } else if (timer === undefined) {
          arm();
        }
      };
      // Wakes when the fleet could have been silent for STALL_MS; if it was not, sleeps again.
      const arm = () => {
        const left = this.lastAnsweredAt + STALL_MS - performance.now();
        timer = setTimeout(
          () => {
            if (performance.now() - this.lastAnsweredAt >= STALL_MS) {
              done();
              reject(
                new Error(`no call answered for ${STALL_MS / 1000} s while waiting for ${what}`),
              );
            } else arm();
          },
          Math.max(0, left),
        );
      };
      this.waiters.add(check);
      check();
    });
  }
}

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

/** What a car's calls need besides the call: its log, behaviour and whether its fleet failed. */
interface CallContext {
  log: FleetLog;
  behaviour: CarBehaviour;
  /** True once the fleet stopped on a failure: retrying is pointless, the test has failed. */
  failed: () => boolean;
}

/** What a car knows of its fleet's end. */
interface FleetEnd {
  /** True once the fleet was told to stop (its work done, or a failure). */
  stop: () => boolean;
  /** Resolves then: what a waiting car races against, so that no wait outlives the fleet. */
  stopping: Promise<void>;
}

/**
 * Calls `fn` on the car's current instance; when that fails retryably, moves to the next one
 * (not for "too many requests": that is this car's own limit) and tries again after a growing,
 * jittered pause, for as long as some instance may answer: it gives up when the fleet failed, or
 * when no instance has answered it for STALL_MS (a hang guard, not a time budget: a server that
 * restarts slowly is waited for). `onLostAnswer` runs before a retry after a failure without an
 * answer: the call may have been carried out.
 */
async function call<T>(
  car: FleetCar,
  c: CallContext,
  fn: (client: NightshiftClient) => Promise<T>,
  onLostAnswer?: () => Promise<void>,
): Promise<T> {
  const { log, behaviour: b } = c;
  const giveUpAt = performance.now() + STALL_MS;
  for (let attempt = 0; ; attempt++) {
    if (c.failed()) throw new FleetStopped();
    try {
      const answer = await fn(car.clients[car.at]!);
      log.answered();
      return answer;
    } catch (error) {
      const code = apiErrorCode(error) ?? "NETWORK";
      log.errors.set(code, (log.errors.get(code) ?? 0) + 1);
      log.wake();
      if (!retryable(error, b.retryServerErrors) || performance.now() > giveUpAt) throw error;
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

/**
 * One enrollment; past the anonymous rate limit it waits and tries again, as a car would, for as
 * long as the limit refills (STALL_MS without one enrollment going through is a hang).
 */
async function enrollOnce(client: NightshiftClient, code: string) {
  const giveUpAt = performance.now() + STALL_MS;
  for (;;) {
    try {
      return await client.node.enroll.mutate({ code });
    } catch (error) {
      if (apiErrorCode(error) !== "TOO_MANY_REQUESTS" || performance.now() > giveUpAt) throw error;
      await sleep(200 + 300 * Math.random());
    }
  }
}

/**
 * Enrolls `count` cars with `code`, car i at instance i mod urls, 20 at a time (the anonymous
 * rate limit is per instance and client address: 200 at once, then 50/s; past it they wait).
 * Replicas count as independent only on owners someone vouched for: a fleet that validates its
 * own work enrolls with a demo's fleet code (parseDemo's enrollmentCode), not the public one.
 * Each car answers honestly unless `answer` says otherwise, and draws its chances from its own
 * generator, seeded by `seed` and its index.
 */
export async function enrollCars(
  urls: readonly string[],
  count: number,
  opts: { code: string; seed?: number; answer?: (index: number) => Answer },
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
          const out = await enrollOnce(anonymous[home]!, opts.code);
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
 * Waits for `until` while the car heartbeats every `heartbeatEveryMs`, as a parked car does:
 * a car holding leases while it waits must not go silent past the server's heartbeat timeout,
 * however long the wait. The pause only paces the heartbeats; the wait ends with `until`.
 */
async function beatingUntil(
  car: FleetCar,
  c: CallContext & FleetEnd,
  until: Promise<unknown>,
): Promise<void> {
  let over = false;
  const waited = until.finally(() => (over = true));
  for (;;) {
    await Promise.race([waited, c.stopping, sleep(c.behaviour.heartbeatEveryMs)]);
    if (over) return waited.then(() => undefined);
    if (c.stop()) throw new FleetStopped();
    await call(car, c, (client) => client.node.heartbeat.mutate(PARKED));
  }
}

/**
 * One car until `stop`: heartbeat (parked, plugged in) → lease → compute → submit. A car that
 * departs (its script says so, or by chance) hands its leases back with a "driving" heartbeat
 * or node.release, tries to submit one of them late (a scripted departure always, else half the
 * time: a run that finished just as it left), stays away, and parks again at a random instance.
 * `afterLeased` runs after each lease call that brought tasks, before the car works on them.
 */
async function runCar(
  car: FleetCar,
  o: CarScript & CallContext & FleetEnd & { afterLeased: () => Promise<void> | undefined },
): Promise<void> {
  const { log, behaviour: b } = o;
  let lastBeat = -Infinity;
  let leaseCallsWithTasks = 0;
  const unanswered = async () => {
    log.unansweredLeaseCalls += 1;
  };
  await Promise.race([o.startAfter, o.stopping]);
  while (!o.stop()) {
    car.at = car.home;
    if (performance.now() - lastBeat > b.heartbeatEveryMs) {
      await call(car, o, (c) => c.node.heartbeat.mutate(PARKED));
      lastBeat = performance.now();
    }
    // One requestId per lease attempt, the same on each retry of it: a retry whose first
    // answer was lost (its instance killed after COMMIT) gets those leases back.
    const requestId = randomUUID();
    const { tasks, reason } = await call(
      car,
      o,
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
      log.answered();
      await sleep(b.idleMs * (0.5 + car.random.next()));
      continue;
    }
    log.answered();
    await o.afterLeased();
    leaseCallsWithTasks += 1;
    const outputs = tasks.map((t) => car.answer(xOf(t.input), car.random));
    const endSentAt = () => {
      const at = performance.now();
      for (const t of tasks) log.leases.get(t.leaseId)!.endSentAt = at;
    };

    const scripted = leaseCallsWithTasks === o.departAt;
    if (scripted || (b.departChance > 0 && car.random.next() < b.departChance)) {
      if (scripted && o.beforeDeparting) await beatingUntil(car, o, o.beforeDeparting());
      const how = o.departBy ?? (car.random.next() < 0.5 ? "driving" : "release");
      endSentAt();
      const { released } = await call(car, o, (c) =>
        how === "driving" ? c.node.heartbeat.mutate(DRIVING) : c.node.release.mutate(),
      );
      const late =
        scripted || car.random.next() < 0.5
          ? await call(car, o, (c) =>
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
      log.answered();
      const [lo, hi] = b.awayMs;
      await sleep(lo + (hi - lo) * car.random.next());
      car.home = Math.floor(car.random.next() * car.clients.length);
      lastBeat = -Infinity;
      continue;
    }

    endSentAt();
    // All of a lease call's results in one call and one transaction, as the agent sends them.
    const { results } = await call(car, o, (c) =>
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
    log.answered();
  }
}

/**
 * Snapshots of the leases table, taken by the work rather than the clock: one after every lease
 * call that brought tasks, while the car that made it waits (the moment a unit held twice would
 * show: both holders' leases still active). Any moment at which one work unit has two active
 * leases is recorded. Each snapshot is one statement, so one consistent view; their number is
 * the number of such lease calls, on any machine.
 */
class LeaseSampler {
  samples = 0;
  readonly doubled: { work_unit_id: number; n: number }[] = [];
  constructor(private readonly pool: Pool) {}

  async snapshot(): Promise<void> {
    const { rows } = await this.pool.query<{ work_unit_id: number; n: number }>(
      `SELECT work_unit_id, count(*)::int AS n FROM leases WHERE status = 'active'
        GROUP BY work_unit_id HAVING count(*) > 1`,
    );
    this.doubled.push(...rows);
    this.samples += 1;
  }
}

export interface FleetRun<T> {
  /** What `drive` returned. */
  value: T;
  ms: number;
  /**
   * Snapshots of the leases table taken (0 without `sampleLeasesOf`): one per lease call that
   * brought tasks.
   */
  samples: number;
  /** Lease calls that brought tasks, over the run. */
  leaseCallsWithTasks: number;
  /** Work units seen with two active leases at once. */
  doubled: { work_unit_id: number; n: number }[];
}

/**
 * Runs the cars while `drive` does what the test does to them (waits for jobs, stops a server,
 * …); when it returns, the cars stop (calls under way are still answered: an acknowledgement
 * is never dropped). With `sampleLeasesOf`, the leases table is sampled after every lease call
 * that brought tasks, for units held twice. The first failure, a car's before the driver's,
 * stops everything at once and is thrown once everything has stopped.
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
  let failed = false;
  let signalStop!: () => void;
  const stopping = new Promise<void>((resolve) => (signalStop = resolve));
  const stopped = () => done;
  const stop = () => {
    done = true;
    o.log.running(false);
    signalStop();
  };
  const fail = () => {
    failed = true;
    stop();
  };
  const startedAt = performance.now();
  const behaviour = o.behaviour ?? STEADY;
  const sampler = o.sampleLeasesOf ? new LeaseSampler(o.sampleLeasesOf) : null;
  let leaseCallsWithTasks = 0;
  const afterLeased = () => {
    leaseCallsWithTasks += 1;
    return sampler?.snapshot();
  };
  o.log.running(true);
  const working = Promise.all(
    cars.map((car) =>
      runCar(car, {
        ...o.script?.(car),
        behaviour,
        log: o.log,
        stop: stopped,
        stopping,
        failed: () => failed,
        afterLeased,
      }).catch((error: unknown) => {
        // A car that left because its fleet stopped (done, or another failed) did not fail.
        if (!(error instanceof FleetStopped)) throw error;
      }),
    ),
  );
  working.catch(fail);
  const driving = drive(stopped).then(
    (value) => {
      stop();
      return value;
    },
    (error: unknown) => {
      fail();
      throw error;
    },
  );
  const [w, d] = await Promise.allSettled([working, driving]);
  for (const r of [w, d]) if (r.status === "rejected") throw r.reason;
  return {
    value: (d as PromiseFulfilledResult<T>).value,
    ms: Math.round(performance.now() - startedAt),
    samples: sampler?.samples ?? 0,
    leaseCallsWithTasks,
    doubled: sampler?.doubled ?? [],
  };
}

/** Where a set of jobs stands, as one comparable string: any change is progress. */
async function jobsProgress(
  tenant: NightshiftClient,
  jobIds: readonly string[],
  completedAt: Map<string, string | null>,
): Promise<{ finished: boolean; progress: string }> {
  const jobs = await Promise.all(
    jobIds.map((jobId) => tenant.tenant.jobs.get.query({ jobId }).catch(() => null)),
  );
  let finished = 0;
  for (const j of jobs) {
    if (!j || j.status === "queued" || j.status === "running") continue;
    finished += 1;
    if (!completedAt.has(j.id)) completedAt.set(j.id, j.completedAt);
  }
  const progress = jobs
    .map((j) => (j ? `${j.status} ${j.tasksValidated}/${j.tasksFailed}` : "no answer"))
    .join(", ");
  return { finished: finished === jobIds.length, progress };
}

export interface JobsOutcome {
  finished: boolean;
  /** Each job's completedAt as first seen, to compare with what it says later. */
  completedAt: Map<string, string | null>;
  /** Why the wait ended without every job finished (null when they all did). */
  why: string | null;
}

/**
 * Polls the jobs until none is queued or running, or `stopped`. All must be finished in one
 * poll: a finished job runs again when a car caught cheating has its unchecked answers
 * withdrawn. A poll that gets no answer (its instance or the database away) counts as not
 * finished. There is no deadline: the wait gives up only when no job has changed (status, tasks
 * validated or failed) for STALL_MS, so a slow machine finishes late and passes, while work that
 * is stuck fails.
 */
export async function waitForJobs(
  tenant: NightshiftClient,
  jobIds: readonly string[],
  stopped: () => boolean = () => false,
): Promise<JobsOutcome> {
  const completedAt = new Map<string, string | null>();
  let last = "";
  let lastChangeAt = performance.now();
  while (!stopped()) {
    const { finished, progress } = await jobsProgress(tenant, jobIds, completedAt);
    if (finished) return { finished: true, completedAt, why: null };
    if (progress !== last) [last, lastChangeAt] = [progress, performance.now()];
    else if (performance.now() - lastChangeAt > STALL_MS)
      return {
        finished: false,
        completedAt,
        why: `no job progressed for ${STALL_MS / 1000} s: ${last}`,
      };
    // Only paces the polls.
    await sleep(250);
  }
  return { finished: false, completedAt, why: "the fleet stopped first" };
}

/** Whether every job is finished now: one look, for after the cars have stopped. */
export async function jobsFinishedNow(
  tenant: NightshiftClient,
  jobIds: readonly string[],
): Promise<boolean> {
  return (await jobsProgress(tenant, jobIds, new Map())).finished;
}
