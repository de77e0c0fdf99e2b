// The checks on the database after a fleet of test cars (`@nightshift/server-testkit/cars`) has
// run: every task was done, decided once and paid once, everything the servers acknowledged is
// recorded, every lease reached a car, and no work unit was held by two cars at once as the
// cars saw it.
import type { createPool } from "@nightshift/db/client";
import type { FleetLog } from "@nightshift/server-testkit/cars";
import { expect } from "vitest";

type Pool = ReturnType<typeof createPool>;

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

/**
 * Every lease of the jobs reached a car (the cars logged its answer), and none ran out: a lease
 * made for a call whose answer was lost would be held by no car until its lifetime ended. A
 * count over the whole lease history, so it does not depend on how long the run took.
 */
export async function expectEveryLeaseSeen(
  pool: Pool,
  jobIds: readonly string[],
  log: FleetLog,
): Promise<void> {
  const rows = await all<{ id: string; status: string; end_reason: string | null }>(
    pool,
    `SELECT l.id, l.status, l.end_reason FROM leases l JOIN tasks t ON t.id = l.task_id
      WHERE t.job_id = ANY($1)`,
    jobIds,
  );
  expect(rows.length).toBeGreaterThan(0);
  expect(
    rows.filter((l) => !log.leases.has(l.id)),
    "leases no car was told of",
  ).toEqual([]);
  expect(
    rows.filter((l) => l.status === "expired"),
    "leases that ran out",
  ).toEqual([]);
}
