// Light headless cars over real HTTP: enroll, heartbeat, lease, compute tiny-mlp in JavaScript,
// submit; they drive off and come back at random, fail over between server instances, retry what
// got no answer, and may lie. What they saw (acknowledged submits, departures) is kept for the
// checks against the database afterwards.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { runTiny } from "@nightshift/api/seed";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { apiErrorCode, isApiError } from "@nightshift/client/errors";
import { type Rng, rng } from "./random";

import { DEMO_CODE, DRIVING, PARKED } from "@nightshift/server/testing";

export { DEMO_CODE, DRIVING, PARKED };

/** What a car hands back for an input: the truth, or a lie. */
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

export interface Car {
  index: number;
  carId: string;
  ownerId: string;
  credential: string;
  /** One client per server instance; `at` is the one in use. */
  clients: NightshiftClient[];
  at: number;
  answer: Answer;
  random: Rng;
}

export interface CarBehaviour {
  /** Tasks asked for per lease call. */
  leaseMax: number;
  /** The chance that a car drives off while holding the tasks of a lease call. */
  departChance: number;
  /** How long a departed car stays away, ms. */
  awayMs: readonly [number, number];
  /** Wait after an empty lease call, ms (±50%). */
  idleMs: number;
  /** Also retry internal errors (the database is away): only where the test causes them. */
  retryServerErrors: boolean;
}

export const STEADY: CarBehaviour = {
  leaseMax: 4,
  departChance: 0,
  awayMs: [200, 1000],
  idleMs: 300,
  retryServerErrors: false,
};

/** What the cars saw. */
export class FleetLog {
  /** Submits the servers acknowledged (accepted), by lease id, with when. */
  readonly acked = new Map<string, number>();
  /** Results the servers refused, with why. */
  readonly refused: { leaseId: string; reason: string | null }[] = [];
  /** Leases a car walked away from, and when it told the server. */
  readonly departures: { leaseIds: string[]; at: number; how: "driving" | "release" }[] = [];
  /** Late submits of departed leases that were accepted: each is a defect. */
  readonly lateAccepted: string[] = [];
  lateRefused = 0;
  leased = 0;
  /** Every lease a car was told of. */
  readonly leaseIds = new Set<string>();
  retries = 0;
  failovers = 0;
  /**
   * Lease calls without an answer, retried with the same requestId: the retry gets back what
   * the first attempt leased, if it got that far.
   */
  unansweredLeaseCalls = 0;
  /** Call errors by code, retried or not. */
  readonly errors = new Map<string, number>();
}

/** Longest a call may go without an answer from any instance before the car (and test) fail. */
const CALL_DEADLINE_MS = 60_000;

function retryable(error: unknown, serverErrors: boolean): boolean {
  if (!isApiError(error)) return false;
  const code = apiErrorCode(error);
  if (code === null || code === "SERVICE_UNAVAILABLE" || code === "TOO_MANY_REQUESTS") return true;
  return serverErrors && code === "INTERNAL_SERVER_ERROR";
}

/**
 * Calls `fn` on the car's instance; when it fails retryably, moves to the next instance and
 * tries again with a growing pause. `onLostAnswer` runs before a retry after a failure without
 * an answer: the call may have been carried out.
 */
export async function call<T>(
  car: Car,
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
 * they wait).
 */
export async function enrollCars(
  urls: readonly string[],
  count: number,
  opts: { seed: number; answer?: (index: number) => Answer },
): Promise<Car[]> {
  const anonymous = urls.map((url) => createNightshiftClient({ url }));
  const cars: Car[] = [];
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
            credential: out.credential,
            clients: urls.map((url) => createNightshiftClient({ url, credential: out.credential })),
            at: home,
            answer: opts.answer?.(index) ?? honest,
            random: rng(opts.seed * 100_003 + index),
          };
        }),
      )),
    );
  }
  return cars;
}

const xOf = (input: unknown) => (input as { x: { data: number[] } }).x.data;

/**
 * One car until `stop`: park, lease, compute, submit; or, by chance, drive off holding the
 * leases (a "driving" heartbeat or node.release, half each), try to submit one of them late, stay
 * away and park again at a random instance.
 */
export async function runCar(
  car: Car,
  b: CarBehaviour,
  log: FleetLog,
  stop: () => boolean,
): Promise<void> {
  const unanswered = async () => {
    log.unansweredLeaseCalls += 1;
  };
  let lastBeat = -Infinity;
  while (!stop()) {
    // A parked car heartbeats every couple of seconds, as the agent does (every 5 s): the
    // server ends the leases of a car silent past its heartbeat timeout.
    if (performance.now() - lastBeat > 2000) {
      await call(car, log, b, (c) => c.node.heartbeat.mutate(PARKED));
      lastBeat = performance.now();
    }
    // One requestId per lease attempt, the same on each retry of it: a retry whose first
    // answer was lost (an instance killed after COMMIT) gets those leases back.
    const requestId = randomUUID();
    const { tasks } = await call(
      car,
      log,
      b,
      (c) => c.node.lease.mutate({ max: b.leaseMax, requestId }),
      unanswered,
    );
    if (tasks.length === 0) {
      await sleep(b.idleMs * (0.5 + car.random.next()));
      continue;
    }
    log.leased += tasks.length;
    for (const t of tasks) log.leaseIds.add(t.leaseId);
    const outputs = tasks.map((t) => car.answer(xOf(t.input), car.random));

    if (car.random.next() < b.departChance) {
      const how = car.random.next() < 0.5 ? "driving" : "release";
      const leaseIds = tasks.map((t) => t.leaseId);
      await call(car, log, b, (c) =>
        how === "driving" ? c.node.heartbeat.mutate(DRIVING) : c.node.release.mutate(),
      );
      log.departures.push({ leaseIds, at: performance.now(), how });
      // A car that finished a run just as it left: the result arrives after the lease ended.
      if (car.random.next() < 0.5) {
        const late = await call(car, log, b, (c) =>
          c.node.submit.mutate({
            leaseId: tasks[0]!.leaseId,
            output: outputs[0]!,
            durationMs: 5,
            backend: "native",
          }),
        );
        if (late.accepted) log.lateAccepted.push(tasks[0]!.leaseId);
        else log.lateRefused += 1;
      }
      const [lo, hi] = b.awayMs;
      await sleep(lo + (hi - lo) * car.random.next());
      car.at = Math.floor(car.random.next() * car.clients.length);
      lastBeat = -Infinity;
      continue;
    }

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
    const now = performance.now();
    for (const r of results) {
      if (r.accepted) log.acked.set(r.leaseId, now);
      else log.refused.push({ leaseId: r.leaseId, reason: r.reason });
    }
  }
}

/**
 * Runs the cars while `drive` does what the test does (waits for jobs, kills a server, …); when
 * it returns, the cars stop. The first failure stops everything and is thrown at the end.
 */
export async function withFleet<T>(
  cars: readonly Car[],
  behaviour: CarBehaviour,
  log: FleetLog,
  drive: (stopped: () => boolean) => Promise<T>,
): Promise<T> {
  let done = false;
  const stopped = () => done;
  const working = Promise.all(cars.map((car) => runCar(car, behaviour, log, stopped)));
  working.catch(() => (done = true));
  const driving = drive(stopped).finally(() => (done = true));
  const [d, w] = await Promise.allSettled([driving, working]);
  if (w.status === "rejected") throw w.reason;
  if (d.status === "rejected") throw d.reason;
  return d.value;
}

/** Polls the jobs until none is queued or running, or the deadline; true when all finished. */
export async function waitForJobs(
  tenant: NightshiftClient,
  jobIds: readonly string[],
  deadlineMs: number,
  stopped: () => boolean = () => false,
): Promise<boolean> {
  const until = performance.now() + deadlineMs;
  while (performance.now() < until && !stopped()) {
    const jobs = await Promise.all(
      jobIds.map((jobId) =>
        tenant.tenant.jobs.get.query({ jobId }).catch(() => ({ status: "unknown" })),
      ),
    );
    if (
      jobs.every((j) => j.status !== "queued" && j.status !== "running" && j.status !== "unknown")
    )
      return true;
    await sleep(250);
  }
  return false;
}
