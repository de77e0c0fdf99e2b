// What each tenant holds of the stored input images, and when an image goes. A tenant holds
// (tenant_input_blobs) the distinct images its jobs use and pays for each once, against its
// input storage quota. The sweep lets go of a cancelled job's images at once and of a finished
// job's after the retention; an image no tenant holds is deleted once no task may still need it.
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiConfig } from "../config";
import type { ApiDeps } from "../context";
import { badRequest, notFound } from "../errors";
import { bigintArray, type Executor, inTx, rows, textArray, uuidArray } from "./db";
import { type PreparedImage, storeImages } from "./inputs";

/** An operator's figure for one tenant: up to a PiB. */
export const ZInputStorageQuotaBytes = z
  .number()
  .int()
  .min(0)
  .max(2 ** 50);

export const ZInputStorage = z.object({
  /** Bytes of the distinct images the tenant holds. */
  usedBytes: z.number().int(),
  /** What it may hold: its operator's figure, else the server's default. */
  quotaBytes: z.number().int(),
  /** Distinct images held. */
  images: z.number().int(),
});
export type InputStorage = z.infer<typeof ZInputStorage>;

/** The quota that applies: the tenant's own figure, else the server's. */
export function quotaOf(config: ApiConfig, own: number | null): number {
  return own ?? config.inputStorageQuotaBytes;
}

/** Bytes and count of the images each tenant holds (one tenant's, or every tenant's). */
export async function heldImages(
  ex: Executor,
  tenantId?: string,
): Promise<Map<string, { usedBytes: number; images: number }>> {
  const list = await rows<{ tenant_id: string; used: number; images: number }>(
    ex,
    sql`SELECT tenant_id, sum(size_bytes)::float8 AS used, count(*)::int AS images
          FROM tenant_input_blobs
         ${tenantId === undefined ? sql`` : sql`WHERE tenant_id = ${tenantId}`}
         GROUP BY tenant_id`,
  );
  return new Map(list.map((r) => [r.tenant_id, { usedBytes: r.used, images: r.images }]));
}

/** What a tenant reads of its own storage. */
export async function inputStorageOf(deps: ApiDeps, tenantId: string): Promise<InputStorage> {
  const [tenant] = await rows<{ own: string | null }>(
    deps.db,
    sql`SELECT input_storage_quota_bytes AS own FROM tenants WHERE id = ${tenantId}`,
  );
  if (!tenant) throw notFound("tenantId", tenantId);
  const held = (await heldImages(deps.db, tenantId)).get(tenantId);
  return {
    usedBytes: held?.usedBytes ?? 0,
    quotaBytes: quotaOf(deps.config, tenant.own === null ? null : Number(tenant.own)),
    images: held?.images ?? 0,
  };
}

/**
 * Makes the tenant hold a new job's images and stores them, in the job's transaction; refuses
 * (BAD_REQUEST, naming the first input past the quota) a job whose images new to the tenant
 * would take it over its quota. Locks the tenant's row (its jobs with images are written one at
 * a time, so two cannot both fit the last bytes), then its holds, then the images: holds before
 * images, as the sweep takes them, so that the two cannot deadlock.
 */
export async function holdImages(
  tx: Executor,
  config: ApiConfig,
  tenantId: string,
  images: readonly PreparedImage[],
): Promise<void> {
  if (images.length === 0) return;
  const [tenant] = await rows<{ own: string | null }>(
    tx,
    sql`SELECT input_storage_quota_bytes AS own FROM tenants WHERE id = ${tenantId}
          FOR NO KEY UPDATE`,
  );
  if (!tenant) throw notFound("tenantId", tenantId);
  const quotaBytes = quotaOf(config, tenant.own === null ? null : Number(tenant.own));
  // Each image once, where the call first gave it.
  const distinct = new Map<string, PreparedImage>();
  for (const image of images)
    if (!distinct.has(image.ref.sha256)) distinct.set(image.ref.sha256, image);
  const shas = textArray([...distinct.keys()].sort());
  // Holds the tenant has stay held to the end of this transaction: the sweep waits for them.
  const held = await rows<{ sha256: string }>(
    tx,
    sql`SELECT sha256 FROM tenant_input_blobs WHERE tenant_id = ${tenantId} AND sha256 = ANY(${shas})
         ORDER BY sha256 FOR UPDATE`,
  );
  const heldShas = new Set(held.map((h) => h.sha256));
  const fresh = [...distinct.values()].filter((i) => !heldShas.has(i.ref.sha256));
  const usedBytes = (await heldImages(tx, tenantId)).get(tenantId)?.usedBytes ?? 0;
  const needBytes = fresh.reduce((n, i) => n + i.bytes.length, 0);
  // Images it holds already cost nothing more, even to a tenant over a quota lowered since.
  let upTo = usedBytes;
  const first = fresh.find((i) => (upTo += i.bytes.length) > quotaBytes);
  if (first) {
    throw badRequest(
      first.field,
      `over the tenant's input storage quota: the job's new images need ${needBytes} bytes;` +
        ` ${usedBytes} of its ${quotaBytes} bytes are in use`,
    );
  }
  if (fresh.length > 0) {
    await tx.execute(
      sql`INSERT INTO tenant_input_blobs (tenant_id, sha256, size_bytes)
          SELECT ${tenantId}, x.sha256, x.size_bytes
            FROM unnest(${textArray(fresh.map((i) => i.ref.sha256))},
                        ${bigintArray(fresh.map((i) => i.bytes.length))}) AS x(sha256, size_bytes)
           ORDER BY x.sha256
          ON CONFLICT DO NOTHING`,
    );
  }
  await storeImages(tx, [...distinct.values()]);
}

/** Ended jobs let go of in one pass of the sweep (each reads its tasks' inputs). */
const JOBS_PER_SWEEP = 50;
/** Images looked at in one pass of the sweep. */
const IMAGES_PER_SWEEP = 100;
/** How long an image no tenant holds but a task still needs waits for the next look, s. */
const RECHECK_S = 600;

export interface InputSweep {
  /** Ended jobs whose images were let go. */
  jobsReleased: number;
  /** Images deleted: no tenant held them and no task needed them. */
  imagesDeleted: number;
}

/**
 * One pass of the input sweep: lets go of ended jobs' images, then deletes the images nobody
 * needs. Bounded per pass; safe on several instances at once (jobs and images are taken with
 * SKIP LOCKED, and each is released or deleted once).
 */
export async function sweepInputs(deps: ApiDeps): Promise<InputSweep> {
  const now = deps.now();
  const jobsReleased = await releaseEndedJobs(deps, now);
  const imagesDeleted = await deleteUnneededImages(deps, now);
  return { jobsReleased, imagesDeleted };
}

/**
 * Cancelled jobs, and jobs completed or failed longer than the retention ago, let go of their
 * images: a tenant's hold on an image goes when none of its jobs still holding uses it, and an
 * image whose hold went is queued for deletion (deleteUnneededImages decides).
 */
async function releaseEndedJobs(deps: ApiDeps, now: Date): Promise<number> {
  const retainedSince = new Date(now.getTime() - deps.config.inputRetentionS * 1000);
  return inTx(deps.db, async (tx) => {
    const released = await rows<{ id: string }>(
      tx,
      // Cancelled jobs, then those past the retention: each a range of jobs_inputs_held.
      sql`UPDATE jobs SET inputs_released_at = ${now}
           WHERE id IN (SELECT id FROM jobs
                         WHERE inputs_released_at IS NULL
                           AND id IN ((SELECT id FROM jobs
                                        WHERE inputs_released_at IS NULL AND status = 'cancelled'
                                        ORDER BY completed_at LIMIT ${JOBS_PER_SWEEP})
                                      UNION ALL
                                      (SELECT id FROM jobs
                                        WHERE inputs_released_at IS NULL
                                          AND status IN ('completed', 'failed')
                                          AND completed_at <= ${retainedSince}
                                        ORDER BY completed_at LIMIT ${JOBS_PER_SWEEP}))
                         LIMIT ${JOBS_PER_SWEEP} FOR NO KEY UPDATE SKIP LOCKED)
          RETURNING id`,
    );
    if (released.length === 0) return 0;
    const jobIds = uuidArray(released.map((j) => j.id));
    // The holds these jobs were behind, locked in the order submit locks a tenant's holds.
    const holds = await rows<{ tenant_id: string; sha256: string }>(
      tx,
      sql`SELECT h.tenant_id, h.sha256 FROM tenant_input_blobs h
           WHERE (h.tenant_id, h.sha256) IN (
                   SELECT DISTINCT j.tenant_id, t.input -> 'image' ->> 'sha256'
                     FROM tasks t JOIN jobs j ON j.id = t.job_id
                    WHERE t.job_id = ANY(${jobIds}) AND (t.input -> 'image' ->> 'sha256') IS NOT NULL)
           ORDER BY h.tenant_id, h.sha256 FOR UPDATE`,
    );
    if (holds.length === 0) return released.length;
    // A new statement, so it sees every job committed while it waited for the holds.
    const gone = await rows<{ sha256: string }>(
      tx,
      sql`DELETE FROM tenant_input_blobs h
           USING unnest(${textArray(holds.map((x) => x.tenant_id))},
                        ${textArray(holds.map((x) => x.sha256))}) AS x(tenant_id, sha256)
           WHERE h.tenant_id = x.tenant_id AND h.sha256 = x.sha256
             AND NOT EXISTS (
                   SELECT 1 FROM tasks t JOIN jobs j ON j.id = t.job_id
                    WHERE (t.input -> 'image' ->> 'sha256') = h.sha256
                      AND j.tenant_id = h.tenant_id AND j.inputs_released_at IS NULL)
          RETURNING h.sha256`,
    );
    if (gone.length > 0) {
      const shas = [...new Set(gone.map((g) => g.sha256))].sort();
      await tx.execute(
        sql`UPDATE input_blobs SET reclaim_at = ${now}
             WHERE sha256 IN (SELECT sha256 FROM input_blobs WHERE sha256 = ANY(${textArray(shas)})
                               ORDER BY sha256 FOR UPDATE)`,
      );
    }
    return released.length;
  });
}

/**
 * Deletes the queued images that no tenant holds and no task may need: an open or verifying
 * task, a task a car holds a lease on, or one validated within the recheck window (its answer
 * may be withdrawn and run again, and canaries are drawn from the same day). An image a tenant
 * holds again leaves the queue; one a task still needs is looked at again later.
 */
async function deleteUnneededImages(deps: ApiDeps, now: Date): Promise<number> {
  const neededSince = new Date(now.getTime() - deps.config.verification.recheckWindowS * 1000);
  return inTx(deps.db, async (tx) => {
    const due = await rows<{ sha256: string }>(
      tx,
      sql`SELECT sha256 FROM input_blobs WHERE reclaim_at <= ${now}
           ORDER BY reclaim_at LIMIT ${IMAGES_PER_SWEEP} FOR UPDATE SKIP LOCKED`,
    );
    if (due.length === 0) return 0;
    const shas = textArray(due.map((d) => d.sha256));
    await tx.execute(
      sql`UPDATE input_blobs b SET reclaim_at = NULL
           WHERE sha256 = ANY(${shas})
             AND EXISTS (SELECT 1 FROM tenant_input_blobs h WHERE h.sha256 = b.sha256)`,
    );
    const deleted = await rows<{ sha256: string }>(
      tx,
      sql`DELETE FROM input_blobs b
           WHERE sha256 = ANY(${shas}) AND reclaim_at IS NOT NULL
             AND NOT EXISTS (
                   SELECT 1 FROM tasks t
                    WHERE (t.input -> 'image' ->> 'sha256') = b.sha256
                      AND (t.status IN ('open', 'verifying')
                           OR (t.status = 'valid' AND t.validated_at > ${neededSince})
                           OR EXISTS (SELECT 1 FROM leases l
                                       WHERE l.task_id = t.id AND l.status = 'active')))
          RETURNING sha256`,
    );
    await tx.execute(
      sql`UPDATE input_blobs SET reclaim_at = ${new Date(now.getTime() + RECHECK_S * 1000)}
           WHERE sha256 = ANY(${shas}) AND reclaim_at IS NOT NULL`,
    );
    return deleted.length;
  });
}
