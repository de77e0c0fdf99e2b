// Headless cars over real HTTP for the fleet tests: enrollment spread over server instances, a
// car loop (heartbeat → lease → compute → submit) that fails over to another instance when one
// goes away, a record of what the servers acknowledged, and the checks on the database that say
// every task was done, decided once and paid once.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { runTiny, tinyInput } from "@nightshift/api/seed";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { apiErrorCode, isApiError } from "@nightshift/client/errors";
import type { createPool } from "@nightshift/db/client";
import { expect } from "vitest";

type Pool = ReturnType<typeof createPool>;

import { DEMO_CODE, DRIVING, PARKED } from "@nightshift/server/testing";

export { DEMO_CODE, DRIVING, PARKED };

/** A tiny-mlp input per row. */
export function tinyInputs(rows: readonly (readonly number[])[]) {
  return rows.map((x) => tinyInput(x));
}

export function xOf(input: unknown): number[] {
  return (input as { x: { data: number[] } }).x.data;
}

// ---- cars that fail over ----

export interface FleetCar {
  index: number;
  carId: string;
  ownerId: string;
  /** One client per server instance (and its URL), home first; `at` is the one in use. */
  clients: NightshiftClient[];
  urls: string[];
  at: number;
}

/** What the cars saw, for the checks afterwards. */
export class FleetLog {
  /** Leases the cars were given, with when the answer arrived and when their end was asked. */
  readonly leases = new Map<string, { receivedAt: number; endSentAt?: number }>();
  /** Submits the server acknowledged (accepted), by lease. */
  readonly acked = new Map<string, { duplicate: boolean }>();
  /** Submits refused, with the server's reason. */
  readonly refused: { leaseId: string; reason: string | null }[] = [];
  readonly departures: {
    carId: string;
    how: "driving" | "release";
    leaseIds: string[];
    released: number;
    late: { accepted: boolean; reason: string | null };
  }[] = [];
  /** Lease calls that brought nothing, by the server's reason. */
  readonly emptyLeases = new Map<string, number>();
  /** Lease calls answered, and those that brought tasks, by the instance (URL) that answered. */
  readonly leaseCalls = new Map<string, { answered: number; withTasks: number }>();
  /**
   * Calls retried (after a failure without an answer, or a refusal to serve), calls moved to
   * another instance; lease calls that got no answer (retried with the same requestId, which
   * gets back what the first attempt leased if it got that far).
   */
  retries = 0;
  failovers = 0;
  unansweredLeaseCalls = 0;
}

/**
 * A failure worth another try on another instance: no answer at all (refused connection, cut
 * connection, a process gone), or a server that says it is going away or busy. Anything else
 * (a refusal, an internal error) is the test's business.
 */
function retryable(error: unknown): "network" | "refused" | null {
  if (!isApiError(error)) return null;
  const code = apiErrorCode(error);
  if (code === null) return "network";
  return code === "SERVICE_UNAVAILABLE" || code === "TOO_MANY_REQUESTS" ? "refused" : null;
}

/** Bounded: a call that finds no instance for this long fails the car, and the test. */
const CALL_DEADLINE_MS = 30_000;

/**
 * Calls `fn` on the car's current instance; when that fails retryably, moves to the next one and
 * tries again. `onLostAnswer` runs (on the new instance) after a failure without an answer,
 * before the retry: the call may have been carried out.
 */
export async function call<T>(
  car: FleetCar,
  log: FleetLog,
  fn: (client: NightshiftClient) => Promise<T>,
  onLostAnswer?: () => Promise<void>,
): Promise<T> {
  const deadline = performance.now() + CALL_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(car.clients[car.at]!);
    } catch (error) {
      const kind = retryable(error);
      if (kind === null || performance.now() > deadline) throw error;
      log.retries += 1;
      if (apiErrorCode(error) !== "TOO_MANY_REQUESTS" && car.clients.length > 1) {
        car.at = (car.at + 1) % car.clients.length;
        log.failovers += 1;
      }
      await sleep(Math.min(25 * 2 ** attempt, 400));
      if (kind === "network" && onLostAnswer) await onLostAnswer();
    }
  }
}

/**
 * Enrolls `count` cars with the demo code, car i on instance i mod urls (at most 20 enrollments
 * at a time). The anonymous rate limit is per instance and client IP: 200 at once, then 50/s.
 */
export async function enrollCars(urls: readonly string[], count: number): Promise<FleetCar[]> {
  const anonymous = urls.map((url) => createNightshiftClient({ url }));
  const cars: FleetCar[] = [];
  for (let from = 0; from < count; from += 20) {
    const batch = Array.from({ length: Math.min(20, count - from) }, (_, k) => from + k);
    cars.push(
      ...(await Promise.all(
        batch.map(async (index) => {
          const home = index % urls.length;
          const out = await anonymous[home]!.node.enroll.mutate({ code: DEMO_CODE });
          // The car's instances, its home first.
          const mine = urls.map((_, k) => urls[(home + k) % urls.length]!);
          const clients = mine.map((url) =>
            createNightshiftClient({ url, credential: out.credential }),
          );
          return { index, carId: out.carId, ownerId: out.ownerId, clients, urls: mine, at: 0 };
        }),
      )),
    );
  }
  return cars;
}

export interface CarLoopOptions {
  stop: () => boolean;
  log: FleetLog;
  /** Tasks asked for per lease call. */
  leaseMax?: number;
  /** Heartbeat when the last one is older than this. */
  heartbeatEveryMs?: number;
  /** Wait after an empty lease, ms (±50%). */
  idleMs?: number;
  /** The first call waits for this. */
  startAfter?: Promise<unknown>;
  /** Runs once the car holds the leases it will walk away from, before it departs. */
  beforeDeparting?: () => Promise<void>;
  /** The car drives off while holding its leases of this (1-based) lease call. */
  departAt?: number;
  departBy?: "driving" | "release";
}

/**
 * One car: heartbeat (parked, plugged in) → lease → compute tiny-mlp → submit, until `stop`.
 * A car that departs hands its leases back (a "driving" heartbeat or node.release), tries to
 * submit one of them late, parks again and goes on.
 */
export async function runCar(car: FleetCar, o: CarLoopOptions): Promise<void> {
  const { log } = o;
  let lastBeat = -Infinity;
  let leaseCalls = 0;
  const unanswered = async () => {
    log.unansweredLeaseCalls += 1;
  };
  await o.startAfter;
  while (!o.stop()) {
    // Each round starts at the car's own instance: back to it once it is up again.
    car.at = 0;
    if (performance.now() - lastBeat > (o.heartbeatEveryMs ?? 1000)) {
      await call(car, log, (c) => c.node.heartbeat.mutate(PARKED));
      lastBeat = performance.now();
    }
    // One requestId per lease attempt, the same on each retry of it: a retry whose first
    // answer was lost (its instance killed after COMMIT) gets those leases back.
    const requestId = randomUUID();
    const { tasks, reason } = await call(
      car,
      log,
      (c) => c.node.lease.mutate({ max: o.leaseMax ?? 4, requestId }),
      unanswered,
    );
    const by = log.leaseCalls.get(car.urls[car.at]!) ?? { answered: 0, withTasks: 0 };
    log.leaseCalls.set(car.urls[car.at]!, {
      answered: by.answered + 1,
      withTasks: by.withTasks + (tasks.length > 0 ? 1 : 0),
    });
    const receivedAt = performance.now();
    for (const t of tasks) log.leases.set(t.leaseId, { receivedAt });
    if (tasks.length === 0) {
      const why = reason ?? "none";
      log.emptyLeases.set(why, (log.emptyLeases.get(why) ?? 0) + 1);
      await sleep((o.idleMs ?? 400) * (0.5 + Math.random()));
      continue;
    }
    leaseCalls += 1;
    const outputs = tasks.map((t) => runTiny(xOf(t.input)));

    if (leaseCalls === o.departAt) {
      await o.beforeDeparting?.();
      const endSentAt = performance.now();
      for (const t of tasks) log.leases.get(t.leaseId)!.endSentAt = endSentAt;
      const how = o.departBy ?? "driving";
      const { released } = await call(car, log, (c) =>
        how === "driving" ? c.node.heartbeat.mutate(DRIVING) : c.node.release.mutate(),
      );
      const late = await call(car, log, (c) =>
        c.node.submit.mutate({
          leaseId: tasks[0]!.leaseId,
          output: outputs[0]!,
          durationMs: 5,
          backend: "native",
        }),
      );
      log.departures.push({
        carId: car.carId,
        how,
        leaseIds: tasks.map((t) => t.leaseId),
        released,
        late: { accepted: late.accepted, reason: late.reason },
      });
      // A short trip, then parked again.
      await sleep(300);
      lastBeat = -Infinity;
      continue;
    }

    const endSentAt = performance.now();
    for (const t of tasks) log.leases.get(t.leaseId)!.endSentAt = endSentAt;
    // Issued in one tick: the client's batch link sends them as one request.
    const answers = await Promise.all(
      tasks.map((t, i) =>
        call(car, log, (c) =>
          c.node.submit.mutate({
            leaseId: t.leaseId,
            output: outputs[i]!,
            durationMs: 5,
            backend: "native",
          }),
        ),
      ),
    );
    answers.forEach((a, i) => {
      const leaseId = tasks[i]!.leaseId;
      if (a.accepted) log.acked.set(leaseId, { duplicate: a.duplicate });
      else log.refused.push({ leaseId, reason: a.reason });
    });
  }
}

/**
 * Polls the jobs until none is queued or running, the deadline, or `stopped`. Returns whether
 * all finished and each job's completedAt as first seen, to compare with what it says later.
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
    const jobs = await Promise.all(jobIds.map((jobId) => tenant.tenant.jobs.get.query({ jobId })));
    for (const j of jobs) {
      if (j.status !== "queued" && j.status !== "running" && !completedAt.has(j.id))
        completedAt.set(j.id, j.completedAt);
    }
    if (completedAt.size === jobIds.length) return { finished: true, completedAt };
    await sleep(200);
  }
  return { finished: false, completedAt };
}

/**
 * Samples the leases table until `stop`: any moment at which one work unit has two active
 * leases is recorded. Each sample is one statement, so one consistent snapshot.
 */
export async function sampleActiveLeases(
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

/**
 * Runs the cars (and a sampler of the leases table) while `drive` does what the test does to
 * them (waits for jobs, stops a server, …); when it returns, the cars stop. The first failure, a
 * car's before the driver's, stops everything and is thrown once everything has stopped.
 */
export async function withFleet<T>(
  cars: readonly FleetCar[],
  o: { pool: Pool; log: FleetLog; carOptions?: (car: FleetCar) => Partial<CarLoopOptions> },
  drive: (stopped: () => boolean) => Promise<T>,
): Promise<{
  value: T;
  ms: number;
  samples: number;
  doubled: { work_unit_id: number; n: number }[];
}> {
  let done = false;
  const stopped = () => done;
  const stop = () => (done = true);
  const startedAt = performance.now();
  const working = Promise.all(
    cars.map((car) => runCar(car, { ...o.carOptions?.(car), stop: stopped, log: o.log })),
  );
  const sampling = sampleActiveLeases(o.pool, stopped);
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

// ---- the checks ----

async function all<T extends object>(
  pool: Pool,
  text: string,
  jobIds: readonly string[],
): Promise<T[]> {
  return (await pool.query<T>(text, [jobIds])).rows;
}

/**
 * What the database must hold once the jobs are done, whatever happened on the way: every job
 * completed once, every task validated by replicas on distinct cars and owners, no unit with two
 * results, one ledger entry per submitted lease, agreeing replicas (and only they) paid.
 */
export async function expectJobsAccounted(
  pool: Pool,
  jobIds: readonly string[],
): Promise<{ results: number; payoutUsd: number; releasedLeases: number }> {
  // Completed exactly once: completed, every task counted once, and completed_at set by the
  // decision of one of its tasks (the same transaction stamps both with its clock). Which task
  // cannot be told: stamps are taken when a call starts, not when it commits.
  const jobs = await all<{ id: string; problem: string }>(
    pool,
    `SELECT j.id, concat_ws(' ', j.status, j.tasks_validated || '/' || j.task_count,
                     'failed=' || j.tasks_failed, 'completedAt=' || j.completed_at) AS problem
       FROM jobs j JOIN tasks t ON t.job_id = j.id
      WHERE j.id = ANY($1)
      GROUP BY j.id
     HAVING j.status <> 'completed' OR j.tasks_validated <> j.task_count OR j.tasks_failed <> 0
         OR count(*) <> j.task_count OR count(*) FILTER (WHERE t.status = 'valid') <> j.task_count
         OR count(*) FILTER (WHERE t.validated_at = j.completed_at) = 0`,
    jobIds,
  );
  expect(jobs, "jobs not completed exactly once").toEqual([]);

  // Nothing lost or left behind: each task decided once, no unit waiting, no lease held.
  const [left] = await all<{ verifications: number; tasks: number; units: number; active: number }>(
    pool,
    `SELECT (SELECT count(*)::int FROM verifications v JOIN tasks t ON t.id = v.task_id
              WHERE t.job_id = ANY($1) AND v.status = 'valid') AS verifications,
            (SELECT count(*)::int FROM tasks WHERE job_id = ANY($1)) AS tasks,
            (SELECT count(*)::int FROM work_units WHERE job_id = ANY($1)
              AND status IN ('open', 'leased')) AS units,
            (SELECT count(*)::int FROM leases l JOIN tasks t ON t.id = l.task_id
              WHERE t.job_id = ANY($1) AND l.status = 'active') AS active`,
    jobIds,
  );
  expect(left).toEqual({ verifications: left!.tasks, tasks: left!.tasks, units: 0, active: 0 });

  // Replicas on distinct cars and owners; as many results as the task required, one per unit.
  const replicas = await all<{ task_id: string; problem: string }>(
    pool,
    `SELECT t.id AS task_id,
            concat_ws(' ', 'leases=' || count(l.id), 'cars=' || count(DISTINCT l.car_id),
                      'owners=' || count(DISTINCT l.owner_id), 'results=' || count(r.id),
                      'units=' || count(DISTINCT l.work_unit_id) FILTER (WHERE r.id IS NOT NULL),
                      'required=' || t.replicas_required) AS problem
       FROM tasks t
       JOIN leases l ON l.task_id = t.id
       LEFT JOIN results r ON r.lease_id = l.id
      WHERE t.job_id = ANY($1)
      GROUP BY t.id
     HAVING count(DISTINCT l.car_id) <> count(l.id) OR count(DISTINCT l.owner_id) <> count(l.id)
         OR count(r.id) <> t.replicas_required
         OR count(DISTINCT l.work_unit_id) FILTER (WHERE r.id IS NOT NULL) <> count(r.id)`,
    jobIds,
  );
  expect(replicas, "tasks whose replicas or results are wrong").toEqual([]);

  // The ledger: exactly one entry per submitted lease (and per result), none for another lease.
  const ledger = await all<{ lease_id: string; status: string; entries: number; results: number }>(
    pool,
    `SELECT l.id AS lease_id, l.status,
            (SELECT count(*)::int FROM ledger_entries le WHERE le.lease_id = l.id) AS entries,
            (SELECT count(*)::int FROM results r WHERE r.lease_id = l.id) AS results
       FROM leases l JOIN tasks t ON t.id = l.task_id
      WHERE t.job_id = ANY($1)`,
    jobIds,
  );
  const wrong = ledger.filter((l) =>
    l.status === "submitted" ? l.entries !== 1 || l.results !== 1 : l.entries + l.results !== 0,
  );
  expect(wrong, "leases whose ledger entries or results are wrong").toEqual([]);

  // Paid: the agreeing replicas the verdict counted, each its owed payout; nobody else.
  const pay = await all<{ task_id: string; agreeing: number; paid: number; wrong: number }>(
    pool,
    `SELECT task_id, agreeing, paid, wrong FROM (
       SELECT v.task_id, v.agreeing,
              count(*) FILTER (WHERE le.validated)::int AS paid,
              count(*) FILTER (WHERE le.payout_owed_usd <= 0
                                  OR le.payout_usd <> CASE WHEN le.validated
                                                           THEN le.payout_owed_usd ELSE 0 END)::int AS wrong
         FROM verifications v JOIN tasks t ON t.id = v.task_id
         JOIN ledger_entries le ON le.task_id = v.task_id
        WHERE t.job_id = ANY($1)
        GROUP BY v.task_id, v.agreeing) per_task
      WHERE paid <> agreeing OR wrong > 0`,
    jobIds,
  );
  expect(pay, "tasks paid other than their agreeing replicas").toEqual([]);

  const [totals] = await all<{ results: number; payout: number; released: number }>(
    pool,
    `SELECT (SELECT count(*)::int FROM results r JOIN tasks t ON t.id = r.task_id
              WHERE t.job_id = ANY($1)) AS results,
            (SELECT coalesce(sum(payout_usd), 0)::float8 FROM ledger_entries
              WHERE job_id = ANY($1)) AS payout,
            (SELECT count(*)::int FROM leases l JOIN tasks t ON t.id = l.task_id
              WHERE t.job_id = ANY($1) AND l.status = 'released') AS released`,
    jobIds,
  );
  expect(totals!.payout).toBeGreaterThan(0);
  return { results: totals!.results, payoutUsd: totals!.payout, releasedLeases: totals!.released };
}

/**
 * Nothing acknowledged is lost, and nothing is recorded that no car was told of: the leases
 * with a result are exactly those whose submit the server acknowledged (cars retry a submit
 * until it is answered, so a result whose answer was lost is acknowledged by the retry).
 */
export async function expectAcknowledgedRecorded(
  pool: Pool,
  jobIds: readonly string[],
  log: FleetLog,
): Promise<void> {
  const acked = [...log.acked.keys()];
  const { rows: found } = await pool.query<{ lease_id: string; ledger: number }>(
    `SELECT r.lease_id, (SELECT count(*)::int FROM ledger_entries le WHERE le.lease_id = r.lease_id) AS ledger
       FROM results r WHERE r.lease_id = ANY($1::uuid[])`,
    [acked],
  );
  const withResult = new Set(found.map((r) => r.lease_id));
  const lost = acked.filter((id) => !withResult.has(id));
  expect(lost, "acknowledged submits without a result").toEqual([]);
  expect(found.filter((r) => r.ledger !== 1)).toEqual([]);
  const recorded = await all<{ lease_id: string }>(
    pool,
    `SELECT r.lease_id FROM results r JOIN tasks t ON t.id = r.task_id WHERE t.job_id = ANY($1)`,
    jobIds,
  );
  const unacknowledged = recorded.map((r) => r.lease_id).filter((id) => !log.acked.has(id));
  expect(unacknowledged, "results no car was told of").toEqual([]);
}

/**
 * No work unit held by two cars at once, as the cars saw it (one clock, this process): a unit
 * leased again was answered to its new car only after its previous car asked to end its lease.
 * A lease no car was told of (its answer was lost) is left out. Returns how many units were
 * leased more than once.
 */
export async function expectNoUnitHeldTwice(
  pool: Pool,
  jobIds: readonly string[],
  log: FleetLog,
): Promise<number> {
  const rows = await all<{ id: string; work_unit_id: number }>(
    pool,
    `SELECT l.id, l.work_unit_id FROM leases l JOIN tasks t ON t.id = l.task_id
      WHERE t.job_id = ANY($1)`,
    jobIds,
  );
  const byUnit = new Map<number, { id: string; receivedAt: number; endSentAt?: number }[]>();
  for (const r of rows) {
    const seen = log.leases.get(r.id);
    if (!seen) continue;
    byUnit.set(r.work_unit_id, [...(byUnit.get(r.work_unit_id) ?? []), { id: r.id, ...seen }]);
  }
  const overlaps: string[] = [];
  let leasedAgain = 0;
  for (const held of byUnit.values()) {
    if (held.length < 2) continue;
    leasedAgain += 1;
    held.sort((a, b) => a.receivedAt - b.receivedAt);
    for (let i = 1; i < held.length; i++) {
      const before = held[i - 1]!;
      if (before.endSentAt === undefined || held[i]!.receivedAt <= before.endSentAt)
        overlaps.push(`${before.id} and ${held[i]!.id}`);
    }
  }
  expect(overlaps, "leases of one unit held at once").toEqual([]);
  return leasedAgain;
}
