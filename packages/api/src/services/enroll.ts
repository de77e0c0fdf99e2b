// A car joins the fleet with an enrollment code (from an operator, or the demo code) and gets
// its credential, shown once and stored only as its sha256. A code is an operator's word for the
// owners it makes: one anyone may use (public, as the demo's) makes owners nobody vouched for.
import { randomBytes, randomUUID } from "node:crypto";
import { PLAUSIBLE_CHARGE_EFFICIENCY } from "@nightshift/core/pay";
import { cars, enrollmentCodes, owners, regions } from "@nightshift/db/schema";
import { and, asc, eq, gt, isNull, or, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { newToken, sha256Hex } from "../crypto";
import { badRequest, forbidden, notFound } from "../errors";
import {
  decodeCursor,
  encodeCursor,
  ZCursor,
  ZHardwareId,
  ZLimit,
  ZName,
  ZOwnerPolicy,
  ZPct,
  ZPgTimestamptz,
  ZSlug,
  ZText,
  ZUuid,
} from "../schemas";
import { audit } from "./audit";
import { type Executor, inTx } from "./db";

export const DEFAULT_POLICY = {
  optedIn: true,
  allowedHours: { startHour: 0, endHour: 24 },
  minDepartureChargePct: 50,
  reservePct: 20,
};

export const ZEnrollInput = z
  .object({
    code: ZText.min(1).max(128),
    name: ZName.optional(),
    hardwareId: ZHardwareId.default("fsd-hw4"),
    /**
     * Usable battery capacity; the largest packs sold today are ~200 kWh (trucks), and a pack
     * under 1 kWh would not move a car.
     */
    batteryKWh: z.number().min(1).max(250).default(75),
    socPct: ZPct.default(80),
    /**
     * Share of wall energy that reaches the battery, within what chargers plausibly do (core's
     * pay.ts); pay never assumes less than its floor, whatever is enrolled.
     */
    chargeEfficiency: z
      .number()
      .min(PLAUSIBLE_CHARGE_EFFICIENCY.min)
      .max(PLAUSIBLE_CHARGE_EFFICIENCY.max)
      .default(0.9),
    /** When the code does not fix a region; the first region (by id) when neither does. */
    regionId: ZSlug.optional(),
    ownerName: ZName.optional(),
    policy: ZOwnerPolicy.default(DEFAULT_POLICY),
  })
  .strict();
export type EnrollInput = z.infer<typeof ZEnrollInput>;

export const ZEnrollOutput = z.object({
  carId: ZUuid,
  ownerId: ZUuid,
  regionId: z.string(),
  /** The region's IANA time zone: the car's local time (its owner's hours, its daily pattern). */
  timeZone: z.string(),
  /** The car's secret: send it as `Authorization: Bearer <credential>`. Shown only once. */
  credential: z.string(),
});
export type EnrollOutput = z.infer<typeof ZEnrollOutput>;

type CodeRow = typeof enrollmentCodes.$inferSelect;

/** Why a code that exists enrolls no car now, or null when it does. */
function refusal(code: CodeRow, now: Date): string | null {
  if (code.revokedAt) return "this code was revoked";
  if (code.expiresAt && code.expiresAt <= now)
    return `this code expired at ${code.expiresAt.toISOString()}`;
  if (code.usesLeft <= 0) return "this code has no uses left";
  return null;
}

export async function enroll(deps: ApiDeps, input: EnrollInput): Promise<EnrollOutput> {
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    const codeHash = sha256Hex(input.code);
    const [code] = await tx
      .update(enrollmentCodes)
      .set({ usesLeft: sql`${enrollmentCodes.usesLeft} - 1` })
      .where(
        and(
          eq(enrollmentCodes.codeHash, codeHash),
          gt(enrollmentCodes.usesLeft, 0),
          isNull(enrollmentCodes.revokedAt),
          or(isNull(enrollmentCodes.expiresAt), gt(enrollmentCodes.expiresAt, now)),
        ),
      )
      .returning();
    if (!code) {
      // Say why: a code that exists but is spent is the operator's to renew, not a typo.
      const [known] = await tx
        .select()
        .from(enrollmentCodes)
        .where(eq(enrollmentCodes.codeHash, codeHash));
      const why = known ? refusal(known, now) : null;
      throw why ? forbidden("code", why) : notFound("code");
    }
    if (code.regionId && input.regionId && input.regionId !== code.regionId) {
      throw badRequest("regionId", `this code enrolls cars in region "${code.regionId}"`);
    }
    const wanted = code.regionId ?? input.regionId;
    const columns = { id: regions.id, timeZone: regions.timeZone };
    const [region] = wanted
      ? await tx.select(columns).from(regions).where(eq(regions.id, wanted))
      : await tx.select(columns).from(regions).orderBy(asc(regions.id)).limit(1);
    if (!region) throw notFound("regionId", wanted);
    const regionId = region.id;

    // The id is made here so that the default name can come from it: unique to the eye, where a
    // name from the clock was shared by every car enrolled in the same second.
    const carId = randomUUID();
    const name = input.name ?? `car-${carId.slice(0, 8)}`;
    let ownerId = code.ownerId;
    if (!ownerId) {
      // Anyone may hold a public code, and one person may enroll any number of cars with it:
      // nobody vouches for the owners it makes (core's verification counts them as one).
      const [owner] = await tx
        .insert(owners)
        .values({ name: input.ownerName ?? `Owner of ${name}`, vouched: !code.public })
        .returning({ id: owners.id });
      ownerId = (owner as { id: string }).id;
    }
    const credential = newToken("car");
    const [car] = await tx
      .insert(cars)
      .values({
        id: carId,
        ownerId,
        regionId,
        hardwareId: input.hardwareId,
        name,
        credentialHash: sha256Hex(credential),
        state: "parked",
        socPct: input.socPct,
        batteryKWh: input.batteryKWh,
        chargeEfficiency: input.chargeEfficiency,
        policy: input.policy,
      })
      .returning({ id: cars.id });
    return {
      carId: (car as { id: string }).id,
      ownerId,
      regionId,
      timeZone: region.timeZone,
      credential,
    };
  });
}

// ---- operators hand out codes ----

/** Most uses of a public code: each use can make a stranger, so a leaked one makes few. */
export const MAX_PUBLIC_CODE_USES = 10_000;

/** A code's id: the sha256 (hex) the server keeps of it. Not a secret: no code comes back from it. */
export const ZCodeId = z
  .string()
  .regex(/^[0-9a-f]{64}$/, "must be a code's id (64 hex digits), as create and list give it");

export const ZCreateCodeInput = z
  .object({
    /** Cars join this owner; or a new owner named `ownerName`; or, with neither, one new owner per car. */
    ownerId: ZUuid.optional(),
    ownerName: ZName.optional(),
    regionId: ZSlug.optional(),
    /**
     * Anyone may use it (a code on a web page, the demo's): each car gets a new owner nobody
     * vouched for. At most MAX_PUBLIC_CODE_USES uses; names no owner.
     */
    public: z.boolean().default(false),
    uses: z.number().int().min(1).max(1_000_000).default(1),
    expiresInS: z
      .number()
      .int()
      .min(60)
      .max(365 * 24 * 3600)
      .optional(),
  })
  .strict();

export const ZCreateCodeOutput = z.object({
  code: z.string(),
  /** What list shows and revoke takes: the code's sha256. */
  id: z.string(),
  ownerId: ZUuid.nullable(),
  regionId: z.string().nullable(),
  public: z.boolean(),
  usesLeft: z.number().int(),
  expiresAt: z.string().nullable(),
});
export type CreatedCode = z.infer<typeof ZCreateCodeOutput>;

/**
 * A new code, written in `tx` with its audit event: the operator's call, and the demo seed's.
 * `code` is given by the seed (the demo's well-known public code), generated otherwise.
 */
export async function insertEnrollmentCode(
  tx: Executor,
  now: Date,
  operatorId: string | null,
  input: z.infer<typeof ZCreateCodeInput>,
  code = `NS-${randomBytes(15).toString("base64url")}`,
): Promise<CreatedCode> {
  if (input.ownerId && input.ownerName)
    throw badRequest("ownerName", "give ownerId or ownerName, not both");
  if (input.public) {
    const named = input.ownerId ? "ownerId" : input.ownerName ? "ownerName" : null;
    if (named) throw badRequest(named, "a public code names no owner: each car gets its own");
    if (input.uses > MAX_PUBLIC_CODE_USES)
      throw badRequest("uses", `a public code has at most ${MAX_PUBLIC_CODE_USES} uses`);
  }
  let ownerId = input.ownerId ?? null;
  if (ownerId) {
    const [owner] = await tx.select({ id: owners.id }).from(owners).where(eq(owners.id, ownerId));
    if (!owner) throw notFound("ownerId", ownerId);
  } else if (input.ownerName) {
    const [owner] = await tx
      .insert(owners)
      .values({ name: input.ownerName })
      .returning({ id: owners.id });
    ownerId = (owner as { id: string }).id;
  }
  if (input.regionId) {
    const [region] = await tx
      .select({ id: regions.id })
      .from(regions)
      .where(eq(regions.id, input.regionId));
    if (!region) throw notFound("regionId", input.regionId);
  }
  const id = sha256Hex(code);
  const expiresAt = input.expiresInS ? new Date(now.getTime() + input.expiresInS * 1000) : null;
  await tx.insert(enrollmentCodes).values({
    codeHash: id,
    ownerId,
    regionId: input.regionId ?? null,
    createdBy: operatorId,
    usesLeft: input.uses,
    expiresAt,
    public: input.public,
    createdAt: now,
  });
  await audit(tx, now, {
    actorKind: operatorId ? "operator" : "system",
    actorId: operatorId,
    action: "enrollmentCodes.create",
    subjectKind: "enrollmentCode",
    subjectId: id,
    detail: {
      ownerId,
      regionId: input.regionId ?? null,
      public: input.public,
      uses: input.uses,
      expiresAt: expiresAt?.toISOString() ?? null,
    },
  });
  return {
    code,
    id,
    ownerId,
    regionId: input.regionId ?? null,
    public: input.public,
    usesLeft: input.uses,
    expiresAt: expiresAt?.toISOString() ?? null,
  };
}

export async function createEnrollmentCode(
  deps: ApiDeps,
  operatorId: string,
  input: z.infer<typeof ZCreateCodeInput>,
): Promise<CreatedCode> {
  const now = deps.now();
  return inTx(deps.db, (tx) => insertEnrollmentCode(tx, now, operatorId, input));
}

export const ZRevokeCodeInput = z.object({ id: ZCodeId }).strict();
export const ZRevokeCodeOutput = z.object({
  /** False when it was revoked already. */
  revoked: z.boolean(),
});

/**
 * Revokes a code by its id: it enrolls no more cars; the cars it enrolled stay. By id, not by the
 * code: an operator who handed a code out (shown once) rarely still holds it, but finds its id in
 * the list by owner, region, uses and dates, or in the audit event of its creation.
 */
export async function revokeEnrollmentCode(
  deps: ApiDeps,
  operatorId: string,
  input: z.infer<typeof ZRevokeCodeInput>,
): Promise<z.infer<typeof ZRevokeCodeOutput>> {
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    const [known] = await tx
      .select({ revokedAt: enrollmentCodes.revokedAt })
      .from(enrollmentCodes)
      .where(eq(enrollmentCodes.codeHash, input.id))
      .for("update");
    if (!known) throw notFound("id", input.id);
    if (known.revokedAt) return { revoked: false };
    await tx
      .update(enrollmentCodes)
      .set({ revokedAt: now })
      .where(eq(enrollmentCodes.codeHash, input.id));
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: "enrollmentCodes.revoke",
      subjectKind: "enrollmentCode",
      subjectId: input.id,
    });
    return { revoked: true };
  });
}

export const ZListCodesInput = z
  .object({
    ownerId: ZUuid.optional(),
    /** Only codes that would enroll a car now: not revoked, not expired, uses left. */
    usable: z.boolean().default(false),
    cursor: ZCursor.optional(),
    limit: ZLimit,
  })
  .strict();

export const ZCodeView = z.object({
  id: z.string(),
  ownerId: ZUuid.nullable(),
  ownerName: z.string().nullable(),
  regionId: z.string().nullable(),
  public: z.boolean(),
  usesLeft: z.number().int(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
  /** The operator who made it; null for the demo seed's. */
  createdBy: ZUuid.nullable(),
});
export const ZListCodesOutput = z.object({
  items: z.array(ZCodeView),
  nextCursor: z.string().nullable(),
});

/** Newest first; never the codes themselves (the server keeps only their hashes). */
export async function listEnrollmentCodes(
  deps: ApiDeps,
  input: z.infer<typeof ZListCodesInput>,
): Promise<z.infer<typeof ZListCodesOutput>> {
  const now = deps.now();
  const c = enrollmentCodes;
  const conditions: (SQL | undefined)[] = [];
  if (input.ownerId) conditions.push(eq(c.ownerId, input.ownerId));
  if (input.usable) {
    conditions.push(
      isNull(c.revokedAt),
      gt(c.usesLeft, 0),
      or(isNull(c.expiresAt), gt(c.expiresAt, now)),
    );
  }
  if (input.cursor) {
    // The time as PostgreSQL wrote it (microseconds), which a Date would round to milliseconds.
    const [at, id] = decodeCursor(input.cursor, ZPgTimestamptz, ZCodeId);
    conditions.push(sql`(${c.createdAt}, ${c.codeHash}) < (${at}::timestamptz, ${id})`);
  }
  const rows = await deps.db
    .select({ code: c, ownerName: owners.name, sortKey: sql<string>`${c.createdAt}::text` })
    .from(c)
    .leftJoin(owners, eq(owners.id, c.ownerId))
    .where(and(...conditions))
    .orderBy(sql`${c.createdAt} DESC`, sql`${c.codeHash} DESC`)
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ code, ownerName }) => ({
      id: code.codeHash,
      ownerId: code.ownerId,
      ownerName,
      regionId: code.regionId,
      public: code.public,
      usesLeft: code.usesLeft,
      expiresAt: code.expiresAt?.toISOString() ?? null,
      revokedAt: code.revokedAt?.toISOString() ?? null,
      createdAt: code.createdAt.toISOString(),
      createdBy: code.createdBy,
    })),
    nextCursor:
      rows.length > input.limit && last ? encodeCursor(last.sortKey, last.code.codeHash) : null,
  };
}
