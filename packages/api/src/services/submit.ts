// A car hands back the output of a lease. At-least-once execution, exactly-once accounting: the
// result and its ledger entry are written once per lease whatever is retried, the task is decided
// once (its row is locked while it is decided), and its job completes once.
import { randomUUID } from "node:crypto";
import { workCost } from "@nightshift/core/energy";
import { estimatedRunS } from "@nightshift/core/hardware";
import { paidDurationS, payableVehicle } from "@nightshift/core/pay";
import { wallSpanS, worldS, worldSpanS } from "@nightshift/core/time-scale";
import type { Objective } from "@nightshift/core/types";
import { outputDims, teraOpsFor } from "@nightshift/models/preprocess";
import { getManifest } from "@nightshift/models/registry";
import {
  type LedgerSettlement,
  type NewResult,
  questionedCars,
  reputationChanges,
  type RoundChange,
  settle,
  type StoredRound,
} from "@nightshift/core/settle";
import type { TaskStatus } from "@nightshift/core/status";
import { cars, verifications, workUnits } from "@nightshift/db/schema";
import { asc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { sha256Hex } from "../crypto";
import { badRequest, notFound } from "../errors";
import { ZUuid } from "../schemas";
import { type ApiState, monotonicMs } from "../state";
import { type CarRow, type ModelRow, reputationOf, toRegion, toS, toVehicle } from "./convert";
import { type Executor, inPipelinedTx, type PipelinedTx, prepared, rows, selectList } from "./db";
import { MAX_LEASE_PER_CALL } from "../config";
import { interpret } from "./interpret";
import { endLeases } from "./leases";
import { recheckUnchecked } from "./recheck";
import {
  dropOpenUnits,
  dropUnitsText,
  failTaskRow,
  jobProgressText,
  pendingTasksText,
  retryTask,
  submitLeasesText,
  submitUnitsText,
  validateTasksText,
} from "./transitions";

/** Most numbers in one output; ApiConfig.maxOutputValues may lower it. */
export const MAX_OUTPUT_VALUES = 1024 * 1024;

export const ZSubmitInput = z
  .object({
    leaseId: ZUuid,
    output: z.array(z.number()).max(MAX_OUTPUT_VALUES),
    /**
     * How long the inference took on the car: its word, which can only lower its pay (the ledger
     * pays for no longer than the lease's age or the server's estimate of the run).
     */
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

/** Values one output of an image model holds for an image of this size; null when unknown. */
export function imageOutputLength(
  modelId: string,
  image: { width: number; height: number } | null | undefined,
): number | null {
  const m = getManifest(modelId);
  if (!m || !image || m.preprocess.kind !== "image") return null;
  const dims = outputDims(m, image);
  return dims ? dims.reduce((a, b) => a * b, 1) : null;
}

/**
 * Tera-operations of one task's inference: the registry's figure scaled by the input's pixels
 * for models whose input size follows the image; the models table's figure otherwise.
 */
export function taskTeraOps(
  model: { id: string; teraOpsPerInference: number },
  image: { width: number; height: number } | null | undefined,
): number {
  const m = getManifest(model.id);
  return m?.referencePixels && image ? teraOpsFor(m, image) : model.teraOpsPerInference;
}

/** Most results in one `node.submitMany` call: a full lease's worth. */
export const MAX_SUBMIT_PER_CALL = MAX_LEASE_PER_CALL;

export const ZSubmitManyInput = z
  .object({ results: z.array(ZSubmitInput).min(1).max(MAX_SUBMIT_PER_CALL) })
  .strict();
export type SubmitManyInput = z.infer<typeof ZSubmitManyInput>;

export const ZSubmitManyOutput = z.object({
  /** One answer per result, in the order they were given. */
  results: z.array(ZSubmitOutput.extend({ leaseId: ZUuid })),
});
export type SubmitManyOutput = z.infer<typeof ZSubmitManyOutput>;

/** One result: `node.submit`, the same path as a batch of one. */
export async function submit(
  deps: ApiDeps,
  state: ApiState,
  carId: string,
  input: SubmitInput,
): Promise<SubmitOutput> {
  const [out] = await submitResults(deps, state, carId, [input], (_i, field) => field);
  return out as SubmitOutput;
}

/** Several results of one car in one call and one transaction (`node.submitMany`). */
export async function submitMany(
  deps: ApiDeps,
  state: ApiState,
  carId: string,
  input: SubmitManyInput,
): Promise<SubmitManyOutput> {
  const verdicts = await submitResults(
    deps,
    state,
    carId,
    input.results,
    (i, field) => `results[${i}].${field}`,
  );
  return {
    results: verdicts.map((v, i) => ({ ...v, leaseId: (input.results[i] as SubmitInput).leaseId })),
  };
}

/** A task as submit decides it. */
interface TaskState {
  id: string;
  jobId: string;
  status: TaskStatus;
  attempt: number;
  replicasRequired: number | null;
  /** The input image's size, for putting boxes back into its pixels; null for tensor inputs. */
  image?: { width: number; height: number } | null;
}

/** One locked lease and what its result is judged by. */
interface Locked {
  leaseId: string;
  carId: string;
  status: string;
  leasedAt: Date;
  expiresAt: Date;
  unitId: number;
  unitAttempt: number;
  /** The unit is a canary: a validated task issued again to check this car. */
  canary: boolean;
  task: TaskState;
  jobStatus: string;
  modelId: string;
  tenantId: string;
  /** The job's replicas per task; null: "auto". */
  replication: number | null;
  /** What the job is scheduled for, and when it came: the baseline of what deferring saved. */
  objective: Objective;
  jobSubmittedAt: Date;
  /** The result already recorded for this lease, if any. */
  previous: string | null;
}

/**
 * The leases, then their tasks, locked in task order: the results of one task are decided one
 * after another, each seeing those committed before it, and two calls sharing tasks wait on each
 * other in one order. Rows are found by primary key; whose leases they are is checked after.
 */
const LOCK_LEASES = prepared(
  "submit_lock",
  `SELECT l.id AS "leaseId", l.car_id AS "carId", l.status, l.leased_at AS "leasedAt",
          l.expires_at AS "expiresAt",
          l.work_unit_id AS "unitId", wu.attempt AS "unitAttempt", wu.canary,
          json_build_object('id', t.id, 'jobId', t.job_id, 'status', t.status, 'attempt', t.attempt,
                            'replicasRequired', t.replicas_required, 'image', t.input->'image') AS task,
          j.status AS "jobStatus", j.model_id AS "modelId", j.tenant_id AS "tenantId",
          j.replication, j.objective, j.submitted_at AS "jobSubmittedAt",
          r.id AS previous
     FROM leases l
     JOIN tasks t ON t.id = l.task_id
     JOIN jobs j ON j.id = t.job_id
     JOIN work_units wu ON wu.id = l.work_unit_id
     LEFT JOIN results r ON r.lease_id = l.id
    WHERE l.id = ANY($1::uuid[])
    ORDER BY t.id
      FOR UPDATE OF l, t`,
);

/** The car, and whether an operator vouched for its owner (core's quorumOwner). */
const CAR = prepared(
  "submit_car",
  `SELECT ${selectList(cars, "c")}, o.vouched
     FROM cars c JOIN owners o ON o.id = c.owner_id WHERE c.id = $1::uuid`,
);

/**
 * The rounds the new results join, as stored once the tasks are locked (it runs after
 * LOCK_LEASES, in the same round trip): for each replicated task of the leases, the units of its
 * current round still open or leased, its units nobody claimed, and the round's results in
 * arrival order; for a task already valid, the canonical result's output. An unreplicated task
 * has no row: its round holds just the one unit's result. Units are found through the index on
 * (task_id, replica_index) and filtered after, so no plan walks every open unit. Each result says
 * whether its car is trusted now ($2: core's trustAfterConsecutiveValid): a car caught since its
 * result arrived no longer vouches for it.
 */
const READ_ROUNDS = prepared(
  "submit_rounds",
  `SELECT t.id AS task_id, u.outstanding, u.open_units,
          coalesce((
            SELECT json_agg(json_build_object('resultId', r.id, 'leaseId', r.lease_id, 'carId', r.car_id,
                                              'ownerId', rl.owner_id, 'output', r.output,
                                              'trusted', rc.consecutive_valid >= $2::int AND NOT rc.quarantined,
                                              'vouched', (SELECT o.vouched FROM owners o WHERE o.id = rl.owner_id))
                            ORDER BY r.created_at, r.id)
              FROM results r
              JOIN leases rl ON rl.id = r.lease_id
              JOIN work_units wu ON wu.id = rl.work_unit_id
              JOIN cars rc ON rc.id = r.car_id
             WHERE r.task_id = t.id AND wu.attempt = t.attempt AND t.status <> 'valid'), '[]') AS round,
          (SELECT c.output FROM verifications v JOIN results c ON c.id = v.canonical_result_id
            WHERE v.task_id = t.id AND t.status = 'valid') AS canonical
     FROM leases l
     JOIN tasks t ON t.id = l.task_id
     CROSS JOIN LATERAL (
       SELECT (count(*) FILTER (WHERE wu.attempt = t.attempt AND wu.status IN ('open', 'leased')))::int AS outstanding,
              coalesce(array_agg(wu.id) FILTER (WHERE wu.status = 'open'), '{}') AS open_units
         FROM work_units wu WHERE wu.task_id = t.id) u
    WHERE l.id = ANY($1::uuid[]) AND (t.replicas_required > 1 OR t.status = 'valid')`,
);

/**
 * Cars an invalid verdict reaches, locked in id order (concurrent verdicts cannot deadlock on
 * them) for core's rules, which may quarantine them. FOR NO KEY UPDATE: it does not conflict
 * with the key-share locks that new leases of these cars take through their foreign key.
 */
const LOCK_REPUTATIONS = prepared(
  "submit_reputations",
  `SELECT id, valid_results, invalid_results, consecutive_valid, quarantined
     FROM cars WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`,
);

/**
 * Everything the verdicts imply, in one statement: the results, leases and units closed, the
 * ledger entries (written paid when valid: a statement cannot see its own inserts), the
 * verifications, tasks, the other replicas' pay, the cars' reputations, and each job's progress
 * (the job completes once, with its last task). Parts touch disjoint rows (this call's leased
 * units vs. open ones; valid vs. pending tasks), and each finds its rows by primary key or
 * through an index (the arrays), whatever the planner thinks of the JSON's size. Results keep
 * arrival order (clock_timestamp, not the transaction's start): it breaks ties between groups of
 * replicas.
 *
 * The job is the one row all of its cars' submits share. Reading every other part first (the
 * `settled` count) makes them run before the job rows are locked, and COMMIT follows in the
 * same round trip: the job row is held for the commit alone.
 */
const WRITE = prepared(
  "submit_write",
  `WITH w AS (
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS w(
       result_id uuid, lease_id uuid, task_id uuid, job_id uuid, tenant_id text, output text,
       output_sha256 text, duration_ms int, backend text, energy_k_wh float8, grid_energy_k_wh float8,
       battery_energy_k_wh float8, cost_usd float8, carbon_g float8, soonest_cost_usd float8,
       soonest_carbon_g float8, payout_owed_usd float8, payout_usd float8, validated boolean,
       settles_at timestamptz)
   ), r AS (
     INSERT INTO results (id, lease_id, task_id, car_id, output, output_sha256, duration_ms, backend, created_at)
     SELECT result_id, lease_id, task_id, $2::uuid, output::jsonb, output_sha256, duration_ms, backend,
            clock_timestamp() FROM w
     RETURNING 1
   ), l AS (
     ${submitLeasesText("$6::uuid[]", "$5::timestamptz")}
     RETURNING 1
   ), u AS (
     ${submitUnitsText("$7::bigint[]")}
     RETURNING 1
   ), e AS (
     INSERT INTO ledger_entries (lease_id, task_id, job_id, tenant_id, car_id, owner_id, region_id,
                                 energy_k_wh, grid_energy_k_wh, battery_energy_k_wh, cost_usd, carbon_g,
                                 soonest_cost_usd, soonest_carbon_g,
                                 payout_owed_usd, payout_usd, validated, validated_at, settles_at)
     SELECT lease_id, task_id, job_id, tenant_id, $2::uuid, $3::uuid, $4::text, energy_k_wh, grid_energy_k_wh,
            battery_energy_k_wh, cost_usd, carbon_g, soonest_cost_usd, soonest_carbon_g,
            payout_owed_usd, payout_usd, validated,
            CASE WHEN validated THEN $5::timestamptz END, settles_at
       FROM w
     RETURNING 1
   ), d AS (
     SELECT * FROM jsonb_to_recordset($8::jsonb) AS d(
       task_id uuid, canonical_result_id uuid, support int, agreeing int, disagreeing int,
       interpretation jsonb)
   ), v AS (
     INSERT INTO verifications (task_id, status, canonical_result_id, support, agreeing, disagreeing, decided_at)
     SELECT task_id, 'valid', canonical_result_id, support, agreeing, disagreeing, $5::timestamptz FROM d
     RETURNING 1
   ), tv AS (
     ${validateTasksText("$9::uuid[]", "$5::timestamptz")}
     RETURNING 1
   ), c AS (
     -- The replicas nobody took yet are no longer needed; running ones finish and are compared.
     ${dropUnitsText("$16::bigint[]")}
     RETURNING 1
   ), tp AS (
     -- Tasks this call holds locked, known to be 'open'.
     ${pendingTasksText("$10::uuid[]")}
     RETURNING 1
   ), p AS (
     UPDATE ledger_entries SET validated = true, payout_usd = payout_owed_usd, validated_at = $5::timestamptz
      WHERE lease_id = ANY($11::uuid[]) AND NOT validated
     RETURNING 1
   ), rep_lock AS (
     -- Car rows in id order: two submits that share cars take them in the same order.
     SELECT id FROM cars WHERE id = ANY($13::uuid[]) ORDER BY id FOR NO KEY UPDATE
   ), rep AS (
     UPDATE cars SET
       valid_results = CASE WHEN x.relative THEN cars.valid_results + x.valid_results ELSE x.valid_results END,
       invalid_results = CASE WHEN x.relative THEN cars.invalid_results + x.invalid_results ELSE x.invalid_results END,
       consecutive_valid = CASE WHEN x.relative THEN cars.consecutive_valid + x.consecutive_valid ELSE x.consecutive_valid END,
       quarantined = CASE WHEN x.relative THEN cars.quarantined ELSE x.quarantined END
       FROM jsonb_to_recordset($12::jsonb) AS x(
         id uuid, relative boolean, valid_results int, invalid_results int, consecutive_valid int, quarantined boolean)
      WHERE cars.id IN (SELECT id FROM rep_lock) AND cars.id = x.id
     RETURNING 1
   ), settled AS (
     SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM l) + (SELECT count(*) FROM u)
          + (SELECT count(*) FROM e) + (SELECT count(*) FROM v) + (SELECT count(*) FROM tv)
          + (SELECT count(*) FROM c) + (SELECT count(*) FROM tp) + (SELECT count(*) FROM p)
          + (SELECT count(*) FROM rep) AS n
   ), g AS (
     SELECT x.* FROM settled, jsonb_to_recordset($14::jsonb) AS x(job_id uuid, validated int, failed int)
      WHERE settled.n >= 0
   )
   ${jobProgressText("$5::timestamptz")}
     AND jobs.id = ANY($15::uuid[])`,
);

/** A result that is new and counts: written, costed and verified in this call. */
interface Accepted {
  index: number;
  input: SubmitInput;
  row: Locked;
  model: ModelRow;
  resultId: string;
  output: string;
  cost: ReturnType<typeof workCost>;
  /** The run's cost had it run when its job came; null for a job that asked for "soonest". */
  soonest: ReturnType<typeof workCost> | null;
}

/** A car's reputation as stored, locked. */
interface ReputationRow {
  id: string;
  valid_results: number;
  invalid_results: number;
  consecutive_valid: number;
  quarantined: boolean;
}

/** The round of replicas a new result joins, as stored before this call. */
interface RoundRow {
  task_id: string;
  /** Units of the round still open or leased, this call's own included. */
  outstanding: number;
  /** The task's units nobody has claimed. */
  open_units: number[];
  round: {
    resultId: string;
    leaseId: string;
    carId: string;
    ownerId: string;
    output: number[];
    trusted: boolean;
    vouched: boolean;
  }[];
  /** For a task already valid: the canonical result's output. */
  canonical: number[] | null;
}

/**
 * The whole submit, for one result or many, in one transaction of two round trips:
 *
 * 1. BEGIN; the leases and tasks locked (LOCK_LEASES); the car; the rounds the new results join
 *    (READ_ROUNDS).
 * 2. Retries, ended leases, cancelled jobs and malformed outputs are sorted out; a malformed
 *    output or a lease that is not this car's refuses the whole call, which then writes nothing.
 * 3. Core decides each task (`decideQuorum`), the new result last in arrival order.
 * 4. WRITE and COMMIT. The rare outcomes (a round that failed, one that needs more replicas, a
 *    car quarantined) take statements of their own.
 */
async function submitResults(
  deps: ApiDeps,
  state: ApiState,
  carId: string,
  inputs: readonly SubmitInput[],
  field: (index: number, name: string) => string,
): Promise<SubmitOutput[]> {
  inputs.forEach((input, i) => {
    if (input.output.length > deps.config.maxOutputValues) {
      throw badRequest(field(i, "output"), `at most ${deps.config.maxOutputValues} values`);
    }
  });
  const seen = new Set<string>();
  inputs.forEach((input, i) => {
    if (seen.has(input.leaseId)) throw badRequest(field(i, "leaseId"), "given twice in one call");
    seen.add(input.leaseId);
  });
  const now = deps.now();
  const models = await state.models.get(monotonicMs());
  const regions = await state.regions.get(monotonicMs());
  return inPipelinedTx(deps.db, async (tx) => {
    const leaseIds = inputs.map((i) => i.leaseId);
    // One round trip: the locks, then (seeing what committed before them) the rounds.
    const [locked, [car], rounds] = await tx.batch<
      [Locked[], (CarRow & { vouched: boolean })[], RoundRow[]]
    >(
      [LOCK_LEASES, [leaseIds]],
      [CAR, [carId]],
      [READ_ROUNDS, [leaseIds, deps.config.verification.trustAfterConsecutiveValid]],
    );
    if (!car) throw notFound("car", carId);
    const regionRow = regions.get(car.regionId);
    if (!regionRow) throw notFound("region", car.regionId);
    const vehicle = toVehicle(car, deps.config.timeScale);
    const region = toRegion(regionRow, worldS(deps.config.timeScale, toS(now)));
    const byLease = new Map(locked.map((r) => [r.leaseId, r]));

    const out: SubmitOutput[] = [];
    const accepted: Accepted[] = [];
    for (const [index, input] of inputs.entries()) {
      const row = byLease.get(input.leaseId);
      // Another car's lease is as unknown to this car as one that does not exist.
      if (!row || row.carId !== carId) throw notFound(field(index, "leaseId"), input.leaseId);
      // A retry finds the result. One that waited on the lock while the first submit committed
      // sees the lease 'submitted' (the lock re-reads the locked rows only, not the joined result).
      if (row.previous || row.status === "submitted") {
        out.push({
          accepted: true,
          verdict: await verdictOf(tx.orm, row.leaseId),
          reason: null,
          duplicate: true,
        });
        continue;
      }
      if (row.status !== "active") {
        out.push({
          accepted: false,
          verdict: null,
          reason: `lease ${row.status}`,
          duplicate: false,
        });
        continue;
      }
      // Past its expiry a lease is over, whether or not the sweeper has ended it yet: its work
      // may be going to another car. Refused as the sweeper would have it, and nothing written.
      if (row.expiresAt.getTime() <= now.getTime()) {
        out.push({ accepted: false, verdict: null, reason: "lease expired", duplicate: false });
        continue;
      }
      if (row.jobStatus === "cancelled" || row.task.status === "cancelled") {
        out.push({ accepted: false, verdict: null, reason: "job cancelled", duplicate: false });
        continue;
      }
      const model = models.get(row.modelId);
      if (!model) throw notFound("model", row.modelId);
      // Fixed-size outputs are checked against the model's spec; an image model whose output
      // follows its input's size (the detector) against the size this task's image gives.
      const expected =
        expectedOutputLength(model.outputSpec) ?? imageOutputLength(model.id, row.task.image);
      if (expected !== null && input.output.length !== expected) {
        throw badRequest(
          field(index, "output"),
          `model ${model.id} outputs ${expected} values, got ${input.output.length}`,
        );
      }
      // The ledger: core's cost of the run on this car, now, in its region, from what the
      // server knows (core's pay rules): the run lasts no longer than the car claims, than it
      // held the lease, or than the server's estimate for the task on its hardware class; and
      // its charger wastes no more than pay assumes. The spans are the car's own seconds; on
      // the scheduling clock a run of one wall second lasts `speedup` world seconds.
      const scale = deps.config.timeScale;
      const teraOps = taskTeraOps(model, row.task.image);
      const durationS = worldSpanS(
        scale,
        paidDurationS({
          claimedS: input.durationMs / 1000,
          leaseSpanS: Math.max(0, (now.getTime() - row.leasedAt.getTime()) / 1000),
          // The estimate is of world seconds: as the car's own seconds, it is `speedup` shorter.
          estimateS: wallSpanS(
            scale,
            estimatedRunS(vehicle.hardware, teraOps, deps.config.schedule.sustainedTopsShare),
          ),
        }),
      );
      const runAt = (startS: number) =>
        workCost(
          payableVehicle(vehicle),
          region,
          { startS, durationS, teraOps },
          deps.config.schedule.cost,
        );
      const cost = runAt(worldS(scale, toS(now)) - durationS);
      // Work that waited for better power (core's deferral) is measured against the same run
      // when its job came, the soonest it could have started.
      const soonest =
        row.objective === "soonest" ? null : runAt(worldS(scale, toS(row.jobSubmittedAt)));
      out.push({ accepted: true, verdict: null, reason: null, duplicate: false });
      accepted.push({
        index,
        input,
        row,
        model,
        resultId: randomUUID(),
        output: JSON.stringify(input.output),
        cost,
        soonest,
      });
    }
    if (accepted.length > 0) {
      const verdicts = await record(tx, deps, car, accepted, rounds, now);
      accepted.forEach((a, k) => ((out[a.index] as SubmitOutput).verdict = verdicts[k] as Verdict));
    }
    return out;
  });
}

/** A new result as core's settle takes it. */
function newResult(a: Accepted, car: CarRow & { vouched: boolean }): NewResult {
  const { row } = a;
  return {
    resultId: a.resultId,
    leaseId: row.leaseId,
    carId: car.id,
    ownerId: car.ownerId,
    output: a.input.output,
    reputation: reputationOf(car),
    vouched: car.vouched,
    canary: row.canary,
    unitAttempt: row.unitAttempt,
    leaseExpiresAtMs: row.expiresAt.getTime(),
    payoutOwedUsd: a.cost.ownerPayoutUsd,
    tolerance: a.model.tolerance,
    task: {
      id: row.task.id,
      jobId: row.task.jobId,
      status: row.task.status,
      attempt: row.task.attempt,
      replicasRequired: row.task.replicasRequired,
      replication: row.replication ?? "auto",
    },
  };
}

/** A stored round as core's settle takes it. */
function storedRound(r: RoundRow): StoredRound {
  return {
    results: r.round,
    outstanding: r.outstanding,
    openUnitIds: r.open_units,
    canonicalOutput: r.canonical,
  };
}

/**
 * Steps 3 and 4 of submitResults: core settles the accepted results (verdicts, pay, reputations,
 * rounds), and this writes what it decided; their verdicts.
 */
async function record(
  tx: PipelinedTx,
  deps: ApiDeps,
  car: CarRow & { vouched: boolean },
  accepted: readonly Accepted[],
  roundRows: readonly RoundRow[],
  now: Date,
): Promise<Verdict[]> {
  const cfg = deps.config.verification;
  const settlement = settle(
    accepted.map((a) => newResult(a, car)),
    new Map(roundRows.map((r) => [r.task_id, storedRound(r)])),
    { verification: cfg, maxTaskAttempts: deps.config.maxTaskAttempts },
  );

  // Reputations. Valid results only add: such cars get increments, applied by WRITE to the row
  // as it stands then, with no read before. A car with an invalid verdict is read locked and
  // core replays its record verdict by verdict: it may be quarantined.
  const questioned = questionedCars(settlement.judged);
  const stored =
    questioned.length === 0 ? [] : await tx.rows<ReputationRow>(LOCK_REPUTATIONS, [questioned]);
  const changes = reputationChanges(
    settlement.judged,
    new Map(
      stored.map((c) => [
        c.id,
        reputationOf({
          validResults: c.valid_results,
          invalidResults: c.invalid_results,
          consecutiveValid: c.consecutive_valid,
          quarantined: c.quarantined,
        }),
      ]),
    ),
    cfg,
  );
  const carUpdates = changes.map((c) => {
    const counts = c.relative ? { ...c.added, quarantined: false } : c.reputation;
    return {
      id: c.carId,
      /** true: the counts are added to the stored ones; false: they replace them. */
      relative: c.relative,
      valid_results: counts.validResults,
      invalid_results: counts.invalidResults,
      consecutive_valid: counts.consecutiveValid,
      quarantined: counts.quarantined,
    };
  });

  // The rare outcomes, one task at a time, before the write that ends the transaction.
  for (const change of settlement.roundChanges) await changeRound(tx.orm, change, now);

  const byTask = new Map(accepted.map((a) => [a.row.task.id, a]));
  const validTasks = settlement.validated.map((v) => {
    const a = byTask.get(v.taskId) as Accepted;
    return {
      task_id: v.taskId,
      canonical_result_id: v.canonical.resultId,
      support: v.support,
      agreeing: v.agreeing,
      disagreeing: v.disagreeing,
      interpretation: interpret(
        a.model.id,
        v.canonical.output as number[],
        a.row.task.image ?? null,
      ),
    };
  });
  const written = accepted.map((a, k) => {
    const pay = settlement.ledger[k] as LedgerSettlement;
    return {
      result_id: a.resultId,
      lease_id: a.row.leaseId,
      task_id: a.row.task.id,
      job_id: a.row.task.jobId,
      tenant_id: a.row.tenantId,
      output: a.output,
      output_sha256: sha256Hex(a.output),
      duration_ms: a.input.durationMs,
      backend: a.input.backend,
      energy_k_wh: a.cost.energyKWh,
      grid_energy_k_wh: a.cost.gridEnergyKWh,
      battery_energy_k_wh: a.cost.batteryEnergyKWh,
      cost_usd: a.cost.costUsd,
      carbon_g: a.cost.carbonG,
      soonest_cost_usd: a.soonest?.costUsd ?? null,
      soonest_carbon_g: a.soonest?.carbonG ?? null,
      payout_owed_usd: a.cost.ownerPayoutUsd,
      payout_usd: pay.payoutUsd,
      validated: pay.validated,
      settles_at: pay.settlesAtMs === null ? null : new Date(pay.settlesAtMs).toISOString(),
    };
  });
  const jobProgress = settlement.jobsValidated.map((j) => ({
    job_id: j.jobId,
    validated: j.validated,
    failed: 0,
  }));
  const values = [
    JSON.stringify(written),
    car.id,
    car.ownerId,
    car.regionId,
    now,
    accepted.map((a) => a.row.leaseId),
    accepted.map((a) => a.row.unitId),
    JSON.stringify(validTasks),
    validTasks.map((t) => t.task_id),
    settlement.pending,
    settlement.alsoPaid,
    JSON.stringify(carUpdates),
    carUpdates.map((c) => c.id),
    JSON.stringify(jobProgress),
    jobProgress.map((j) => j.job_id),
    settlement.cancelUnits,
  ];
  // Cars with an invalid verdict (their counts replaced, not added to).
  const caught = changes.filter((c) => !c.relative);
  if (caught.length === 0) {
    await tx.commitWith(WRITE, values);
    return settlement.verdicts;
  }
  // After the write, which has closed the leases of this call's results and recorded its
  // verdicts: a car quarantined now loses its other leases at once, and a caught car's answers
  // that nobody checked (this call's included) run again on other cars.
  await tx.rows(WRITE, values);
  for (const c of caught) {
    if (c.newlyQuarantined)
      await endLeases(tx.orm, sql`leases.car_id = ${c.carId}`, "cancelled", "quarantined", now);
  }
  await recheckUnchecked(
    tx.orm,
    deps,
    caught.map((c) => c.carId),
    now,
  );
  return settlement.verdicts;
}

/** What core decided for a round besides its verdict: more replicas, another round, or the end. */
async function changeRound(tx: Executor, change: RoundChange, now: Date): Promise<void> {
  if (change.kind === "top-up") {
    // Disagreeing replicas need more: the round topped up to what the quorum still lacks.
    await addUnits(tx, { id: change.taskId, attempt: change.attempt }, change.count);
    return;
  }
  // No group of the round can reach a quorum: its unclaimed replicas go.
  await dropOpenUnits(tx, { taskId: change.taskId });
  if (change.kind === "retry") {
    await retryTask(tx, change.taskId, change.attempt);
    await addUnits(tx, { id: change.taskId, attempt: change.attempt }, change.units);
    return;
  }
  await failTask(tx, { id: change.taskId, jobId: change.jobId }, now, change);
}

/**
 * Ends a task as failed, once (only an open or verifying task changes): its open units
 * cancelled, a failed verification recorded with the reason, and the task counted toward its
 * job, which may complete with it. The caller holds the task's lock.
 */
export async function failTask(
  tx: Executor,
  task: Pick<TaskState, "id" | "jobId">,
  now: Date,
  why: { disagreeing: number; error: string },
): Promise<boolean> {
  if (!(await failTaskRow(tx, task.id, why.error))) return false;
  await dropOpenUnits(tx, { taskId: task.id });
  await tx.insert(verifications).values({
    taskId: task.id,
    status: "failed",
    canonicalResultId: null,
    support: 0,
    agreeing: 0,
    disagreeing: why.disagreeing,
    decidedAt: now,
  });
  await tx.execute(
    sql`WITH g AS (SELECT ${task.jobId}::uuid AS job_id, 0 AS validated, 1 AS failed, ${now}::timestamptz AS at)
        ${sql.raw(jobProgressText("g.at"))}`,
  );
  return true;
}

/** Adds `count` open units to the task's current round, after its existing replicas. */
async function addUnits(
  tx: Executor,
  task: Pick<TaskState, "id" | "attempt">,
  count: number,
): Promise<void> {
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

/** The standing of a lease's recorded result, for a retried submit. */
async function verdictOf(tx: Executor, leaseId: string): Promise<Verdict> {
  const [row] = await rows<{
    task_status: string;
    validated: boolean;
    unit_attempt: number;
    task_attempt: number;
    canary: boolean;
  }>(
    tx,
    sql`SELECT t.status AS task_status, le.validated, wu.attempt AS unit_attempt, t.attempt AS task_attempt,
               wu.canary
          FROM leases l
          JOIN tasks t ON t.id = l.task_id
          JOIN work_units wu ON wu.id = l.work_unit_id
          JOIN ledger_entries le ON le.lease_id = l.id
         WHERE l.id = ${leaseId}`,
  );
  // A canary's verdict stays "pending" to its car, retries included (see record).
  if (!row || row.canary) return "pending";
  if (row.validated) return "valid";
  if (row.task_status === "valid") return "invalid";
  if (row.task_status === "failed" || row.unit_attempt < row.task_attempt) return "failed";
  return "pending";
}
