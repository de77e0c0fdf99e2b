// Every status change of jobs, tasks, work units and leases: the SQL that writes a status lives
// here and nowhere else, and each statement changes only rows in a status that core's state
// machine (core/status.ts) lets its event leave. A row in any other status is left alone, so a
// change that races another (a sweeper and a submit, two instances) happens once or not at all.
//
// Some changes are parts of larger statements (submit's write, a recheck): for those this module
// gives the UPDATE's text, which the caller puts in its WITH; the rest run here.
import {
  TRANSITIONS,
  type StatusKind,
  type Statuses,
  type Transition,
  type TransitionEvent,
  UNDECIDED_TASK_STATUSES,
} from "@nightshift/core/status";
import type { LeaseStatus } from "@nightshift/db/schema";
import { type SQL, sql } from "drizzle-orm";
import { type Executor, rows } from "./db";

/** A status as an SQL literal (statuses are fixed words of core's, never input). */
const literal = (status: string): string => `'${status}'`;

/** `column IN ('a', 'b')` for statuses of core's. */
export function statusIn(column: string, statuses: readonly string[]): string {
  return `${column} IN (${statuses.map(literal).join(", ")})`;
}

/**
 * The transition `event` makes, narrowed to `only` (statuses it may leave) when a statement
 * takes fewer rows than the event allows; throws at startup for an event or a narrowing core
 * does not allow, so a statement cannot be built outside the state machine.
 */
export function transition<K extends StatusKind>(
  kind: K,
  event: TransitionEvent<K>,
  only?: readonly Statuses[K][],
): Transition<K> {
  const t = (TRANSITIONS[kind] as readonly Transition<K>[]).find((x) => x.event === event);
  if (!t) throw new Error(`core has no ${kind} event ${String(event)}`);
  const from = only ?? t.from;
  const outside = from.filter((s) => !t.from.includes(s));
  if (outside.length > 0) throw new Error(`${kind} ${String(event)} may not leave ${outside}`);
  return { event: t.event, from, to: t.to };
}

/** `status = 'to'` and the guard `column IN (from)` of an event, for a statement's text. */
function change<K extends StatusKind>(
  kind: K,
  event: TransitionEvent<K>,
  column = "status",
  only?: readonly Statuses[K][],
): { set: string; to: string; guard: string } {
  const t = transition(kind, event, only);
  return { set: `status = ${literal(t.to)}`, to: literal(t.to), guard: statusIn(column, t.from) };
}

// ---- leases ----

/** Leases `ids` (an SQL array expression) submitted at `at`. */
export function submitLeasesText(ids: string, at: string): string {
  const c = change("lease", "submitted");
  return `UPDATE leases SET ${c.set}, ended_at = ${at}, end_reason = 'submitted'
      WHERE id = ANY(${ids}) AND ${c.guard}`;
}

/**
 * Ends the active leases matching `where` with `status` (its event's name) and `reason`, and
 * hands each one's unit back in the same statement: open when its task still needs results,
 * else (or with `cancelUnits`) cancelled. Returns the statement; leases.ts runs it.
 */
export function endLeasesSql(
  where: SQL,
  status: Exclude<LeaseStatus, "active" | "submitted">,
  reason: string,
  now: Date,
  cancelUnits: boolean,
): SQL {
  const lease = change("lease", status, "leases.status");
  const returned = change("unit", "returned", "wu.status");
  const ended = change("unit", "ended", "wu.status");
  if (returned.guard !== ended.guard) throw new Error("a unit returns and ends from one status");
  return sql`WITH ended AS (
          UPDATE leases SET status = ${sql.raw(lease.to)}, ended_at = ${now}, end_reason = ${reason}
           WHERE ${sql.raw(lease.guard)} AND (${where})
       RETURNING leases.id, leases.car_id, leases.work_unit_id, leases.task_id
        ), units AS (
          -- A data-modifying CTE runs to completion whether or not it is read.
          UPDATE work_units wu
             SET status = CASE WHEN ${cancelUnits}::boolean
                                    OR NOT ${sql.raw(statusIn("t.status", UNDECIDED_TASK_STATUSES))}
                               THEN ${sql.raw(ended.to)} ELSE ${sql.raw(returned.to)} END
            FROM ended, tasks t
           WHERE wu.id = ended.work_unit_id AND t.id = ended.task_id AND ${sql.raw(returned.guard)}
       RETURNING wu.id
        )
        SELECT id, car_id, work_unit_id FROM ended`;
}

// ---- work units ----

/** Units `ids` whose results arrived. */
export function submitUnitsText(ids: string): string {
  const c = change("unit", "submitted");
  return `UPDATE work_units SET ${c.set} WHERE id = ANY(${ids}) AND ${c.guard}`;
}

/** Of units `ids`, those nobody claimed: no longer needed. */
export function dropUnitsText(ids: string): string {
  const c = change("unit", "dropped");
  return `UPDATE work_units SET ${c.set} WHERE id = ANY(${ids}) AND ${c.guard}`;
}

/** The units nobody claimed of one task or one job: no longer needed. Their count. */
export async function dropOpenUnits(
  tx: Executor,
  of: { taskId: string } | { jobId: string },
): Promise<number> {
  const c = change("unit", "dropped");
  const owner = "taskId" in of ? sql`task_id = ${of.taskId}` : sql`job_id = ${of.jobId}`;
  const dropped = await rows<{ n: number }>(
    tx,
    sql`WITH d AS (
          UPDATE work_units SET ${sql.raw(c.set)} WHERE ${owner} AND ${sql.raw(c.guard)}
          RETURNING 1
        ) SELECT count(*)::int AS n FROM d`,
  );
  return dropped[0]?.n ?? 0;
}

/**
 * The text for lease.ts's claim (`UPDATE work_units SET <set> WHERE … AND <guard>`): for the
 * claim statement to take its change from here.
 */
export const CLAIM_UNIT = change("unit", "claimed", "work_units.status");

// ---- tasks ----

/** Tasks `ids` made valid at `at`, with their interpretations from the relation `d`. */
export function validateTasksText(ids: string, at: string): string {
  const c = change("task", "validated", "tasks.status");
  return `UPDATE tasks SET ${c.set}, validated_at = ${at}, interpretation = d.interpretation
       FROM d WHERE tasks.id = ANY(${ids}) AND tasks.id = d.task_id AND ${c.guard}`;
}

/** Open tasks `ids` whose first result waits for its replicas. */
export function pendingTasksText(ids: string): string {
  const c = change("task", "pending");
  return `UPDATE tasks SET ${c.set} WHERE id = ANY(${ids}) AND ${c.guard}`;
}

/** A task's round that reached no quorum: the next round, `attempt`, starts open. */
export async function retryTask(tx: Executor, taskId: string, attempt: number): Promise<void> {
  const c = change("task", "retried");
  await tx.execute(
    sql`UPDATE tasks SET attempt = ${attempt}, ${sql.raw(c.set)}
         WHERE id = ${taskId} AND ${sql.raw(c.guard)}`,
  );
}

/** Fails an undecided task with `error`; whether it changed (once: a decided task is left). */
export async function failTaskRow(tx: Executor, taskId: string, error: string): Promise<boolean> {
  const c = change("task", "failed");
  const changed = await rows<{ id: string }>(
    tx,
    sql`UPDATE tasks SET ${sql.raw(c.set)}, error = ${error}
         WHERE id = ${taskId} AND ${sql.raw(c.guard)} RETURNING id`,
  );
  return changed.length > 0;
}

/** A job's undecided tasks fail with `error` and its unclaimed units are dropped; tasks failed. */
export async function failJobTasks(tx: Executor, jobId: string, error: string): Promise<number> {
  const task = change("task", "failed");
  const unit = change("unit", "dropped");
  const failed = await rows<{ n: number }>(
    tx,
    sql`WITH f AS (
          UPDATE tasks SET ${sql.raw(task.set)}, error = ${error}
           WHERE job_id = ${jobId} AND ${sql.raw(task.guard)}
          RETURNING 1
        ), u AS (
          UPDATE work_units SET ${sql.raw(unit.set)} WHERE job_id = ${jobId} AND ${sql.raw(unit.guard)}
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM f)::int AS n, (SELECT count(*) FROM u) AS units`,
  );
  return failed[0]?.n ?? 0;
}

/** A cancelled job's undecided tasks. */
export async function cancelJobTasks(tx: Executor, jobId: string): Promise<void> {
  const c = change("task", "cancelled");
  await tx.execute(
    sql`UPDATE tasks SET ${sql.raw(c.set)} WHERE job_id = ${jobId} AND ${sql.raw(c.guard)}`,
  );
}

/**
 * Valid tasks of the relation `s(task_id)` open again for a new round of `replicas` (a recheck),
 * their verdict's stamps cleared; returns (id, attempt) of each.
 */
export function reopenTasksSql(replicas: number): SQL {
  const c = change("task", "rechecked", "tasks.status");
  return sql`UPDATE tasks SET ${sql.raw(c.set)}, attempt = tasks.attempt + 1, replicas_required = ${replicas},
                       validated_at = NULL, interpretation = NULL
       WHERE tasks.id IN (SELECT task_id FROM s) AND ${sql.raw(c.guard)}
      RETURNING tasks.id, tasks.attempt`;
}

// ---- jobs ----

/**
 * Counts decided tasks toward their jobs, from a relation `g(job_id, validated, failed)` that the
 * statement defines, at `at` (an SQL expression); a live job completes (or fails) with its last
 * task, once, and runs while tasks remain. An ended job's counts still move; its status does not.
 */
export function jobProgressText(at: string): string {
  const running = change("job", "progressed", "jobs.status");
  const completed = change("job", "completed", "jobs.status");
  const failed = change("job", "failed", "jobs.status");
  if (running.guard !== completed.guard || completed.guard !== failed.guard)
    throw new Error("a job progresses, completes and fails from the same statuses");
  const live = running.guard;
  const decided = `jobs.tasks_validated + jobs.tasks_failed + g.validated + g.failed >= jobs.task_count`;
  return `UPDATE jobs SET
          tasks_validated = jobs.tasks_validated + g.validated,
          tasks_failed = jobs.tasks_failed + g.failed,
          status = CASE
            WHEN NOT ${live} THEN jobs.status
            WHEN ${decided} THEN CASE WHEN jobs.tasks_failed + g.failed > 0 THEN ${failed.to} ELSE ${completed.to} END
            ELSE ${running.to} END,
          completed_at = CASE
            WHEN ${live} AND ${decided} THEN ${at} ELSE jobs.completed_at END
        FROM g WHERE jobs.id = g.job_id`;
}

/**
 * Jobs of the relation `g(job_id, n)` lose `n` validated tasks each (a recheck withdrew them);
 * an ended job whose answers were withdrawn runs again.
 */
export function rerunJobsSql(): SQL {
  const c = change("job", "rechecked", "jobs.status");
  return sql.raw(`UPDATE jobs SET
      tasks_validated = jobs.tasks_validated - g.n,
      status = CASE WHEN ${c.guard} THEN ${c.to} ELSE jobs.status END,
      completed_at = CASE WHEN ${c.guard} THEN NULL ELSE jobs.completed_at END
      FROM g WHERE jobs.id = g.job_id`);
}

/**
 * The text for lease.ts's claim (`UPDATE jobs SET <set> WHERE … AND <guard>`): a queued job runs
 * once a car claims its work.
 */
export const START_JOB = change("job", "claimed", "jobs.status");

/** A live job fails for `reason` (deadline, budget) with `tasksFailed` more failed tasks; whether it changed. */
export async function failJob(
  tx: Executor,
  jobId: string,
  reason: string,
  tasksFailed: number,
  now: Date,
): Promise<boolean> {
  const c = change("job", "overdue");
  const changed = await rows<{ id: string }>(
    tx,
    sql`UPDATE jobs SET ${sql.raw(c.set)}, end_reason = ${reason}, completed_at = ${now},
                        tasks_failed = tasks_failed + ${tasksFailed}
         WHERE id = ${jobId} AND ${sql.raw(c.guard)}
        RETURNING id`,
  );
  return changed.length > 0;
}

/** A live job cancelled at `now`; whether it changed. */
export async function cancelJobRow(tx: Executor, jobId: string, now: Date): Promise<boolean> {
  const c = change("job", "cancelled");
  const changed = await rows<{ id: string }>(
    tx,
    sql`UPDATE jobs SET ${sql.raw(c.set)}, completed_at = ${now}
         WHERE id = ${jobId} AND ${sql.raw(c.guard)} RETURNING id`,
  );
  return changed.length > 0;
}
