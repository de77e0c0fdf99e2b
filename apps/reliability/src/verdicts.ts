// What the database says about verification, for the tests whose cars lie: every accepted answer
// against the truth (tiny-mlp computed here, judged by the tolerance the server judges it by),
// what verification cost in executions beyond one per task, and which leases were canaries.
import { runTiny } from "@nightshift/api/seed";
import { outputsAgree, TOLERANCE_CROSS_BACKEND } from "@nightshift/core/verify";
import type { Cluster } from "./cluster";

type Pool = Cluster["pool"];

/** A validated task's accepted answer and the verdict that accepted it. */
export interface AcceptedAnswer {
  taskId: string;
  /** The car whose result is the answer (the first of the winning group). */
  carId: string;
  support: number;
  agreeing: number;
  disagreeing: number;
  replicasRequired: number;
  /** Outside the model's cross-backend tolerance of tiny-mlp's true output for the input. */
  wrong: boolean;
}

/** Every validated task of the jobs with its accepted answer, judged against the truth. */
export async function acceptedAnswers(
  pool: Pool,
  jobIds: readonly string[],
): Promise<AcceptedAnswer[]> {
  const { rows } = await pool.query<{
    input: { x: { data: number[] } };
    output: number[];
    car_id: string;
    task_id: string;
    support: number;
    agreeing: number;
    disagreeing: number;
    replicas_required: number;
  }>(
    `SELECT t.input, r.output, r.car_id, t.id AS task_id, v.support, v.agreeing, v.disagreeing,
            t.replicas_required FROM tasks t
       JOIN verifications v ON v.task_id = t.id JOIN results r ON r.id = v.canonical_result_id
      WHERE t.job_id = ANY($1) AND t.status = 'valid'`,
    [jobIds],
  );
  return rows.map((d) => ({
    taskId: d.task_id,
    carId: d.car_id,
    support: d.support,
    agreeing: d.agreeing,
    disagreeing: d.disagreeing,
    replicasRequired: d.replicas_required,
    wrong: !outputsAgree(d.output, runTiny(d.input.x.data), TOLERANCE_CROSS_BACKEND),
  }));
}

/** Tasks and the results run for them (replicas and canaries included). */
export interface Executions {
  tasks: number;
  results: number;
}

/** Executions beyond one per task, as a percentage of the tasks (0 when there are none). */
export function extraPct(e: Executions): number {
  return e.tasks ? (100 * e.results) / e.tasks - 100 : 0;
}

/**
 * Executions among the tasks validated in the run's first half and in its second (by when each
 * was validated). The first half pays for every car's first checked results, when nobody is
 * trusted and every task is replicated; the second is verification's cost once the fleet has
 * built trust.
 */
export async function executionsByHalf(
  pool: Pool,
  jobIds: readonly string[],
): Promise<{ first: Executions; second: Executions }> {
  const { rows } = await pool.query<{ half: number; tasks: number; results: number }>(
    `WITH t AS (
       SELECT id, ntile(2) OVER (ORDER BY validated_at) AS half
         FROM tasks WHERE job_id = ANY($1) AND status = 'valid')
     SELECT t.half, count(DISTINCT t.id)::int AS tasks, count(r.id)::int AS results
       FROM t LEFT JOIN results r ON r.task_id = t.id
      GROUP BY t.half`,
    [jobIds],
  );
  const half = (h: number) => {
    const row = rows.find((r) => r.half === h);
    return { tasks: row?.tasks ?? 0, results: row?.results ?? 0 };
  };
  return { first: half(1), second: half(2) };
}

/**
 * The canaries issued: leases of a unit marked as a canary, or taken after their task was
 * validated (its answer known), which is what a canary was before units were marked.
 */
export async function canaryLeases(
  pool: Pool,
  jobIds: readonly string[],
): Promise<{ leaseId: string; carId: string }[]> {
  const { rows } = await pool.query<{ lease_id: string; car_id: string }>(
    `SELECT l.id AS lease_id, l.car_id FROM leases l
       JOIN tasks t ON t.id = l.task_id JOIN work_units wu ON wu.id = l.work_unit_id
      WHERE t.job_id = ANY($1)
        AND (wu.canary OR (t.validated_at IS NOT NULL AND l.leased_at > t.validated_at))`,
    [jobIds],
  );
  return rows.map((r) => ({ leaseId: r.lease_id, carId: r.car_id }));
}
