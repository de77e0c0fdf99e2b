// Operators manage tenants (quota, weight, borrowing and lending limits, pause, input storage
// quota) and their API keys; a key is shown once and stored as its sha256.
import { tenantKeys, tenants } from "@nightshift/db/schema";
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiConfig } from "../config";
import type { ApiDeps } from "../context";
import { newToken, sha256Hex } from "../crypto";
import { conflict, notFound } from "../errors";
import { ZName, ZShare, ZSlug, ZUuid } from "../schemas";
import type { ApiState } from "../state";
import { audit } from "./audit";
import { type Executor, inTx, rows } from "./db";
import { heldImages, quotaOf, ZInputStorage, ZInputStorageQuotaBytes } from "./input-storage";

const ZWeight = z.number().gt(0).max(1000);

export const ZTenant = z.object({
  id: z.string(),
  name: z.string(),
  quotaShare: z.number(),
  weight: z.number(),
  borrowingLimitShare: z.number().nullable(),
  lendingLimitShare: z.number().nullable(),
  paused: z.boolean(),
  /** The operator's figure for this tenant's input storage; null: the server's default. */
  inputStorageQuotaBytes: z.number().int().nullable(),
  /** Stored input images it holds, and the quota that applies. */
  inputStorage: ZInputStorage,
  keys: z.number().int(),
  /** Work units leased now, and waiting. */
  activeLeases: z.number().int(),
  queued: z.number().int(),
});
export type TenantView = z.infer<typeof ZTenant>;

export const ZCreateTenantInput = z
  .object({
    id: ZSlug,
    name: ZName,
    quotaShare: ZShare.default(0),
    weight: ZWeight.default(1),
    borrowingLimitShare: ZShare.nullable().default(null),
    lendingLimitShare: ZShare.nullable().default(null),
    paused: z.boolean().default(false),
    inputStorageQuotaBytes: ZInputStorageQuotaBytes.nullable().default(null),
  })
  .strict();
export const ZUpdateTenantInput = z
  .object({
    id: ZSlug,
    name: ZName.optional(),
    quotaShare: ZShare.optional(),
    weight: ZWeight.optional(),
    borrowingLimitShare: ZShare.nullable().optional(),
    lendingLimitShare: ZShare.nullable().optional(),
    paused: z.boolean().optional(),
    /** null: back to the server's default. */
    inputStorageQuotaBytes: ZInputStorageQuotaBytes.nullable().optional(),
  })
  .strict();
export const ZNewKey = z.object({ keyId: ZUuid, prefix: z.string(), key: z.string() });
export const ZCreateTenantOutput = z.object({ tenant: ZTenant, apiKey: ZNewKey });

export async function listTenants(ex: Executor, config: ApiConfig): Promise<TenantView[]> {
  const list = await rows<{
    id: string;
    name: string;
    quota_share: number;
    weight: number;
    borrowing_limit_share: number | null;
    lending_limit_share: number | null;
    paused: boolean;
    /** bigint: node-postgres reads it as a string. */
    input_storage_quota_bytes: string | null;
    keys: number;
    active: number;
    queued: number;
  }>(
    ex,
    sql`SELECT t.*,
               (SELECT count(*)::int FROM tenant_keys k WHERE k.tenant_id = t.id AND k.revoked_at IS NULL) AS keys,
               (SELECT count(*)::int FROM work_units w WHERE w.tenant_id = t.id AND w.status = 'leased') AS active,
               (SELECT count(*)::int FROM work_units w WHERE w.tenant_id = t.id AND w.status = 'open') AS queued
          FROM tenants t ORDER BY t.id`,
  );
  const held = await heldImages(ex);
  return list.map((t) => {
    const own = t.input_storage_quota_bytes === null ? null : Number(t.input_storage_quota_bytes);
    const stored = held.get(t.id) ?? { usedBytes: 0, images: 0 };
    return {
      id: t.id,
      name: t.name,
      quotaShare: t.quota_share,
      weight: t.weight,
      borrowingLimitShare: t.borrowing_limit_share,
      lendingLimitShare: t.lending_limit_share,
      paused: t.paused,
      inputStorageQuotaBytes: own,
      inputStorage: { ...stored, quotaBytes: quotaOf(config, own) },
      keys: t.keys,
      activeLeases: t.active,
      queued: t.queued,
    };
  });
}

async function tenantView(ex: Executor, config: ApiConfig, id: string): Promise<TenantView> {
  const found = (await listTenants(ex, config)).find((t) => t.id === id);
  if (!found) throw notFound("id", id);
  return found;
}

/** A new key for a tenant, inside the caller's transaction. */
export async function addKey(
  ex: Executor,
  tenantId: string,
  now: Date,
): Promise<z.infer<typeof ZNewKey>> {
  const key = newToken("tenant");
  const prefix = key.slice(0, 10);
  const [row] = await ex
    .insert(tenantKeys)
    .values({ tenantId, keyHash: sha256Hex(key), prefix, createdAt: now })
    .returning({ id: tenantKeys.id });
  return { keyId: (row as { id: string }).id, prefix, key };
}

export async function createTenant(
  deps: ApiDeps,
  state: ApiState,
  operatorId: string,
  input: z.infer<typeof ZCreateTenantInput>,
): Promise<z.infer<typeof ZCreateTenantOutput>> {
  const now = deps.now();
  const out = await inTx(deps.db, async (tx) => {
    const [created] = await tx
      .insert(tenants)
      .values({ ...input, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .returning({ id: tenants.id });
    if (!created) throw conflict(`id: tenant "${input.id}" exists`);
    const apiKey = await addKey(tx, input.id, now);
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: "tenants.create",
      subjectKind: "tenant",
      subjectId: input.id,
      detail: { ...input, keyPrefix: apiKey.prefix },
    });
    return { tenant: await tenantView(tx, deps.config, input.id), apiKey };
  });
  state.invalidate();
  return out;
}

export async function updateTenant(
  deps: ApiDeps,
  state: ApiState,
  operatorId: string,
  input: z.infer<typeof ZUpdateTenantInput>,
): Promise<TenantView> {
  const now = deps.now();
  const { id, ...patch } = input;
  const out = await inTx(deps.db, async (tx) => {
    const [updated] = await tx
      .update(tenants)
      .set({ ...patch, updatedAt: now })
      .where(eq(tenants.id, id))
      .returning({ id: tenants.id });
    if (!updated) throw notFound("id", id);
    const action =
      patch.paused === true
        ? "tenants.pause"
        : patch.paused === false
          ? "tenants.resume"
          : "tenants.update";
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action,
      subjectKind: "tenant",
      subjectId: id,
      detail: patch,
    });
    return tenantView(tx, deps.config, id);
  });
  state.invalidate();
  return out;
}

export const ZTenantRef = z.object({ tenantId: ZSlug }).strict();

export async function createKey(
  deps: ApiDeps,
  operatorId: string,
  tenantId: string,
): Promise<z.infer<typeof ZNewKey>> {
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    const [tenant] = await tx
      .select({ id: tenants.id })
      .from(tenants)
      .where(eq(tenants.id, tenantId));
    if (!tenant) throw notFound("tenantId", tenantId);
    const key = await addKey(tx, tenantId, now);
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: "tenants.createKey",
      subjectKind: "tenant",
      subjectId: tenantId,
      detail: { keyId: key.keyId, prefix: key.prefix },
    });
    return key;
  });
}

export const ZRevokeKeyInput = z.object({ keyId: ZUuid }).strict();

export async function revokeKey(
  deps: ApiDeps,
  state: ApiState,
  operatorId: string,
  keyId: string,
): Promise<{ revoked: boolean }> {
  const now = deps.now();
  const out = await inTx(deps.db, async (tx) => {
    const [key] = await tx
      .update(tenantKeys)
      .set({ revokedAt: now })
      .where(and(eq(tenantKeys.id, keyId), isNull(tenantKeys.revokedAt)))
      .returning({ tenantId: tenantKeys.tenantId });
    if (!key) throw notFound("keyId", keyId);
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: "tenants.revokeKey",
      subjectKind: "tenant",
      subjectId: key.tenantId,
      detail: { keyId },
    });
    return { revoked: true };
  });
  state.forgetCallers();
  return out;
}

export const ZKeysOutput = z.array(
  z.object({
    keyId: ZUuid,
    prefix: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  }),
);

export async function listKeys(
  deps: ApiDeps,
  tenantId: string,
): Promise<z.infer<typeof ZKeysOutput>> {
  const keys = await deps.db
    .select()
    .from(tenantKeys)
    .where(eq(tenantKeys.tenantId, tenantId))
    .orderBy(asc(tenantKeys.createdAt));
  return keys.map((k) => ({
    keyId: k.id,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
  }));
}
