// Late binding: a car asks for work and gets what it can run now. Core decides everything: the
// car filters, which tenant's turn it is (fair share with quotas), which of the tenant's waiting
// work the car runs (choose: the work filters, energy, departure, memory and deferral, the scores,
// the runs that fit; the simulator's decide calls the same function), and how many replicas a
// task needs. The database decides only who gets which row, with `SELECT … FOR UPDATE SKIP
// LOCKED`. Every draw comes from a generator seeded by what it decides (the car and the call's
// request id or instant, a task and its round) under the server's key (drawSeed), so that a
// decision can be made again from the same rows and checked, and no car can foresee one.
import { createRng, type Rng } from "@nightshift/core/random";
import { choose } from "@nightshift/core/schedule/choose";
import { fitRun, inferenceS, maxRunS, workRejection } from "@nightshift/core/schedule/filters";
import type { ScheduleContext } from "@nightshift/core/schedule/config";
import {
  type Holding,
  type HoldingLimits,
  leasesLeft,
  mayHold,
  NOTHING_HELD,
  withLeases,
} from "@nightshift/core/schedule/holding";
import { nextTenant } from "@nightshift/core/tenants";
import { type TimeScale, worldS } from "@nightshift/core/time-scale";
import type { Objective, Vehicle, WorkItem } from "@nightshift/core/types";
import { replicasFor, shouldIssueCanary } from "@nightshift/core/verify";
import { cars } from "@nightshift/db/schema";
import { sql } from "drizzle-orm";
import { z } from "zod";
import { holdingLimits, MAX_LEASE_PER_CALL } from "../config";
import type { ApiDeps } from "../context";
import { drawSeed } from "../crypto";
import { notFound } from "../errors";
import { ZUuid } from "../schemas";
import { type ApiState, monotonicMs } from "../state";
import { type CarRow, type ModelRow, toModelSpec, toS, toVehicle } from "./convert";
import {
  inPipelinedTx,
  inTx,
  type PipelinedTx,
  type Prepared,
  prepared,
  preparedRows,
  selectList,
} from "./db";
import { carRefusal, scheduleContext } from "./eligibility";
import { endLeases } from "./leases";
import { renewals } from "./renewal";
import { CLAIM_UNIT, START_JOB } from "./transitions";

export { MAX_LEASE_PER_CALL };

export const ZLeaseInput = z
  .object({
    max: z.number().int().min(1).max(MAX_LEASE_PER_CALL).default(1),
    /**
     * The car's id for this lease attempt, the same on every retry of it and a new one once an
     * answer came: a retry whose first answer was lost gets back the leases that call made
     * (those still active) instead of new ones, which would leave the first ones held by nobody
     * until they run out.
     */
    requestId: ZUuid.optional(),
  })
  .strict();
export type LeaseInput = z.infer<typeof ZLeaseInput>;

export const ZLeasedTask = z.object({
  leaseId: ZUuid,
  taskId: ZUuid,
  jobId: ZUuid,
  modelId: z.string(),
  modelSha256: z.string(),
  /** Where the model file is, on this server: its bytes never change (cache it for good). */
  modelUrl: z.string(),
  /**
   * The task's input: tensor feeds ({ name: { dims, data } }) as the tenant submitted them, or
   * an image to fetch, check and preprocess: { image: { sha256, url, mediaType, width, height } }.
   */
  input: z.unknown(),
  expiresAt: z.string(),
});
export type LeasedTask = z.infer<typeof ZLeasedTask>;

export const ZLeaseOutput = z.object({
  tasks: z.array(ZLeasedTask),
  /**
   * Why no (or fewer) tasks came: a core filter's reason, "no-work", "holds-enough" (the car
   * holds what the server estimates it runs in one lease lifetime: finish some first), or
   * "leases-ended" (a retried requestId whose leases have all ended since: ask again with a new
   * one).
   */
  reason: z.string().nullable(),
});
export type LeaseOutput = z.infer<typeof ZLeaseOutput>;

/**
 * The leases car $1 was given by its lease call $2 (requestId), oldest first, with what the call
 * answered about each: one probe of the index leases (car_id, request_id).
 */
const MADE_BY_REQUEST = `
  SELECT l.id AS "leaseId", l.task_id AS "taskId", t.job_id AS "jobId", j.model_id AS "modelId",
         m.sha256 AS "modelSha256", t.input, l.expires_at AS "expiresAt",
         l.status = 'active' AS active
    FROM leases l
    JOIN tasks t ON t.id = l.task_id
    JOIN jobs j ON j.id = t.job_id
    JOIN models m ON m.id = j.model_id
   WHERE l.car_id = $1::uuid AND l.request_id = $2::uuid
   ORDER BY l.leased_at, l.id`;

/**
 * What car $1 holds at `now` (a parameter's name), by model: its active leases not yet run out,
 * counted for core's holding rule (the server estimates each model's run on the car's class).
 */
const heldByModel = (now: string) => `
  SELECT j.model_id AS "modelId", count(*)::int AS leases
    FROM leases l
    JOIN work_units wu ON wu.id = l.work_unit_id
    JOIN jobs j ON j.id = wu.job_id
   WHERE l.car_id = $1::uuid AND l.status = 'active' AND l.expires_at > ${now}::timestamptz
   GROUP BY j.model_id`;

interface HeldByModel {
  modelId: string;
  leases: number;
}

/**
 * The car, the tenants whose units it holds now, what it holds at $3 (null when nothing), and
 * what its lease call $2 made before (null when $2 is null or made nothing yet: a retry whose
 * answer was lost finds its leases here).
 */
const CAR_AND_HELD = prepared(
  "lease_car",
  `SELECT ${selectList(cars, "c")},
          coalesce((SELECT array_agg(DISTINCT wu.tenant_id)
                      FROM leases l JOIN work_units wu ON wu.id = l.work_unit_id
                     WHERE l.car_id = c.id AND l.status = 'active'), '{}') AS held,
          (SELECT json_agg(h) FROM (${heldByModel("$3")}) h) AS holding,
          (SELECT json_agg(made) FROM (${MADE_BY_REQUEST}) made) AS made
     FROM cars c WHERE c.id = $1::uuid`,
);

/**
 * One claim at a time per car, held to the end of the transaction. What the car holds is
 * counted again once it is held (HELD_NOW), so that lease calls of one car sent at once, to one
 * instance or several, cannot each find room for a full hold. And a retry that races its
 * original on another instance waits here until the original commits, then finds its leases
 * (REQUEST_MADE). An original whose answer can be lost has sent its claim, so it took this lock
 * a round trip earlier: a retry can only come after it. Two calls that both find nothing made
 * claim one after the other, the second only if the first found no work. (The two-key form:
 * its key space is apart from the migrator's one-key lock.)
 */
const CAR_LOCK = prepared("lease_car_lock", `SELECT pg_advisory_xact_lock(hashtext($1::text), 0)`);

/**
 * What the car holds, inside the claim after CAR_LOCK: a statement of its own, so that its
 * snapshot is taken once the lock is held and sees what the call that held it committed.
 */
const HELD_NOW = prepared("lease_held_now", heldByModel("$2"));

/** MADE_BY_REQUEST inside the claim, after CAR_LOCK, for the same reason. */
const REQUEST_MADE = prepared("lease_request_made", MADE_BY_REQUEST);

/**
 * A tenant's open units in queue order (the work_units_claim index), of models the car can run,
 * of tasks this car's owner never leased (one probe of the unique index leases (task_id,
 * owner_id) per unit: a correlated subquery, so that no plan scans the owner's whole history).
 */
const CLAIM_CANDIDATES = prepared(
  "lease_candidates",
  `SELECT wu.id, wu.task_id, wu.job_id, wu.tenant_id, wu.priority, wu.task_order, wu.attempt,
          j.model_id, j.replication, j.deadline_at, j.objective, t.replicas_required, t.input
     FROM work_units wu
     JOIN jobs j ON j.id = wu.job_id
     JOIN tasks t ON t.id = wu.task_id
    WHERE wu.tenant_id = $1::text AND wu.status = 'open'
      AND j.model_id = ANY($2::text[])
      AND (SELECT true FROM leases l WHERE l.task_id = wu.task_id AND l.owner_id = $3::uuid LIMIT 1) IS NULL
    ORDER BY wu.priority DESC NULLS LAST, wu.task_order, wu.id
    LIMIT $4::int
      FOR UPDATE OF wu SKIP LOCKED`,
);

/**
 * One statement: the leases (in task order), the units that got one marked 'leased', the
 * replica counts of first claims with their extra units, and queued jobs started (a job row
 * another transaction holds is left for submit to move). Every update finds its rows by
 * primary key (the arrays), whatever the planner thinks of the JSON's size.
 */
const CLAIM_WRITE = prepared(
  "lease_write",
  `WITH c AS (
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS c(
       unit_id bigint, task_id uuid, job_id uuid, tenant_id text, priority int, task_order bigint,
       attempt int, replicas int)
   ), l AS (
     INSERT INTO leases (work_unit_id, task_id, car_id, owner_id, leased_at, expires_at, request_id)
     SELECT unit_id, task_id, $2::uuid, $3::uuid, $4::timestamptz, $5::timestamptz, $9::uuid
       FROM c ORDER BY task_id
     ON CONFLICT (task_id, owner_id) DO NOTHING
     RETURNING id, work_unit_id, task_id
   ), u AS (
     UPDATE work_units SET ${CLAIM_UNIT.set}
      WHERE work_units.id = ANY($6::bigint[]) AND work_units.id IN (SELECT work_unit_id FROM l)
        AND ${CLAIM_UNIT.guard}
   ), f AS (
     UPDATE tasks SET replicas_required = c.replicas FROM c
      WHERE tasks.id = ANY($7::uuid[]) AND tasks.id = c.task_id AND tasks.replicas_required IS NULL
        AND tasks.id IN (SELECT task_id FROM l)
     RETURNING tasks.id
   ), x AS (
     INSERT INTO work_units (task_id, job_id, tenant_id, priority, replica_index, task_order, attempt)
     SELECT c.task_id, c.job_id, c.tenant_id, c.priority, r, c.task_order, c.attempt
       FROM f JOIN c ON c.task_id = f.id CROSS JOIN generate_series(1, c.replicas - 1) AS r
   ), j AS (
     UPDATE jobs SET ${START_JOB.set}
      WHERE id IN (SELECT jobs.id FROM jobs
                    WHERE jobs.id = ANY($8::uuid[]) AND ${START_JOB.guard}
                      AND jobs.id IN (SELECT c.job_id FROM c JOIN l ON l.task_id = c.task_id)
                      FOR UPDATE SKIP LOCKED)
   )
   SELECT id, work_unit_id FROM l`,
);

/**
 * A model as core's schedulable unit: one inference, the smallest run, of work that may run now
 * (the filter of the models a car can run at all, before any row is read).
 */
function workItemOf(model: ModelRow): WorkItem {
  return {
    id: model.id,
    jobId: "",
    tenantId: "",
    model: toModelSpec(model),
    inferences: 1,
    divisible: false,
    priority: 0,
    deadlineS: Infinity,
    dataRegionId: null,
    // Replica conflicts are excluded in SQL, per task.
    excludeVehicleIds: [],
    excludeOwnerIds: [],
  };
}

interface Candidate {
  id: string;
  task_id: string;
  job_id: string;
  tenant_id: string;
  priority: number;
  task_order: string;
  attempt: number;
  model_id: string;
  replication: number | null;
  deadline_at: Date | null;
  objective: Objective;
  replicas_required: number | null;
  input: unknown;
}

/** A candidate unit as core's work item: one task's one inference, on the scheduling clock. */
function candidateItem(c: Candidate, model: ModelRow, scale: TimeScale): WorkItem {
  return {
    id: c.id,
    jobId: c.job_id,
    tenantId: c.tenant_id,
    model: toModelSpec(model),
    inferences: 1,
    divisible: false,
    priority: c.priority,
    deadlineS: c.deadline_at === null ? Infinity : worldS(scale, toS(c.deadline_at)),
    objective: c.objective,
    dataRegionId: null,
    // Replica conflicts are excluded in SQL, per task.
    excludeVehicleIds: [],
    excludeOwnerIds: [],
  };
}

interface Claimed extends Candidate {
  leaseId: string;
  expiresAt: Date;
}

/** A lease made by an earlier call with the same requestId (timestamps as Date, or in JSON). */
interface Made {
  leaseId: string;
  taskId: string;
  jobId: string;
  modelId: string;
  modelSha256: string;
  input: unknown;
  expiresAt: Date | string;
  active: boolean;
}

const modelUrl = (modelId: string, sha256: string) => `/models/${modelId}/${sha256}`;

/** When the leases a call makes at `now` run out: all of them at once, canaries included. */
const leaseExpiry = (now: Date, ttlS: number) => new Date(now.getTime() + ttlS * 1000);

/**
 * The answer a retried call gets: the leases its requestId made that are still this car's
 * (active, not yet run out), with their expiry as it is now. Nothing new is claimed.
 */
function replay(made: readonly Made[], now: Date): LeaseOutput {
  const tasks = made
    .filter((m) => m.active && new Date(m.expiresAt).getTime() > now.getTime())
    .map((m) => ({
      leaseId: m.leaseId,
      taskId: m.taskId,
      jobId: m.jobId,
      modelId: m.modelId,
      modelSha256: m.modelSha256,
      modelUrl: modelUrl(m.modelId, m.modelSha256),
      input: m.input,
      expiresAt: new Date(m.expiresAt).toISOString(),
    }));
  return { tasks, reason: tasks.length === 0 ? "leases-ended" : null };
}

export async function lease(
  deps: ApiDeps,
  state: ApiState,
  carId: string,
  input: LeaseInput,
): Promise<LeaseOutput> {
  const now = deps.now();
  const config = deps.config;
  // The car, the tenants it already works for (core counts usage in cars: this car is the
  // slot being given out, so those tenants do not count it while their turn is decided), and
  // what it holds.
  const requestId = input.requestId ?? null;
  const [found] = await preparedRows<
    CarRow & { held: string[]; holding: HeldByModel[] | null; made: Made[] | null }
  >(deps.db, CAR_AND_HELD, [carId, requestId, now]);
  if (!found) throw notFound("car", carId);
  // A retry of a call that made leases: those, whatever the car's state is now (the filters
  // below may say otherwise since, and the leases would be held by nobody).
  if (found.made) return replay(found.made, now);
  const car = found;
  const regionRows = await state.regions.get(monotonicMs());
  const ctx = scheduleContext(now, regionRows, config);
  const refusal = carRefusal(car, ctx, config);
  if (refusal !== null) return { tasks: [], reason: refusal };
  const vehicle = toVehicle(car, config.timeScale);

  // Work filters per model: memory, and a single inference before departure and energy limits.
  const modelRows = await state.models.get(monotonicMs());
  const runnable = new Map<string, { model: ModelRow; inferenceS: number }>();
  let lastReason: string = "no-work";
  for (const model of modelRows.values()) {
    const item = workItemOf(model);
    const reason = workRejection(vehicle, item, ctx);
    if (reason === null && fitRun(vehicle, item, ctx) > 0) {
      runnable.set(model.id, { model, inferenceS: inferenceS(vehicle, item, ctx) });
    } else {
      lastReason = reason ?? "low-energy";
    }
  }
  if (runnable.size === 0) return { tasks: [], reason: lastReason };

  // What the car may hold (core's holding rule): the server's estimate of each run on the car's
  // hardware class as enrolled, whatever the car reports. A car that holds its fill is answered
  // before any row is locked.
  const limits = holdingLimits(config);
  const runSOf = (modelId: string) => {
    const model = modelRows.get(modelId);
    return model ? inferenceS(vehicle, workItemOf(model), ctx) : 0;
  };
  const cheapestRunS = Math.min(...[...runnable.values()].map((r) => r.inferenceS));
  const full = (held: Holding) => !mayHold(held, cheapestRunS, limits);
  const holding = holdingOf(found.holding, runSOf);
  if (full(holding)) return { tasks: [], reason: HOLDS_ENOUGH };

  const shares = await state.shares.get(monotonicMs());
  const want = Math.min(
    input.max,
    config.maxLeasePerCall,
    leasesLeft(holding, cheapestRunS, limits),
  );
  const held = new Set(found.held);
  const usage = new Map(shares.usage);
  // The call's draws (a canary or not, where it sits): from the car and the call, so that the
  // same call decides the same way again.
  const rng = createRng(
    drawSeed(config.drawSecret, "lease", carId, requestId ?? now.toISOString()),
  );
  for (const t of held) usage.set(t, Math.max(0, (usage.get(t) ?? 0) - 1));

  const outcome = await inPipelinedTx(deps.db, async (tx) => {
    // The transaction starts with the car's lock, what the car holds once it has it, and (with a
    // requestId) a look at what the call made meanwhile (an original still running when this
    // retry came), sent with the first claim's query: no round trip more.
    let guard: [Prepared, unknown[]][] = [
      [CAR_LOCK, [carId]],
      [HELD_NOW, [carId, now]],
      ...(requestId === null ? [] : [[REQUEST_MADE, [carId, requestId]] as [Prepared, unknown[]]]),
    ];
    // The tasks taken must all fit the car's longest run (energy, departure, allowed hours), and
    // what it holds with them what it may hold.
    const budget: ClaimBudget = { runS: maxRunS(vehicle, ctx), held: holding };
    /** `statements` (after the guard, the first time): their rows, and what the guard found. */
    const send = async (...statements: [Prepared, unknown[]][]) => {
      const sent = guard.length;
      const out = await tx.batch(...guard, ...statements);
      guard = [];
      if (sent === 0) return { made: [] as Made[], rows: out };
      budget.held = holdingOf(out[1] as HeldByModel[], runSOf);
      const made = (requestId === null ? [] : out[2]) as Made[];
      return { made, rows: out.slice(sent) };
    };
    const out: Claimed[] = [];
    const tried = new Set<string>();
    const turns = new Map(usage);
    // A claim that fills the call commits: then it is over, even if some of its rows were lost.
    while (out.length < want && !tx.ended && !full(budget.held)) {
      // Every tenant not yet tried counts as having work: the shares behind the choice are
      // seconds old, and a claim that finds nothing costs one index probe.
      const tenantId = nextTenant(shares.tenants, turns, shares.entitlements, (t) => !tried.has(t));
      if (tenantId === null) break;
      const args = {
        vehicle,
        tenantId,
        count: want - out.length,
        runnable,
        budget,
        limits,
        now,
        ctx,
      };
      const { made, rows } = await send(candidatesQuery(args));
      if (made.length > 0) return { made, claimed: [], full: false };
      const { claimed: got, reason } = await claim(
        tx,
        deps,
        args,
        rows[0] as Candidate[],
        requestId,
      );
      if (got.length === 0 && reason !== "no-work") lastReason = reason;
      out.push(...got);
      tried.add(tenantId);
      if (got.length > 0) turns.set(tenantId, (turns.get(tenantId) ?? 0) + 1);
    }
    if (requestId !== null && guard.length > 0) {
      const { made } = await send();
      if (made.length > 0) return { made, claimed: [], full: false };
    }
    // Now and then a canary: a task validated before, issued again to this car as if it were
    // new, in this transaction so that a retry finds it with the rest. None when a claim that
    // filled the call has committed and lost rows on the way (then this call's draw is skipped),
    // and only of models that still fit what the car may hold.
    const fits = [...runnable].filter(([, r]) => mayHold(budget.held, r.inferenceS, limits));
    if (
      out.length < want &&
      !tx.ended &&
      fits.length > 0 &&
      shouldIssueCanary(rng, config.verification)
    ) {
      const canary = await issueCanary(tx, deps, {
        ownerId: vehicle.ownerId,
        carId,
        modelIds: fits.map(([id]) => id),
        requestId,
        expiresAt: leaseExpiry(now, config.leaseTtlS),
        rng,
      });
      // Anywhere in the answer, as a task of another tenant's turn could be.
      if (canary) out.splice(rng.int(0, out.length), 0, canary);
    }
    return { made: [] as Made[], claimed: out, full: full(budget.held) };
  });
  if (outcome.made.length > 0) return replay(outcome.made, now);
  const claimed = outcome.claimed;

  // This instance's view of usage follows the cars it gives work to until the next load.
  const live = state.shares.peek();
  if (live) {
    for (const t of new Set(claimed.map((c) => c.tenant_id))) {
      if (!held.has(t)) live.usage.set(t, (live.usage.get(t) ?? 0) + 1);
    }
  }
  return {
    tasks: claimed.map((c) => ({
      leaseId: c.leaseId,
      taskId: c.task_id,
      jobId: c.job_id,
      modelId: c.model_id,
      modelSha256: (runnable.get(c.model_id) as { model: ModelRow }).model.sha256,
      modelUrl: modelUrl(
        c.model_id,
        (runnable.get(c.model_id) as { model: ModelRow }).model.sha256,
      ),
      input: c.input,
      expiresAt: c.expiresAt.toISOString(),
    })),
    reason: answerReason(claimed.length, want, outcome.full, lastReason),
  };
}

/** The reason a car at its fill is given: it holds what it can run in one lease lifetime. */
const HOLDS_ENOUGH = "holds-enough";

/**
 * Why a call got fewer tasks than it asked for (null: it got them, or all the car may hold):
 * the car's fill, the last filter's reason when it got none, else "no-work".
 */
function answerReason(got: number, want: number, full: boolean, lastReason: string): string | null {
  if (got >= want) return null;
  if (full) return got === 0 ? HOLDS_ENOUGH : null;
  return got === 0 ? lastReason : "no-work";
}

/** What the car holds, from HeldByModel rows and the server's estimate of each model's run. */
function holdingOf(rows: HeldByModel[] | null, runSOf: (modelId: string) => number): Holding {
  return (rows ?? []).reduce((h, r) => withLeases(h, runSOf(r.modelId), r.leases), NOTHING_HELD);
}

/** What a call may still take: run seconds (the car's own limits) and the car's hold. */
interface ClaimBudget {
  runS: number;
  held: Holding;
}

interface ClaimArgs {
  vehicle: Vehicle;
  tenantId: string;
  count: number;
  runnable: Map<string, { model: ModelRow; inferenceS: number }>;
  budget: ClaimBudget;
  limits: HoldingLimits;
  now: Date;
  ctx: ScheduleContext;
}

/** Step 1 of claim (below): the statement that finds the tenant's candidates. */
function candidatesQuery(a: ClaimArgs): [Prepared, unknown[]] {
  return [CLAIM_CANDIDATES, [a.tenantId, [...a.runnable.keys()], a.vehicle.ownerId, a.count * 2]];
}

/**
 * Claims up to `count` open units of one tenant for the car, in one transaction, and says why
 * none (more) were taken (core's reason, or "no-work"):
 *
 * 1. `SELECT … FOR UPDATE OF wu SKIP LOCKED`: the tenant's open units in queue order (priority,
 *    then task), of models the car can run, of tasks this car's owner never leased. Rows another
 *    transaction holds are skipped, not waited for; a row claimed and committed since this
 *    statement began is re-checked (status is no longer 'open') and dropped.
 * 2. Core's choose, over one unit per task: the work filters (deferral among them), the scores,
 *    and the runs that fit the call's run budget and what the car may hold.
 * 3. `INSERT INTO leases … ON CONFLICT (task_id, owner_id) DO NOTHING`: the unique index is the
 *    guarantee that replicas land on distinct owners (and cars) even when two cars of one owner
 *    race for two replicas of one task on two instances; rows go in task order so that two such
 *    inserts wait on each other in one order and cannot deadlock.
 * 4. The units that got a lease become 'leased'; a task's first claim fixes its replica count
 *    (core's replicasFor, from this car's reputation) and adds the extra replicas' units.
 */
async function claim(
  tx: PipelinedTx,
  deps: ApiDeps,
  a: ClaimArgs,
  candidates: Candidate[],
  requestId: string | null,
): Promise<{ claimed: Claimed[]; reason: string }> {
  // Core chooses among the candidates, one unit per task (a car runs one replica of a task).
  const byItem = new Map<WorkItem, Candidate>();
  const tasksSeen = new Set<string>();
  for (const c of candidates) {
    if (tasksSeen.has(c.task_id)) continue;
    tasksSeen.add(c.task_id);
    const { model } = a.runnable.get(c.model_id) as { model: ModelRow };
    byItem.set(candidateItem(c, model, deps.config.timeScale), c);
  }
  const { picks, reason } = choose(a.vehicle, byItem.keys(), a.ctx, {
    count: a.count,
    runS: a.budget.runS,
    holding: { held: a.budget.held, limits: a.limits },
  });
  const chosen = picks.map((p) => byItem.get(p.item) as Candidate);
  for (const c of chosen) {
    const runS = (a.runnable.get(c.model_id) as { inferenceS: number }).inferenceS;
    a.budget.runS -= runS;
    a.budget.held = withLeases(a.budget.held, runS);
  }
  if (chosen.length === 0) return { claimed: [], reason };
  chosen.sort((x, y) => (x.task_id < y.task_id ? -1 : x.task_id > y.task_id ? 1 : 0));

  // First claims: the replica count is decided now, by the car that claims first. Only replica 0
  // exists before, and this transaction holds it.
  const units = chosen.map((c) => ({
    unit_id: Number(c.id),
    task_id: c.task_id,
    job_id: c.job_id,
    tenant_id: c.tenant_id,
    priority: c.priority,
    task_order: Number(c.task_order),
    attempt: c.attempt,
    replicas:
      c.replicas_required === null
        ? replicasFor(
            c.replication ?? "auto",
            a.vehicle.reputation,
            deps.config.verification,
            // Drawn from the task and its round: the same claim decides the same count again.
            createRng(drawSeed(deps.config.drawSecret, "replicas", c.task_id, String(c.attempt))),
          )
        : null,
  }));
  const expiresAt = leaseExpiry(a.now, deps.config.leaseTtlS);
  const values = [
    JSON.stringify(units),
    a.vehicle.id,
    a.vehicle.ownerId,
    a.now,
    expiresAt,
    units.map((u) => u.unit_id),
    units.filter((u) => u.replicas !== null).map((u) => u.task_id),
    [...new Set(units.map((u) => u.job_id))],
    requestId,
  ];
  // The call's work is complete when this tenant fills it: the write then goes with COMMIT.
  const inserted =
    chosen.length === a.count
      ? await tx.commitWith<{ id: string; work_unit_id: number }>(CLAIM_WRITE, values)
      : await tx.rows<{ id: string; work_unit_id: number }>(CLAIM_WRITE, values);
  if (inserted.length === 0) return { claimed: [], reason };
  const leaseOf = new Map(inserted.map((l) => [Number(l.work_unit_id), l.id]));
  const won = chosen.filter((c) => leaseOf.has(Number(c.id)));
  return {
    claimed: won.map((c) => ({ ...c, leaseId: leaseOf.get(Number(c.id)) as string, expiresAt })),
    reason,
  };
}

// ---- renew and release ----

export const ZRenewInput = z
  .object({ leaseIds: z.array(ZUuid).min(1).max(MAX_LEASE_PER_CALL) })
  .strict();
export type RenewInput = z.infer<typeof ZRenewInput>;

export const ZRenewOutput = z.object({
  renewed: z.array(z.object({ leaseId: ZUuid, expiresAt: z.string() })),
  /** Leases that are not this car's active leases any more (expired, released, submitted). */
  lost: z.array(ZUuid),
  /**
   * Leases still this car's that were not extended (core's holding rule): it holds more than it
   * can run in one lifetime, or the lease has lived its longest. They run out as they stand.
   */
  notExtended: z.array(ZUuid),
});
export type RenewOutput = z.infer<typeof ZRenewOutput>;

/**
 * The leases of car $1 named in $3 extended at $2, each to its own expiry in $4 (never earlier
 * than it was), while they are still the car's.
 */
const RENEW = prepared(
  "renew",
  `UPDATE leases SET expires_at = greatest(leases.expires_at, r.expires_at), renewed_at = $2::timestamptz
     FROM unnest($3::uuid[], $4::timestamptz[]) AS r(id, expires_at)
    WHERE leases.id = r.id AND leases.car_id = $1::uuid AND leases.status = 'active'
      AND leases.expires_at > $2::timestamptz
   RETURNING leases.id, leases.expires_at AS "expiresAt"`,
);

/** The car extends the leases it names, those it could be running (renewals). */
export async function renew(deps: ApiDeps, carId: string, input: RenewInput): Promise<RenewOutput> {
  const now = deps.now();
  const ids = [...new Set(input.leaseIds)];
  const { extend, notExtended } = await renewals(deps, carId, ids, now);
  const renewed =
    extend.length === 0
      ? []
      : await preparedRows<{ id: string; expiresAt: Date }>(deps.db, RENEW, [
          carId,
          now,
          extend.map((e) => e.leaseId),
          extend.map((e) => e.expiresAt),
        ]);
  const held = new Set([...renewed.map((r) => r.id), ...notExtended]);
  return {
    renewed: renewed.map((r) => ({ leaseId: r.id, expiresAt: r.expiresAt.toISOString() })),
    lost: ids.filter((id) => !held.has(id)),
    notExtended,
  };
}

export const ZReleaseOutput = z.object({ released: z.number().int() });

/** The car hands back every active lease at once (it starts driving, or shuts down). */
export async function release(deps: ApiDeps, carId: string): Promise<{ released: number }> {
  const now = deps.now();
  const ended = await inTx(deps.db, (tx) =>
    endLeases(tx, sql`leases.car_id = ${carId}`, "released", "released", now),
  );
  return { released: ended.length };
}

/** Canaries are drawn from this many of the latest validated tasks. */
const CANARY_POOL = 32;

/**
 * Recent validated tasks of the car's models that its owner never leased, whose answer more
 * than one independent car gave (an answer a trusted car gave alone is not known to be right;
 * strangers count as one: core's quorumOwner), a car trusted now among them and none of them
 * quarantined since, and that were never a canary before: canary material. A canary judges the
 * car that gets it, so its answer must not be one that colluders agreed on: colluders never earn
 * trust (they agree with honest cars on nothing), and a group with a car caught since is
 * suspect. One car per canary task: cars that compare notes would see the same task twice.
 */
const CANARY_POOL_QUERY = prepared(
  "canary_pool",
  `SELECT t.id AS task_id, t.job_id, j.tenant_id, j.model_id, j.priority, t.input, t.attempt
     FROM tasks t JOIN jobs j ON j.id = t.job_id
    WHERE t.status = 'valid' AND t.validated_at > $1::timestamptz
      AND j.model_id = ANY($2::text[])
      AND EXISTS (SELECT 1 FROM verifications v WHERE v.task_id = t.id AND v.support >= 2)
      AND (SELECT bool_or(c.consecutive_valid >= $5::int) AND NOT bool_or(c.quarantined)
             FROM results r
             JOIN ledger_entries le ON le.lease_id = r.lease_id
             JOIN cars c ON c.id = r.car_id
            WHERE r.task_id = t.id AND le.validated)
      AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.owner_id = $3::uuid)
      AND NOT EXISTS (SELECT 1 FROM work_units w WHERE w.task_id = t.id AND w.canary)
    ORDER BY t.validated_at DESC
    LIMIT $4::int`,
);

/**
 * One more replica unit of the task, a canary, already leased. Nothing when the task has had its
 * canary: one committed before this statement began is seen here, one still in flight took the
 * same replica index (the unique index waits for it, then does nothing).
 */
const CANARY_UNIT = prepared(
  "canary_unit",
  `INSERT INTO work_units (task_id, job_id, tenant_id, priority, replica_index, task_order, attempt, status, canary)
   SELECT $1::uuid, $2::uuid, $3::text, $4::int, coalesce(max(replica_index), -1) + 1,
          coalesce(max(task_order), 0), $5::int, 'leased', true
     FROM work_units WHERE task_id = $1::uuid
   HAVING NOT coalesce(bool_or(canary), false)
   ON CONFLICT (task_id, replica_index) DO NOTHING
   RETURNING id`,
);

const CANARY_LEASE = prepared(
  "canary_lease",
  `INSERT INTO leases (work_unit_id, task_id, car_id, owner_id, leased_at, expires_at, request_id)
   VALUES ($1::bigint, $2::uuid, $3::uuid, $4::uuid, $5::timestamptz, $6::timestamptz, $7::uuid)
   ON CONFLICT (task_id, owner_id) DO NOTHING
   RETURNING id`,
);

const CANARY_UNDO = prepared("canary_undo", `DELETE FROM work_units WHERE id = $1::bigint`);

/**
 * A canary: a task validated recently by a quorum (its answer known) of a model the
 * car can run, that this car's owner never leased, issued again as one more replica. To the car
 * it is ordinary work: it expires with the call's other leases, sits anywhere among them, goes
 * to no other car, and its verdict reads "pending" (submit). Its result takes the path of a
 * replica that arrives after the quorum: compared with the answer, paid when it agrees, and
 * counted in the car's reputation either way, so a car that cheats on work nobody else checks
 * is caught. Nothing when no task fits, or when another claim races this one for the task (the
 * owner's unique lease). Issued in the call's claim transaction, stamped with its requestId.
 */
async function issueCanary(
  tx: PipelinedTx,
  deps: ApiDeps,
  to: {
    ownerId: string;
    carId: string;
    modelIds: string[];
    requestId: string | null;
    expiresAt: Date;
    rng: Rng;
  },
): Promise<Claimed | null> {
  const { ownerId, carId, modelIds, requestId, expiresAt, rng } = to;
  // As far back as a caught car's answers are run again: the window the input sweep keeps a
  // validated task's image for, so a canary's image is always there.
  const since = new Date(deps.now().getTime() - deps.config.verification.recheckWindowS * 1000);
  const pool = await tx.rows<
    Omit<Candidate, "id" | "task_order" | "replication" | "replicas_required">
  >(CANARY_POOL_QUERY, [
    since,
    modelIds,
    ownerId,
    CANARY_POOL,
    deps.config.verification.trustAfterConsecutiveValid,
  ]);
  if (pool.length === 0) return null;
  const pick = pool[rng.int(0, pool.length - 1)]!;
  // Leased now, after the task's validation was committed (the call's start may be earlier:
  // the claim ran first), so that a canary's lease always follows its task's verdict in time.
  const leasedAt = deps.now();
  const [unit] = await tx.rows<{ id: string }>(CANARY_UNIT, [
    pick.task_id,
    pick.job_id,
    pick.tenant_id,
    pick.priority,
    pick.attempt,
  ]);
  // Another canary of this task took the same replica index at the same moment: none this time.
  if (!unit) return null;
  const [made] = await tx.rows<{ id: string }>(CANARY_LEASE, [
    unit.id,
    pick.task_id,
    carId,
    ownerId,
    leasedAt,
    expiresAt,
    requestId,
  ]);
  if (!made) {
    await tx.rows(CANARY_UNDO, [unit.id]);
    return null;
  }
  return {
    ...pick,
    id: unit.id,
    task_order: "0",
    replication: null,
    replicas_required: null,
    leaseId: made.id,
    expiresAt,
  };
}
