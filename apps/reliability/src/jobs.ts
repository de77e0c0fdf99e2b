// Work for the fleet: tiny-mlp jobs submitted by a demo tenant, and the checks that say, from the
// database, whether every task was done, decided once and paid once.
import { tinyInput } from "@nightshift/api/seed";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import type { Cluster } from "./cluster";

type Pool = Cluster["pool"];

/** Tasks per job: well inside the 1 MiB inline input limit. */
const TASKS_PER_JOB = 1000;

export function tenantClient(cluster: Cluster, instance = 0): NightshiftClient {
  const [, key] = [...cluster.tenantKeys][0]!;
  return createNightshiftClient({ url: cluster.urls[instance]!, credential: key });
}

/** `tasks` tiny-mlp tasks in jobs of at most 1,000; distinct inputs per `salt`. */
export async function submitTasks(
  tenant: NightshiftClient,
  tasks: number,
  opts: { salt: number; replication: number | "auto" },
): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < tasks; from += TASKS_PER_JOB) {
    const n = Math.min(TASKS_PER_JOB, tasks - from);
    const inputs = Array.from({ length: n }, (_, i) =>
      tinyInput([from + i, opts.salt, -(from + i) / 7, (i % 13) / 3]),
    );
    const out = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs,
      replication: opts.replication,
    });
    ids.push(out.jobId);
  }
  return ids;
}

export interface Accounting {
  tasks: number;
  /** Tasks not validated once the jobs are done (failed, or still waiting). */
  tasksLost: number;
  /** Jobs not completed, or whose validated count disagrees with their tasks. */
  jobsUnfinished: number;
  /** Leases with more than one result or ledger entry, plus tasks paid more often than replicas agreed. */
  doubleCounted: number;
  doubleCountedParts: { leases: number; overpaidTasks: number; decidedTwice: number };
  leases: number;
  /** Leases that ended without a result: the car departed, released them, or went silent. */
  leasesBroken: number;
  results: number;
}

export async function accounting(pool: Pool, jobIds: readonly string[]): Promise<Accounting> {
  const q = async <T extends object>(text: string) =>
    (await pool.query<T & object>(text, [jobIds])).rows[0] as T;
  const t = await q<{ tasks: number; lost: number }>(
    `SELECT count(*)::int AS tasks, count(*) FILTER (WHERE status <> 'valid')::int AS lost
       FROM tasks WHERE job_id = ANY($1)`,
  );
  const j = await q<{ unfinished: number }>(
    `SELECT count(*)::int AS unfinished FROM jobs
      WHERE id = ANY($1) AND (status <> 'completed' OR tasks_validated <> task_count)`,
  );
  const perLease = await q<{ doubled: number; leases: number; broken: number; results: number }>(
    `SELECT count(*) FILTER (WHERE r.n > 1 OR e.n > 1)::int AS doubled,
            count(*)::int AS leases,
            count(*) FILTER (WHERE r.n = 0)::int AS broken,
            sum(r.n)::int AS results
       FROM leases l JOIN tasks t ON t.id = l.task_id
       CROSS JOIN LATERAL (SELECT count(*) AS n FROM results WHERE lease_id = l.id) r
       CROSS JOIN LATERAL (SELECT count(*) AS n FROM ledger_entries WHERE lease_id = l.id) e
      WHERE t.job_id = ANY($1)`,
  );
  // Entries paid by a task's verdict (at its moment) beyond the replicas it counted as agreeing.
  // Results judged after the verdict are left out: canaries and replicas still running when the
  // quorum formed are each compared with the answer on their own and paid when they agree.
  const overpaid = await q<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT v.task_id FROM verifications v JOIN tasks t ON t.id = v.task_id
         JOIN ledger_entries le ON le.task_id = v.task_id AND le.validated
                                AND le.validated_at <= t.validated_at
        WHERE t.job_id = ANY($1)
        GROUP BY v.task_id, v.agreeing HAVING count(*) > v.agreeing) x`,
  );
  const decided = await q<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT v.task_id FROM verifications v JOIN tasks t ON t.id = v.task_id
        WHERE t.job_id = ANY($1) GROUP BY v.task_id HAVING count(*) > 1) x`,
  );
  return {
    tasks: t.tasks,
    tasksLost: t.lost,
    jobsUnfinished: j.unfinished,
    doubleCounted: perLease.doubled + overpaid.n + decided.n,
    doubleCountedParts: {
      leases: perLease.doubled,
      overpaidTasks: overpaid.n,
      decidedTwice: decided.n,
    },
    leases: perLease.leases,
    leasesBroken: perLease.broken,
    results: perLease.results ?? 0,
  };
}

/**
 * Acknowledged submits without their result and ledger entry in the database (must be none):
 * what a server said it had taken must survive it, and the database, going down.
 */
export async function acknowledgedLost(pool: Pool, leaseIds: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM unnest($1::uuid[]) AS a(lease_id)
      WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.lease_id = a.lease_id)
         OR NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.lease_id = a.lease_id)`,
    [leaseIds],
  );
  return rows[0]!.n;
}
