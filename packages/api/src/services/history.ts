// What the operator looks back on: the fleet minute by minute (sampled by every instance, one
// row per minute and region), a car's changes of state and its work, a job's tasks with their
// replicas and verdicts, and the models the fleet runs.
import { LEASE_STATUSES } from "@nightshift/core/status";
import { getManifest } from "@nightshift/models/registry";
import { carEvents, fleetSamples, models } from "@nightshift/db/schema";
import { and, asc, desc, eq, gt, gte, lt, sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { notFound } from "../errors";
import { ZIsoDate, ZLimit, ZNumberCursor, ZSeqCursor, ZUuid } from "../schemas";
import type { ApiState } from "../state";
import { rows } from "./db";
import { fleetSummary, ZRegionFigures } from "./fleet";

/** The region key of the whole fleet's row in fleet_samples. */
export const ALL_REGIONS = "*";

/**
 * Writes this minute's sample (the fleet and each region), unless an instance already did:
 * the minute and region are the key. Returns whether this call wrote it.
 */
export async function recordFleetSample(deps: ApiDeps, state: ApiState): Promise<boolean> {
  const summary = await fleetSummary(deps, state);
  const at = new Date(Math.floor(Date.parse(summary.at) / 60_000) * 60_000);
  const values = [
    {
      at,
      regionId: ALL_REGIONS,
      online: summary.cars.online,
      eligible: summary.eligible,
      availableKW: summary.availableKW,
      availableTops: summary.availableTops,
      activeLeases: summary.activeLeases,
      queueDepth: summary.queueDepth,
    },
    ...summary.byRegion.map((r) => ({
      at,
      regionId: r.regionId,
      online: r.online,
      eligible: r.eligible,
      availableKW: r.availableKW,
      availableTops: r.availableTops,
      activeLeases: r.activeLeases,
      // Work is queued for the fleet, not for a region.
      queueDepth: 0,
    })),
  ];
  const written = await deps.db
    .insert(fleetSamples)
    .values(values)
    .onConflictDoNothing()
    .returning({ at: fleetSamples.at });
  return written.length > 0;
}

export const ZFleetSeriesInput = z
  .object({
    hours: z.number().int().min(1).max(168).default(24),
    /**
     * Only samples taken after this time (within the last `hours`): a chart that holds the day
     * asks for the minutes since its newest one.
     */
    after: ZIsoDate.optional(),
  })
  .strict();
export const ZFleetSeries = z.object({
  /** regionId "*" for the whole fleet, else a region id. */
  points: z.array(ZRegionFigures.extend({ at: z.string(), queueDepth: z.number().int() })),
});

/**
 * The fleet's samples over the last `hours` (and after `after`, when given), oldest first (one
 * per minute and region).
 */
export async function fleetSeries(
  deps: ApiDeps,
  input: z.infer<typeof ZFleetSeriesInput>,
): Promise<z.infer<typeof ZFleetSeries>> {
  const since = new Date(deps.now().getTime() - input.hours * 3600_000);
  const found = await deps.db
    .select()
    .from(fleetSamples)
    .where(
      and(
        gte(fleetSamples.at, since),
        input.after === undefined ? undefined : gt(fleetSamples.at, new Date(input.after)),
      ),
    )
    .orderBy(asc(fleetSamples.at), asc(fleetSamples.regionId));
  return { points: found.map((p) => ({ ...p, at: p.at.toISOString() })) };
}

/** Samples older than this are dropped by the sampler (a week of minutes per region). */
export const FLEET_SAMPLES_KEPT_H = 168;

export async function pruneFleetSamples(deps: ApiDeps): Promise<void> {
  const before = new Date(deps.now().getTime() - FLEET_SAMPLES_KEPT_H * 3600_000);
  await deps.db.delete(fleetSamples).where(lt(fleetSamples.at, before));
}

// ---- a car's history and work ----

export const ZCarPageInput = z
  .object({
    carId: ZUuid,
    /** cars.history: the id of the last event shown; cars.tasks: the leases shown so far. */
    cursor: ZNumberCursor.optional(),
    limit: ZLimit,
  })
  .strict();

export const ZCarHistory = z.object({
  items: z.array(
    z.object({
      at: z.string(),
      state: z.enum(["driving", "parked", "charging"]),
      socPct: z.number(),
      pluggedIn: z.boolean(),
    }),
  ),
  /** Pass as `cursor` for older events; null after the oldest. */
  nextCursor: z.number().int().nullable(),
});

/** A car's changes of state, newest first. */
export async function carHistory(
  deps: ApiDeps,
  input: z.infer<typeof ZCarPageInput>,
): Promise<z.infer<typeof ZCarHistory>> {
  const found = await deps.db
    .select()
    .from(carEvents)
    .where(
      and(
        eq(carEvents.carId, input.carId),
        input.cursor === undefined ? undefined : lt(carEvents.id, input.cursor),
      ),
    )
    .orderBy(desc(carEvents.id))
    .limit(input.limit + 1);
  const page = found.slice(0, input.limit);
  return {
    items: page.map((e) => ({
      at: e.at.toISOString(),
      state: e.state,
      socPct: e.socPct,
      pluggedIn: e.pluggedIn,
    })),
    nextCursor: found.length > input.limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}

const ZLeaseOutcome = z.enum(LEASE_STATUSES);
/** Where a result stands: agreed with the quorum, disagreed, awaiting replicas, or none. */
const ZResultVerdict = z.enum(["valid", "invalid", "pending", "none"]);

const RESULT_VERDICT = `CASE WHEN r.id IS NULL THEN 'none'
            WHEN le.validated THEN 'valid'
            WHEN t.status IN ('valid', 'failed') THEN 'invalid'
            ELSE 'pending' END`;

/** One lease and what came of it: how it ended, and its result's standing. */
const ZLeaseRecord = z.object({
  leaseId: ZUuid,
  status: ZLeaseOutcome,
  endReason: z.string().nullable(),
  verdict: ZResultVerdict,
  backend: z.string().nullable(),
  durationMs: z.number().nullable(),
  leasedAt: z.string(),
  endedAt: z.string().nullable(),
});

export const ZCarTasks = z.object({
  items: z.array(
    ZLeaseRecord.extend({
      taskId: ZUuid,
      jobId: ZUuid,
      modelId: z.string(),
      energyKWh: z.number().nullable(),
      payoutUsd: z.number().nullable(),
    }),
  ),
  nextCursor: z.number().int().nullable(),
});

/** A car's leases (work given to it), newest first, with what came of each. */
export async function carTasks(
  deps: ApiDeps,
  input: z.infer<typeof ZCarPageInput>,
): Promise<z.infer<typeof ZCarTasks>> {
  // Leases have uuid keys: the page cursor is an offset, enough for an operator paging back.
  const offset = input.cursor ?? 0;
  const found = await rows<{
    lease_id: string;
    task_id: string;
    job_id: string;
    model_id: string;
    status: z.infer<typeof ZLeaseOutcome>;
    end_reason: string | null;
    verdict: z.infer<typeof ZResultVerdict>;
    backend: string | null;
    duration_ms: number | null;
    leased_at: Date;
    ended_at: Date | null;
    energy_k_wh: number | null;
    payout_usd: number | null;
  }>(
    deps.db,
    sql`SELECT l.id AS lease_id, l.task_id, t.job_id, j.model_id, l.status, l.end_reason,
               ${sql.raw(RESULT_VERDICT)} AS verdict, r.backend, r.duration_ms, l.leased_at, l.ended_at,
               le.energy_k_wh, le.payout_usd
          FROM leases l
          JOIN tasks t ON t.id = l.task_id
          JOIN jobs j ON j.id = t.job_id
          LEFT JOIN results r ON r.lease_id = l.id
          LEFT JOIN ledger_entries le ON le.lease_id = l.id
         WHERE l.car_id = ${input.carId}
         ORDER BY l.leased_at DESC, l.id DESC
         OFFSET ${offset} LIMIT ${input.limit + 1}`,
  );
  const page = found.slice(0, input.limit);
  return {
    items: page.map((l) => ({
      leaseId: l.lease_id,
      taskId: l.task_id,
      jobId: l.job_id,
      modelId: l.model_id,
      status: l.status,
      endReason: l.end_reason,
      verdict: l.verdict,
      backend: l.backend,
      durationMs: l.duration_ms,
      leasedAt: new Date(l.leased_at).toISOString(),
      endedAt: l.ended_at ? new Date(l.ended_at).toISOString() : null,
      energyKWh: l.energy_k_wh,
      payoutUsd: l.payout_usd,
    })),
    nextCursor: found.length > input.limit ? offset + input.limit : null,
  };
}

// ---- a job's tasks, replica by replica ----

export const ZJobTasksInput = z
  .object({ jobId: ZUuid, cursor: ZSeqCursor.optional(), limit: ZLimit })
  .strict();

export const ZJobTasks = z.object({
  items: z.array(
    z.object({
      seq: z.number().int(),
      taskId: ZUuid,
      status: z.enum(["open", "verifying", "valid", "failed", "cancelled"]),
      replicasRequired: z.number().int().nullable(),
      error: z.string().nullable(),
      verification: z
        .object({
          status: z.string(),
          support: z.number().int(),
          agreeing: z.number().int(),
          disagreeing: z.number().int(),
          decidedAt: z.string(),
        })
        .nullable(),
      replicas: z.array(ZLeaseRecord.extend({ carId: ZUuid, carName: z.string() })),
    }),
  ),
  nextCursor: z.number().int().nullable(),
});

/** A job's tasks in order, each with every lease it was given and what came of it. */
export async function jobTasks(
  deps: ApiDeps,
  input: z.infer<typeof ZJobTasksInput>,
): Promise<z.infer<typeof ZJobTasks>> {
  const [job] = await rows<{ id: string }>(
    deps.db,
    sql`SELECT id FROM jobs WHERE id = ${input.jobId}`,
  );
  if (!job) throw notFound("jobId", input.jobId);
  type Replica = z.infer<typeof ZJobTasks>["items"][number]["replicas"][number];
  const found = await rows<{
    seq: number;
    id: string;
    status: z.infer<typeof ZJobTasks>["items"][number]["status"];
    replicas_required: number | null;
    error: string | null;
    verification: {
      status: string;
      support: number;
      agreeing: number;
      disagreeing: number;
      decidedAt: string;
    } | null;
    replicas: Replica[];
  }>(
    deps.db,
    sql`SELECT t.seq, t.id, t.status, t.replicas_required, t.error,
               (SELECT json_build_object('status', v.status, 'support', v.support, 'agreeing', v.agreeing,
                                         'disagreeing', v.disagreeing, 'decidedAt', v.decided_at)
                  FROM verifications v WHERE v.task_id = t.id ORDER BY v.decided_at DESC LIMIT 1) AS verification,
               coalesce((
                 SELECT json_agg(json_build_object(
                          'leaseId', l.id, 'carId', l.car_id, 'carName', c.name, 'status', l.status,
                          'endReason', l.end_reason, 'verdict', ${sql.raw(RESULT_VERDICT)},
                          'backend', r.backend, 'durationMs', r.duration_ms,
                          'leasedAt', l.leased_at, 'endedAt', l.ended_at) ORDER BY l.leased_at, l.id)
                   FROM leases l
                   JOIN cars c ON c.id = l.car_id
                   LEFT JOIN results r ON r.lease_id = l.id
                   LEFT JOIN ledger_entries le ON le.lease_id = l.id
                  WHERE l.task_id = t.id), '[]') AS replicas
          FROM tasks t
         WHERE t.job_id = ${input.jobId} AND t.seq > ${input.cursor ?? -1}
         ORDER BY t.seq
         LIMIT ${input.limit + 1}`,
  );
  const page = found.slice(0, input.limit);
  const iso = (v: string | null) => (v === null ? null : new Date(v).toISOString());
  return {
    items: page.map((t) => ({
      seq: t.seq,
      taskId: t.id,
      status: t.status,
      replicasRequired: t.replicas_required,
      error: t.error,
      verification: t.verification
        ? { ...t.verification, decidedAt: iso(t.verification.decidedAt)! }
        : null,
      replicas: t.replicas.map((r) => ({
        ...r,
        leasedAt: iso(r.leasedAt)!,
        endedAt: iso(r.endedAt),
      })),
    })),
    nextCursor: found.length > input.limit ? (page[page.length - 1]?.seq ?? null) : null,
  };
}

// ---- models ----

export const ZModelView = z.object({
  id: z.string(),
  version: z.string(),
  title: z.string(),
  sha256: z.string(),
  sizeBytes: z.number().int(),
  /** What a task's input is: an image (PNG or JPEG), or named tensors. */
  takes: z.enum(["image", "tensor"]),
  inputSpec: z.unknown(),
  outputSpec: z.unknown(),
  tolerance: z.object({ abs: z.number(), rel: z.number() }),
  maxBatch: z.number().int(),
});

/** The models jobs may name, as registered. */
export async function listModels(deps: ApiDeps): Promise<z.infer<typeof ZModelView>[]> {
  const found = await deps.db.select().from(models).orderBy(asc(models.id));
  return found.map((m) => {
    const manifest = getManifest(m.id);
    return {
      id: m.id,
      version: m.version,
      title: manifest?.title ?? m.id,
      sha256: m.sha256,
      sizeBytes: m.sizeBytes,
      takes: manifest?.preprocess.kind === "image" ? "image" : "tensor",
      inputSpec: m.inputSpec,
      outputSpec: m.outputSpec,
      tolerance: m.tolerance,
      maxBatch: manifest?.maxBatch ?? 1,
    };
  });
}
