// A car hands back the output of a lease. At-least-once execution, exactly-once accounting: the
// result and its ledger entry are written once per lease whatever is retried, the task is decided
// once (its row is locked while it is decided), and its job completes once.
import { randomUUID } from "node:crypto";
import { workCost } from "@nightshift/core/energy";
import { estimatedRunS } from "@nightshift/core/hardware";
import { paidDurationS, payableVehicle } from "@nightshift/core/pay";
import { worldS, worldSpanS } from "@nightshift/core/time-scale";
import type { Interpretation } from "@nightshift/models/postprocess";
import { outputDims, teraOpsFor } from "@nightshift/models/preprocess";
import { getManifest } from "@nightshift/models/registry";
import {
  afterResult,
  afterValidResults,
  decideQuorum,
  isTrusted,
  judgedBy,
  outputsAgree,
  type QuorumOutcome,
} from "@nightshift/core/verify";
import { cars, tasks, verifications, workUnits } from "@nightshift/db/schema";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
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
  status: string;
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
          j.replication,
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
       battery_energy_k_wh float8, cost_usd float8, carbon_g float8, payout_owed_usd float8, paid boolean,
       settles_at timestamptz)
   ), r AS (
     INSERT INTO results (id, lease_id, task_id, car_id, output, output_sha256, duration_ms, backend, created_at)
     SELECT result_id, lease_id, task_id, $2::uuid, output::jsonb, output_sha256, duration_ms, backend,
            clock_timestamp() FROM w
     RETURNING 1
   ), l AS (
     UPDATE leases SET status = 'submitted', ended_at = $5::timestamptz, end_reason = 'submitted'
      WHERE id = ANY($6::uuid[])
     RETURNING 1
   ), u AS (
     UPDATE work_units SET status = 'done' WHERE id = ANY($7::bigint[])
     RETURNING 1
   ), e AS (
     INSERT INTO ledger_entries (lease_id, task_id, job_id, tenant_id, car_id, owner_id, region_id,
                                 energy_k_wh, grid_energy_k_wh, battery_energy_k_wh, cost_usd, carbon_g,
                                 payout_owed_usd, payout_usd, validated, validated_at, settles_at)
     SELECT lease_id, task_id, job_id, tenant_id, $2::uuid, $3::uuid, $4::text, energy_k_wh, grid_energy_k_wh,
            battery_energy_k_wh, cost_usd, carbon_g, payout_owed_usd,
            CASE WHEN paid THEN payout_owed_usd ELSE 0 END, paid, CASE WHEN paid THEN $5::timestamptz END,
            settles_at
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
     UPDATE tasks SET status = 'valid', validated_at = $5::timestamptz, interpretation = d.interpretation
       FROM d WHERE tasks.id = ANY($9::uuid[]) AND tasks.id = d.task_id
     RETURNING 1
   ), c AS (
     -- The replicas nobody took yet are no longer needed; running ones finish and are compared.
     UPDATE work_units SET status = 'cancelled' WHERE id = ANY($16::bigint[]) AND status = 'open'
     RETURNING 1
   ), tp AS (
     -- Tasks this call holds locked, known to be 'open'.
     UPDATE tasks SET status = 'verifying' WHERE id = ANY($10::uuid[])
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
   ${progressText("$5::timestamptz")}
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
}

/** A car with no results: what afterValidResults adds to it is what it adds to any car. */
const NO_RESULTS = { validResults: 0, invalidResults: 0, consecutiveValid: 0, quarantined: false };

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
          estimateS: estimatedRunS(
            vehicle.hardware,
            teraOps,
            deps.config.schedule.sustainedTopsShare,
          ),
        }),
      );
      const cost = workCost(
        payableVehicle(vehicle),
        region,
        { startS: worldS(scale, toS(now)) - durationS, durationS, teraOps },
        deps.config.schedule.cost,
      );
      out.push({ accepted: true, verdict: null, reason: null, duplicate: false });
      accepted.push({
        index,
        input,
        row,
        model,
        resultId: randomUUID(),
        output: JSON.stringify(input.output),
        cost,
      });
    }
    if (accepted.length > 0) {
      const verdicts = await record(tx, deps, car, accepted, rounds, now);
      accepted.forEach((a, k) => ((out[a.index] as SubmitOutput).verdict = verdicts[k] as Verdict));
    }
    return out;
  });
}

type Outcome =
  { kind: "decided"; quorum: QuorumOutcome; row: Locked } | { kind: "late" } | { kind: "stale" };

/** Steps 3 and 4 of submitResults: verifies the accepted results and writes them; their verdicts. */
async function record(
  tx: PipelinedTx,
  deps: ApiDeps,
  car: CarRow & { vouched: boolean },
  accepted: readonly Accepted[],
  roundRows: readonly RoundRow[],
  now: Date,
): Promise<Verdict[]> {
  const cfg = deps.config.verification;
  const rounds = new Map(roundRows.map((r) => [r.task_id, r]));

  // Core decides each task; what follows from the verdicts is gathered for one statement.
  const verdicts: Verdict[] = [];
  const outcomes: Outcome[] = [];
  const paidNow = new Set<string>();
  /** Canaries that agreed: paid by the sweep at this time. */
  const settleLater = new Map<string, Date>();
  const otherPaid: string[] = [];
  const validTasks: {
    task_id: string;
    canonical_result_id: string | null;
    support: number;
    agreeing: number;
    disagreeing: number;
    interpretation: Interpretation | null;
  }[] = [];
  const pendingTasks: string[] = [];
  /** Units of tasks decided now that nobody claimed: replicas no longer needed. */
  const cancelUnits: number[] = [];
  const validatedPerJob = new Map<string, number>();
  /** Reputation verdicts in the order they were reached, per car. */
  const reputation = new Map<string, boolean[]>();
  const judge = (carId: string, good: boolean) =>
    reputation.set(carId, [...(reputation.get(carId) ?? []), good]);

  for (const a of accepted) {
    const { task, unitAttempt, leaseId } = a.row;
    if (task.status === "valid") {
      // A replica that was still running when the quorum formed, or a canary: compared with the
      // answer, paid when it agrees, and it counts toward its car's reputation either way. A
      // canary answers "pending", as the first result of new replicated work does: its verdict
      // would tell the car it was checked.
      const canonical = rounds.get(task.id)?.canonical ?? null;
      const agrees =
        canonical !== null && outputsAgree(a.input.output, canonical, a.model.tolerance);
      // A canary that agrees is paid when its lease would have run out (the sweep settles it).
      if (agrees && a.row.canary) settleLater.set(leaseId, a.row.expiresAt);
      else if (agrees) paidNow.add(leaseId);
      judge(car.id, agrees);
      outcomes.push({ kind: "late" });
      verdicts.push(a.row.canary ? "pending" : agrees ? "valid" : "invalid");
      continue;
    }
    if (task.status === "failed" || unitAttempt < task.attempt) {
      outcomes.push({ kind: "stale" });
      verdicts.push("failed");
      continue;
    }
    const round = [
      ...(rounds.get(task.id)?.round ?? []),
      {
        resultId: a.resultId,
        leaseId,
        carId: car.id,
        ownerId: car.ownerId,
        output: a.input.output,
        trusted: isTrusted(reputationOf(car), cfg),
        vouched: car.vouched,
      },
    ];
    const quorum = decideQuorum(
      round.map((r) => ({
        replicaId: r.leaseId,
        vehicleId: r.carId,
        ownerId: r.ownerId,
        output: r.output,
        trusted: r.trusted,
        vouched: r.vouched,
      })),
      task.replicasRequired ?? 1,
      a.model.tolerance,
      judgedBy(a.row.replication ?? "auto", cfg),
    );
    outcomes.push({ kind: "decided", quorum, row: a.row });
    if (quorum.status === "pending") {
      if (task.status === "open") pendingTasks.push(task.id);
      verdicts.push("pending");
    } else if (quorum.status === "valid") {
      const canonical = round.find((r) => r.leaseId === quorum.canonicalReplicaId);
      cancelUnits.push(...(rounds.get(task.id)?.open_units ?? []));
      validTasks.push({
        task_id: task.id,
        canonical_result_id: canonical?.resultId ?? null,
        support: quorum.support,
        agreeing: quorum.agreeing.length,
        disagreeing: quorum.disagreeing.length,
        interpretation: canonical
          ? interpret(a.model.id, canonical.output, task.image ?? null)
          : null,
      });
      for (const id of quorum.agreeing) {
        if (id === leaseId) paidNow.add(id);
        else otherPaid.push(id);
      }
      validatedPerJob.set(task.jobId, (validatedPerJob.get(task.jobId) ?? 0) + 1);
      // An unreplicated result (support 1) was checked by nobody: paid, not counted (core's rule).
      if (quorum.support > 1) {
        const carOf = new Map(round.map((r) => [r.leaseId, r.carId]));
        for (const id of quorum.agreeing) judge(carOf.get(id) as string, true);
        for (const id of quorum.disagreeing) judge(carOf.get(id) as string, false);
      }
      verdicts.push(quorum.agreeing.includes(leaseId) ? "valid" : "invalid");
    } else {
      verdicts.push("failed");
    }
  }

  // Reputations. Valid results only add (core's afterValidResults): such cars get increments,
  // applied by WRITE to the row as it stands then, with no read before. A car with an invalid
  // verdict is read locked and core's rules run verdict by verdict: it may be quarantined.
  const carUpdates: {
    id: string;
    /** true: the counts below are added to the stored ones; false: they replace them. */
    relative: boolean;
    valid_results: number;
    invalid_results: number;
    consecutive_valid: number;
    quarantined: boolean;
    newly_quarantined: boolean;
  }[] = [];
  const judged = [...reputation];
  const questioned = judged.filter(([, goods]) => goods.includes(false)).map(([id]) => id);
  const current =
    questioned.length === 0
      ? []
      : await tx.rows<ReputationRow>(LOCK_REPUTATIONS, [questioned.sort()]);
  for (const [id, goods] of judged) {
    if (!goods.includes(false)) {
      const gained = afterValidResults(NO_RESULTS, goods.length);
      carUpdates.push({
        id,
        relative: true,
        valid_results: gained.validResults,
        invalid_results: gained.invalidResults,
        consecutive_valid: gained.consecutiveValid,
        quarantined: false,
        newly_quarantined: false,
      });
      continue;
    }
    const c = current.find((r) => r.id === id);
    if (!c) continue;
    const before = reputationOf({
      validResults: c.valid_results,
      invalidResults: c.invalid_results,
      consecutiveValid: c.consecutive_valid,
      quarantined: c.quarantined,
    });
    let rep = before;
    for (const good of goods) rep = good ? afterValidResults(rep, 1) : afterResult(rep, false, cfg);
    carUpdates.push({
      id,
      relative: false,
      valid_results: rep.validResults,
      invalid_results: rep.invalidResults,
      consecutive_valid: rep.consecutiveValid,
      quarantined: rep.quarantined,
      newly_quarantined: rep.quarantined && !before.quarantined,
    });
  }

  // The rare outcomes, one task at a time, before the write that ends the transaction.
  for (const o of outcomes) {
    if (o.kind !== "decided") continue;
    const { quorum, row } = o;
    if (quorum.status === "pending") {
      // Disagreeing replicas may need more: top the round up to what the quorum still lacks.
      // This call's own unit is done once written.
      const outstanding = (rounds.get(row.task.id)?.outstanding ?? 1) - 1;
      if (outstanding < quorum.moreReplicas)
        await addUnits(tx.orm, row.task, quorum.moreReplicas - outstanding);
    } else if (quorum.status === "failed") {
      await failRound(tx.orm, deps, row.task, quorum.disagreeing.length, now);
    }
  }
  const written = accepted.map((a) => ({
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
    payout_owed_usd: a.cost.ownerPayoutUsd,
    paid: paidNow.has(a.row.leaseId),
    settles_at: settleLater.get(a.row.leaseId)?.toISOString() ?? null,
  }));
  const jobProgress = [...validatedPerJob].map(([job_id, validated]) => ({
    job_id,
    validated,
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
    pendingTasks,
    otherPaid,
    JSON.stringify(carUpdates),
    carUpdates.map((c) => c.id),
    JSON.stringify(jobProgress),
    jobProgress.map((j) => j.job_id),
    cancelUnits,
  ];
  // Cars with an invalid verdict (their counts replaced, not added to).
  const caught = carUpdates.filter((c) => !c.relative).map((c) => c.id);
  if (caught.length === 0) {
    await tx.commitWith(WRITE, values);
    return verdicts;
  }
  // After the write, which has closed the leases of this call's results and recorded its
  // verdicts: a car quarantined now loses its other leases at once, and a caught car's answers
  // that nobody checked (this call's included) run again on other cars.
  await tx.rows(WRITE, values);
  for (const c of carUpdates) {
    if (c.newly_quarantined)
      await endLeases(tx.orm, sql`leases.car_id = ${c.id}`, "cancelled", "quarantined", now);
  }
  await recheckUnchecked(tx.orm, deps, caught, now);
  return verdicts;
}

/** No group of the task's round can reach a quorum: another round on other cars, or the end. */
async function failRound(
  tx: Executor,
  deps: ApiDeps,
  task: TaskState,
  disagreeing: number,
  now: Date,
): Promise<void> {
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
    return;
  }
  await failTask(tx, task, now, { disagreeing, error: "no quorum: the replicas did not agree" });
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
  const changed = await tx
    .update(tasks)
    .set({ status: "failed", error: why.error })
    .where(and(eq(tasks.id, task.id), inArray(tasks.status, ["open", "verifying"])))
    .returning({ id: tasks.id });
  if (changed.length === 0) return false;
  await tx
    .update(workUnits)
    .set({ status: "cancelled" })
    .where(and(eq(workUnits.taskId, task.id), eq(workUnits.status, "open")));
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
        ${sql.raw(progressText("g.at"))}`,
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

/**
 * Counts decided tasks toward their jobs, from a relation `g(job_id, validated, failed)` that the
 * statement defines, at `at` (an SQL expression); a job completes (or fails) with its last task,
 * once.
 */
function progressText(at: string): string {
  const decided = `jobs.tasks_validated + jobs.tasks_failed + g.validated + g.failed >= jobs.task_count`;
  return `UPDATE jobs SET
          tasks_validated = jobs.tasks_validated + g.validated,
          tasks_failed = jobs.tasks_failed + g.failed,
          status = CASE
            WHEN jobs.status IN ('cancelled', 'completed', 'failed') THEN jobs.status
            WHEN ${decided} THEN CASE WHEN jobs.tasks_failed + g.failed > 0 THEN 'failed' ELSE 'completed' END
            ELSE 'running' END,
          completed_at = CASE
            WHEN jobs.status NOT IN ('cancelled', 'completed', 'failed') AND ${decided}
              THEN ${at} ELSE jobs.completed_at END
        FROM g WHERE jobs.id = g.job_id`;
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
