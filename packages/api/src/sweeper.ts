// Requeues the work of leases that ran out: leases past their expiry, and every lease of a car
// that stopped heartbeating. Safe to run on several instances at once: each batch takes its
// leases with `FOR UPDATE SKIP LOCKED` (a lease another sweeper, or a submit, holds is left to
// it), and only leases still 'active' are ended, so a lease ends once whoever runs it.
import { sql } from "drizzle-orm";
import type { ApiDeps } from "./context";
import { inTx, rows } from "./services/db";
import { endLeases } from "./services/leases";
import { failJob, failJobTasks } from "./services/transitions";

const BATCH = 500;

export interface SweepResult {
  expiredLeases: number;
  /** Cars whose leases were ended because their heartbeats stopped. */
  silentCars: number;
}

export async function sweepExpired(deps: ApiDeps): Promise<SweepResult> {
  const now = deps.now();
  const since = new Date(now.getTime() - deps.config.heartbeatTimeoutS * 1000);
  let expiredLeases = 0;
  for (;;) {
    const ended = await inTx(deps.db, (tx) =>
      endLeases(
        tx,
        sql`leases.id IN (SELECT id FROM leases WHERE status = 'active' AND expires_at <= ${now}
                           ORDER BY expires_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)`,
        "expired",
        "expired",
        now,
      ),
    );
    expiredLeases += ended.length;
    if (ended.length < BATCH) break;
  }
  const silent = new Set<string>();
  for (;;) {
    const ended = await inTx(deps.db, (tx) =>
      endLeases(
        tx,
        sql`leases.id IN (SELECT l.id FROM leases l JOIN cars c ON c.id = l.car_id
                           WHERE l.status = 'active' AND (c.last_heartbeat_at IS NULL OR c.last_heartbeat_at < ${since})
                           LIMIT ${BATCH} FOR UPDATE OF l SKIP LOCKED)`,
        "expired",
        "silent",
        now,
      ),
    );
    for (const l of ended) silent.add(l.carId);
    expiredLeases += ended.length;
    if (ended.length < BATCH) break;
  }
  return { expiredLeases, silentCars: silent.size };
}

/** Why a job was stopped before all of its tasks were decided. */
export type JobEndReason = "deadline" | "budget";

const OVERDUE_JOBS = 100;

/**
 * Stops jobs past their deadline, and jobs whose work has cost their budget: their running leases
 * end (the cars are told by the lease being gone), their open work is dropped, their undecided
 * tasks fail with the reason, and the job fails once. Tasks already validated keep their results
 * (a tenant pays for those). Locks go leases → tasks → job, the order of submit, and each job is
 * closed in a transaction of its own: safe on several instances at once (only a job still
 * queued or running changes).
 */
export async function endOverdueJobs(deps: ApiDeps): Promise<{ jobsEnded: number }> {
  const now = deps.now();
  const overdue = await rows<{ id: string; reason: JobEndReason }>(
    deps.db,
    sql`SELECT j.id, CASE WHEN j.deadline_at <= ${now} THEN 'deadline' ELSE 'budget' END AS reason
          FROM jobs j
         WHERE j.status IN ('queued', 'running')
           AND (j.deadline_at <= ${now}
                OR (j.budget_usd IS NOT NULL
                    AND (SELECT coalesce(sum(le.cost_usd), 0) FROM ledger_entries le WHERE le.job_id = j.id)
                        >= j.budget_usd))
         LIMIT ${OVERDUE_JOBS}`,
  );
  let jobsEnded = 0;
  for (const job of overdue) {
    const error =
      job.reason === "deadline" ? "the job's deadline passed" : "the job's budget is spent";
    const ended = await inTx(deps.db, async (tx) => {
      await endLeases(
        tx,
        sql`leases.task_id IN (SELECT id FROM tasks WHERE job_id = ${job.id})`,
        "cancelled",
        `job-${job.reason}`,
        now,
        true,
      );
      const failed = await failJobTasks(tx, job.id, error);
      return (await failJob(tx, job.id, job.reason, failed, now)) ? 1 : 0;
    });
    jobsEnded += ended;
  }
  return { jobsEnded };
}

const SETTLE_BATCH = 500;

/**
 * Pays the canaries whose results agreed, once the time they were held to has come (their
 * lease's expiry: ledger_entries.settles_at). Each batch takes its entries with SKIP LOCKED and
 * pays only those still waiting, so an entry is paid once whichever instance sweeps it.
 */
export async function settleCanaries(deps: ApiDeps): Promise<{ canariesSettled: number }> {
  const now = deps.now();
  let canariesSettled = 0;
  for (;;) {
    const settled = await rows<{ id: string }>(
      deps.db,
      sql`UPDATE ledger_entries
             SET validated = true, payout_usd = payout_owed_usd, validated_at = settles_at,
                 settles_at = NULL
           WHERE id IN (SELECT id FROM ledger_entries WHERE settles_at <= ${now}
                         ORDER BY settles_at LIMIT ${SETTLE_BATCH} FOR UPDATE SKIP LOCKED)
          RETURNING id`,
    );
    canariesSettled += settled.length;
    if (settled.length < SETTLE_BATCH) break;
  }
  return { canariesSettled };
}
