// A car hands back the output of a lease. At-least-once execution, exactly-once accounting: the
// result and its ledger entry are written once per lease whatever is retried, the task is decided
// once (its row is locked while it is decided), and its job completes once.
import { workCost } from "@nightshift/core/energy";
import {
  afterResult,
  afterValidResults,
  decideQuorum,
  outputsAgree,
  type QuorumOutcome,
} from "@nightshift/core/verify";
import {
  cars,
  jobs,
  ledgerEntries,
  leases,
  results,
  tasks,
  verifications,
  workUnits,
} from "@nightshift/db/schema";
import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { sha256Hex } from "../crypto";
import { badRequest, notFound } from "../errors";
import { ZUuid } from "../schemas";
import { type ApiState, monotonicMs } from "../state";
import { type ModelRow, reputationOf, toRegion, toS, toVehicle } from "./convert";
import { type Tx, inTx, rows, uuidArray } from "./db";
import { endLeases } from "./leases";

/** Most numbers in one output; ApiConfig.maxOutputValues may lower it. */
export const MAX_OUTPUT_VALUES = 1024 * 1024;

export const ZSubmitInput = z
  .object({
    leaseId: ZUuid,
    output: z.array(z.number()).max(MAX_OUTPUT_VALUES),
    /** How long the inference took on the car; capped at the lease's age for the ledger. */
    durationMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3600 * 1000),
    backend: z.enum(["webgpu", "wasm", "native"]),
  })
  .strict();
export type SubmitInput = z.infer<typeof ZSubmitInput>;

export const ZVerdict = z.enum(["valid", "invalid", "pending", "failed"]);
export type Verdict = z.infer<typeof ZVerdict>;

export const ZSubmitOutput = z.object({
  accepted: z.boolean(),
  /** This result's standing: agreed with the quorum (paid), disagreed, awaiting replicas, or no quorum. */
  verdict: ZVerdict.nullable(),
  /** Why a result was not accepted. */
  reason: z.string().nullable(),
  /** True when this lease's result was already recorded: nothing new was written. */
  duplicate: z.boolean(),
});
export type SubmitOutput = z.infer<typeof ZSubmitOutput>;

/** Values an output must have, from the model's output spec ({ dims } or { length }); null: any. */
export function expectedOutputLength(spec: unknown): number | null {
  const s = spec as { dims?: unknown; length?: unknown } | null;
  if (s && typeof s.length === "number") return s.length;
  if (s && Array.isArray(s.dims) && s.dims.every((d) => Number.isInteger(d) && d > 0)) {
    return (s.dims as number[]).reduce((a, b) => a * b, 1);
  }
  return null;
}

export async function submit(
  deps: ApiDeps,
  state: ApiState,
  carId: string,
  input: SubmitInput,
): Promise<SubmitOutput> {
  if (input.output.length > deps.config.maxOutputValues) {
    throw badRequest("output", `at most ${deps.config.maxOutputValues} values`);
  }
  const now = deps.now();
  const models = await state.models.get(monotonicMs());
  const regions = await state.regions.get(monotonicMs());
  return inTx(deps.db, async (tx) => {
    // One statement reads everything and locks the lease, then the task: concurrent results of
    // one task are decided one after the other, each seeing those committed before it.
    const [row] = await tx
      .select({
        lease: leases,
        task: tasks,
        job: jobs,
        unit: workUnits,
        car: cars,
        previous: results.id,
      })
      .from(leases)
      .innerJoin(tasks, eq(tasks.id, leases.taskId))
      .innerJoin(jobs, eq(jobs.id, tasks.jobId))
      .innerJoin(workUnits, eq(workUnits.id, leases.workUnitId))
      .innerJoin(cars, eq(cars.id, leases.carId))
      .leftJoin(results, eq(results.leaseId, leases.id))
      .where(eq(leases.id, input.leaseId))
      .for("update", { of: [leases, tasks] });
    // Another car's lease is as unknown to this car as one that does not exist.
    if (!row || row.lease.carId !== carId) throw notFound("leaseId", input.leaseId);
    const { lease: l, task, job, unit, car } = row;
    // A retry finds the result. One that waited on the lock while the first submit committed
    // sees the lease 'submitted' (the lock re-reads the locked rows only, not the joined result).
    if (row.previous || l.status === "submitted") {
      return { accepted: true, verdict: await verdictOf(tx, l.id), reason: null, duplicate: true };
    }
    if (l.status !== "active")
      return { accepted: false, verdict: null, reason: `lease ${l.status}`, duplicate: false };
    if (job.status === "cancelled" || task.status === "cancelled") {
      return { accepted: false, verdict: null, reason: "job cancelled", duplicate: false };
    }
    const model = models.get(job.modelId);
    const regionRow = regions.get(car.regionId);
    if (!model || !regionRow)
      throw notFound(model ? "region" : "model", model ? car.regionId : job.modelId);
    const expected = expectedOutputLength(model.outputSpec);
    if (expected !== null && input.output.length !== expected) {
      throw badRequest(
        "output",
        `model ${model.id} outputs ${expected} values, got ${input.output.length}`,
      );
    }

    // The ledger: core's cost of the run on this car, now, in its region. A car cannot claim
    // to have worked longer than it held the lease.
    const durationS = Math.min(
      input.durationMs / 1000,
      Math.max(0, (now.getTime() - l.leasedAt.getTime()) / 1000),
    );
    const cost = workCost(
      toVehicle(car),
      toRegion(regionRow),
      { startS: toS(now) - durationS, durationS, teraOps: model.teraOpsPerInference },
      deps.config.schedule.cost,
    );
    const output = JSON.stringify(input.output);
    // The result, the lease and unit closed, the ledger entry: one statement, one round trip.
    // Results keep arrival order (clock_timestamp, not the transaction's start): it breaks ties
    // between groups of replicas.
    await tx.execute(sql`
      WITH r AS (
        INSERT INTO results (lease_id, task_id, car_id, output, output_sha256, duration_ms, backend, created_at)
        VALUES (${l.id}, ${task.id}, ${carId}, ${output}::jsonb, ${sha256Hex(output)}, ${input.durationMs},
                ${input.backend}, clock_timestamp())
      ), l AS (
        UPDATE leases SET status = 'submitted', ended_at = ${now}, end_reason = 'submitted' WHERE id = ${l.id}
      ), u AS (
        UPDATE work_units SET status = 'done' WHERE id = ${unit.id}
      )
      INSERT INTO ${ledgerEntries} (
        ${sql.identifier("lease_id")}, ${sql.identifier("task_id")}, ${sql.identifier("job_id")},
        ${sql.identifier("tenant_id")}, ${sql.identifier("car_id")}, ${sql.identifier("owner_id")},
        ${sql.identifier("region_id")}, ${colName(ledgerEntries.energyKWh)}, ${colName(ledgerEntries.gridEnergyKWh)},
        ${colName(ledgerEntries.batteryEnergyKWh)}, ${colName(ledgerEntries.costUsd)}, ${colName(ledgerEntries.carbonG)},
        ${colName(ledgerEntries.payoutOwedUsd)})
      VALUES (${l.id}, ${task.id}, ${job.id}, ${job.tenantId}, ${carId}, ${car.ownerId}, ${car.regionId},
              ${cost.energyKWh}, ${cost.gridEnergyKWh}, ${cost.batteryEnergyKWh}, ${cost.costUsd}, ${cost.carbonG},
              ${cost.ownerPayoutUsd})`);

    const verdict = await verify(tx, deps, {
      task,
      model,
      leaseId: l.id,
      attempt: unit.attempt,
      output: input.output,
      now,
    });
    return { accepted: true, verdict, reason: null, duplicate: false };
  });
}

/** A column's name as PostgreSQL spells it (drizzle's snake_case casing of the TypeScript key). */
function colName(column: { name: string }): SQL {
  return sql`${sql.identifier(toSnakeCase(column.name))}`;
}

type TaskRow = typeof tasks.$inferSelect;

interface VerifyArgs {
  task: TaskRow;
  model: ModelRow;
  leaseId: string;
  /** The round of replicas the new result belongs to. */
  attempt: number;
  output: number[];
  now: Date;
}

/** Decides the task (locked by the caller) after a new result; returns that result's verdict. */
async function verify(tx: Tx, deps: ApiDeps, a: VerifyArgs): Promise<Verdict> {
  const { task, model, now } = a;
  const cfg = deps.config.verification;
  if (task.status === "valid") {
    // A replica that was still running when the quorum formed: compared with the answer, paid
    // when it agrees, and it counts toward its car's reputation either way.
    const [v] = await tx.select().from(verifications).where(eq(verifications.taskId, task.id));
    const [canonical] = v?.canonicalResultId
      ? await tx
          .select({ output: results.output })
          .from(results)
          .where(eq(results.id, v.canonicalResultId))
      : [];
    const agrees =
      canonical !== undefined && outputsAgree(a.output, canonical.output, model.tolerance);
    if (agrees) await payLedger(tx, [a.leaseId], now);
    const [carId] = await carsOfLeases(tx, [a.leaseId]);
    if (carId) await updateReputations(tx, deps, agrees ? [carId] : [], agrees ? [] : [carId], now);
    return agrees ? "valid" : "invalid";
  }
  if (task.status === "failed" || a.attempt < task.attempt) return "failed";

  const inRound = await rows<{
    result_id: string;
    lease_id: string;
    car_id: string;
    owner_id: string;
    output: number[];
  }>(
    tx,
    sql`SELECT r.id AS result_id, r.lease_id, r.car_id, l.owner_id, r.output
          FROM results r
          JOIN leases l ON l.id = r.lease_id
          JOIN work_units wu ON wu.id = l.work_unit_id
         WHERE r.task_id = ${task.id} AND wu.attempt = ${task.attempt}
         ORDER BY r.created_at, r.id`,
  );
  const outcome: QuorumOutcome = decideQuorum(
    inRound.map((r) => ({
      replicaId: r.lease_id,
      vehicleId: r.car_id,
      ownerId: r.owner_id,
      output: r.output,
    })),
    task.replicasRequired ?? 1,
    model.tolerance,
    cfg,
  );

  if (outcome.status === "pending") {
    // The task awaits replicas; disagreeing ones may need more: top the round up to what the
    // quorum still lacks.
    const [{ outstanding } = { outstanding: 0 }] = await rows<{ outstanding: number }>(
      tx,
      sql`WITH t AS (UPDATE tasks SET status = 'verifying' WHERE id = ${task.id} AND status = 'open')
          SELECT count(*)::int AS outstanding FROM work_units
           WHERE task_id = ${task.id} AND attempt = ${task.attempt} AND status IN ('open', 'leased')`,
    );
    if (outstanding < outcome.moreReplicas)
      await addUnits(tx, task, outcome.moreReplicas - outstanding);
    return "pending";
  }

  if (outcome.status === "valid") {
    const canonical = inRound.find((r) => r.lease_id === outcome.canonicalReplicaId);
    // The verdict, the task, the agreeing replicas' pay, the replicas nobody took yet (no longer
    // needed; running ones finish and are compared) and the job's progress: one statement.
    await tx.execute(sql`
      WITH v AS (
        INSERT INTO verifications (task_id, status, canonical_result_id, support, agreeing, disagreeing, decided_at)
        VALUES (${task.id}, 'valid', ${canonical?.result_id ?? null}, ${outcome.support}, ${outcome.agreeing.length},
                ${outcome.disagreeing.length}, ${now})
      ), t AS (
        UPDATE tasks SET status = 'valid', validated_at = ${now} WHERE id = ${task.id}
      ), p AS (
        UPDATE ledger_entries SET validated = true, payout_usd = payout_owed_usd, validated_at = ${now}
         WHERE lease_id = ANY(${uuidArray(outcome.agreeing)}) AND NOT validated
      ), c AS (
        UPDATE work_units SET status = 'cancelled' WHERE task_id = ${task.id} AND status = 'open'
      )
      ${finishTaskSql(task.jobId, "valid", now)}`);
    // An unreplicated result (support 1) was checked by nobody: paid, not counted (core's rule).
    if (outcome.support > 1) {
      const carOf = new Map(inRound.map((r) => [r.lease_id, r.car_id]));
      const ids = (leaseIds: string[]) =>
        leaseIds.map((id) => carOf.get(id)).filter((c): c is string => c !== undefined);
      await updateReputations(tx, deps, ids(outcome.agreeing), ids(outcome.disagreeing), now);
    }
    return outcome.agreeing.includes(a.leaseId) ? "valid" : "invalid";
  }

  // Failed: no group of this round can reach a quorum. Another round on other cars, or the end.
  await tx
    .update(workUnits)
    .set({ status: "cancelled" })
    .where(and(eq(workUnits.taskId, task.id), eq(workUnits.status, "open")));
  if (task.attempt + 1 < deps.config.maxTaskAttempts) {
    const next = { ...task, attempt: task.attempt + 1 };
    await tx
      .update(tasks)
      .set({ attempt: next.attempt, status: "open" })
      .where(eq(tasks.id, task.id));
    await addUnits(tx, next, task.replicasRequired ?? 1);
  } else {
    await tx.insert(verifications).values({
      taskId: task.id,
      status: "failed",
      canonicalResultId: null,
      support: 0,
      agreeing: 0,
      disagreeing: outcome.disagreeing.length,
      decidedAt: now,
    });
    await tx.update(tasks).set({ status: "failed" }).where(eq(tasks.id, task.id));
    await tx.execute(finishTaskSql(task.jobId, "failed", now));
  }
  return "failed";
}

/** Adds `count` open units to the task's current round, after its existing replicas. */
async function addUnits(tx: Tx, task: TaskRow, count: number): Promise<void> {
  const [first] = await tx
    .select()
    .from(workUnits)
    .where(eq(workUnits.taskId, task.id))
    .orderBy(asc(workUnits.replicaIndex))
    .limit(1);
  const [{ top } = { top: -1 }] = await rows<{ top: number }>(
    tx,
    sql`SELECT coalesce(max(replica_index), -1)::int AS top FROM work_units WHERE task_id = ${task.id}`,
  );
  if (!first || count <= 0) return;
  await tx.insert(workUnits).values(
    Array.from({ length: count }, (_, i) => ({
      taskId: task.id,
      jobId: first.jobId,
      tenantId: first.tenantId,
      priority: first.priority,
      replicaIndex: top + 1 + i,
      taskOrder: first.taskOrder,
      attempt: task.attempt,
    })),
  );
}

/** Counts a decided task toward its job; the job completes with its last task, once. */
function finishTaskSql(jobId: string, outcome: "valid" | "failed", now: Date): SQL {
  const validated = outcome === "valid" ? 1 : 0;
  const failed = outcome === "failed" ? 1 : 0;
  return sql`UPDATE jobs SET
          tasks_validated = tasks_validated + ${validated},
          tasks_failed = tasks_failed + ${failed},
          status = CASE
            WHEN status IN ('cancelled', 'completed', 'failed') THEN status
            WHEN tasks_validated + tasks_failed + 1 >= task_count
              THEN CASE WHEN tasks_failed + ${failed} > 0 THEN 'failed' ELSE 'completed' END
            ELSE 'running' END,
          completed_at = CASE
            WHEN status NOT IN ('cancelled', 'completed', 'failed') AND tasks_validated + tasks_failed + 1 >= task_count
              THEN ${now}::timestamptz ELSE completed_at END
        WHERE id = ${jobId}`;
}

async function payLedger(tx: Tx, leaseIds: readonly string[], now: Date): Promise<void> {
  if (leaseIds.length === 0) return;
  await tx
    .update(ledgerEntries)
    .set({ validated: true, payoutUsd: sql`${ledgerEntries.payoutOwedUsd}`, validatedAt: now })
    .where(and(inArray(ledgerEntries.leaseId, [...leaseIds]), eq(ledgerEntries.validated, false)));
}

async function carsOfLeases(tx: Tx, leaseIds: readonly string[]): Promise<string[]> {
  if (leaseIds.length === 0) return [];
  const found = await tx
    .select({ carId: leases.carId })
    .from(leases)
    .where(inArray(leases.id, [...leaseIds]));
  return found.map((f) => f.carId);
}

/**
 * Core's reputation rules for checked results: agreeing cars gain a valid result, disagreeing
 * ones an invalid one, which may quarantine them (their leases then end at once). Car rows are
 * locked in id order so that concurrent verdicts cannot deadlock on them.
 */
async function updateReputations(
  tx: Tx,
  deps: ApiDeps,
  valid: string[],
  invalid: string[],
  now: Date,
): Promise<void> {
  const ids = [...new Set([...valid, ...invalid])].sort();
  if (ids.length === 0) return;
  const locked = await rows<{
    id: string;
    valid_results: number;
    invalid_results: number;
    consecutive_valid: number;
    quarantined: boolean;
  }>(
    tx,
    sql`SELECT id, valid_results, invalid_results, consecutive_valid, quarantined
          FROM cars WHERE id = ANY(${uuidArray(ids)}) ORDER BY id FOR UPDATE`,
  );
  const good = new Set(valid);
  const updates = locked.map((c) => {
    const rep = reputationOf({
      validResults: c.valid_results,
      invalidResults: c.invalid_results,
      consecutiveValid: c.consecutive_valid,
      quarantined: c.quarantined,
    });
    const next = good.has(c.id)
      ? afterValidResults(rep, 1)
      : afterResult(rep, false, deps.config.verification);
    return { id: c.id, rep, next };
  });
  const values = sql.join(
    updates.map(
      ({ id, next }) =>
        sql`(${id}::uuid, ${next.validResults}::int, ${next.invalidResults}::int, ${next.consecutiveValid}::int, ${next.quarantined}::boolean)`,
    ),
    sql`, `,
  );
  await tx.execute(sql`
    UPDATE cars SET valid_results = v.valid, invalid_results = v.invalid, consecutive_valid = v.streak, quarantined = v.quarantined
      FROM (VALUES ${values}) AS v(id, valid, invalid, streak, quarantined)
     WHERE cars.id = v.id`);
  for (const { id, rep, next } of updates) {
    if (next.quarantined && !rep.quarantined) {
      await endLeases(tx, sql`leases.car_id = ${id}`, "cancelled", "quarantined", now);
    }
  }
}

/** The standing of a lease's recorded result, for a retried submit. */
async function verdictOf(tx: Tx, leaseId: string): Promise<Verdict> {
  const [row] = await rows<{
    task_status: string;
    validated: boolean;
    unit_attempt: number;
    task_attempt: number;
  }>(
    tx,
    sql`SELECT t.status AS task_status, le.validated, wu.attempt AS unit_attempt, t.attempt AS task_attempt
          FROM leases l
          JOIN tasks t ON t.id = l.task_id
          JOIN work_units wu ON wu.id = l.work_unit_id
          JOIN ledger_entries le ON le.lease_id = l.id
         WHERE l.id = ${leaseId}`,
  );
  if (!row) return "pending";
  if (row.validated) return "valid";
  if (row.task_status === "valid") return "invalid";
  if (row.task_status === "failed" || row.unit_attempt < row.task_attempt) return "failed";
  return "pending";
}
