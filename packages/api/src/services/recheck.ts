// A car caught giving a wrong answer may have given others that nobody checked: adaptive
// replication lets a trusted car run work alone. When a car gets an invalid verdict, every
// answer it gave alone within the recheck window is withdrawn and its task runs again on other
// cars, with a quorum: the verdict is removed, the car is not paid for it, the task is counted
// out of its job (which is running again if it had finished) and a new round of replicas is
// queued. The tenant sees the task pending until the new round decides it; the audit log says
// why. The car's owner never gets the task again (one lease per task and owner).
import { sql } from "drizzle-orm";
import type { ApiDeps } from "../context";
import { audit } from "./audit";
import { type Executor, rows } from "./db";
import { reopenTasksSql, rerunJobsSql } from "./transitions";

interface Suspect {
  task_id: string;
  job_id: string;
  lease_id: string;
  car_id: string;
}

/**
 * Withdraws the unchecked answers (validated on the car's result alone: support 1) that `carIds`
 * gave since `now − recheckWindowS`, in the caller's transaction; the number withdrawn. The
 * tasks are locked in id order; a task decided again since (no longer valid) is left alone, as
 * is the work of cancelled jobs, whose answers nobody will read, and of jobs whose tenant chose
 * the replica count (`replication: 1` asks for no check, and gets none).
 */
export async function recheckUnchecked(
  tx: Executor,
  deps: ApiDeps,
  carIds: readonly string[],
  now: Date,
): Promise<number> {
  if (carIds.length === 0) return 0;
  const cfg = deps.config.verification;
  const since = new Date(now.getTime() - cfg.recheckWindowS * 1000);
  // The car's leases by (car_id, status), then one result and one verdict per lease.
  const suspects = await rows<Suspect>(
    tx,
    sql`SELECT t.id AS task_id, t.job_id, l.id AS lease_id, l.car_id
          FROM leases l
          JOIN results r ON r.lease_id = l.id
          JOIN verifications v ON v.task_id = l.task_id AND v.canonical_result_id = r.id
          JOIN tasks t ON t.id = l.task_id
          JOIN jobs j ON j.id = t.job_id
         WHERE l.car_id IN (${sql.join(
           carIds.map((id) => sql`${id}::uuid`),
           sql`, `,
         )}) AND l.status = 'submitted'
           AND l.leased_at > ${since}
           AND v.status = 'valid' AND v.support = 1 AND t.status = 'valid'
           AND j.status <> 'cancelled' AND j.replication IS NULL
         ORDER BY t.id
           FOR UPDATE OF t`,
  );
  if (suspects.length === 0) return 0;
  // A new round of the replicated size: the same as an untrusted car's first claim.
  const replicas = Math.max(2, cfg.quorum);
  await tx.execute(sql`
    WITH s AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(suspects)}::jsonb)
        AS s(task_id uuid, job_id uuid, lease_id uuid)
    ), v AS (
      DELETE FROM verifications WHERE task_id IN (SELECT task_id FROM s)
      RETURNING 1
    ), t AS (
      ${reopenTasksSql(replicas)}
    ), u AS (
      INSERT INTO work_units (task_id, job_id, tenant_id, priority, replica_index, task_order, attempt)
      SELECT t.id, f.job_id, f.tenant_id, f.priority, f.top + r, f.task_order, t.attempt
        FROM t
        CROSS JOIN LATERAL (
          SELECT w.job_id, w.tenant_id, w.priority, w.task_order,
                 (SELECT max(w2.replica_index) FROM work_units w2 WHERE w2.task_id = t.id) AS top
            FROM work_units w WHERE w.task_id = t.id ORDER BY w.replica_index LIMIT 1) f
        CROSS JOIN generate_series(1, ${replicas}::int) AS r
      RETURNING 1
    ), e AS (
      UPDATE ledger_entries SET validated = false, payout_usd = 0, validated_at = NULL
       WHERE lease_id IN (SELECT lease_id FROM s)
      RETURNING 1
    ), g AS (
      SELECT job_id, count(*)::int AS n FROM s GROUP BY job_id
    )
    ${rerunJobsSql()}`);
  const byCar = new Map<string, Suspect[]>();
  for (const s of suspects) byCar.set(s.car_id, [...(byCar.get(s.car_id) ?? []), s]);
  for (const [carId, withdrawn] of byCar) {
    await audit(tx, now, {
      actorKind: "system",
      actorId: null,
      action: "verification.recheck",
      subjectKind: "car",
      subjectId: carId,
      detail: {
        tasks: withdrawn.length,
        jobs: [...new Set(withdrawn.map((s) => s.job_id))],
        reason: "the car gave an invalid result: its unchecked answers run again on other cars",
      },
    });
  }
  return suspects.length;
}
