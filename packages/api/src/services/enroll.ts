// A car joins the fleet with an enrollment code (from an operator, or the demo code) and gets
// its credential, shown once and stored only as its sha256.
import { randomBytes, randomUUID } from "node:crypto";
import { PLAUSIBLE_CHARGE_EFFICIENCY } from "@nightshift/core/pay";
import { cars, enrollmentCodes, owners, regions } from "@nightshift/db/schema";
import { and, asc, eq, gt, isNull, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { newToken, sha256Hex } from "../crypto";
import { badRequest, notFound } from "../errors";
import { ZHardwareId, ZName, ZOwnerPolicy, ZPct, ZSlug, ZText, ZUuid } from "../schemas";
import { audit } from "./audit";
import { inTx } from "./db";

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

export async function enroll(deps: ApiDeps, input: EnrollInput): Promise<EnrollOutput> {
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    const [code] = await tx
      .update(enrollmentCodes)
      .set({ usesLeft: sql`${enrollmentCodes.usesLeft} - 1` })
      .where(
        and(
          eq(enrollmentCodes.codeHash, sha256Hex(input.code)),
          gt(enrollmentCodes.usesLeft, 0),
          or(isNull(enrollmentCodes.expiresAt), gt(enrollmentCodes.expiresAt, now)),
        ),
      )
      .returning();
    if (!code) throw notFound("code");
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
      const [owner] = await tx
        .insert(owners)
        .values({ name: input.ownerName ?? `Owner of ${name}` })
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

export const ZCreateCodeInput = z
  .object({
    /** Cars join this owner; or a new owner named `ownerName`; or, with neither, one new owner per car. */
    ownerId: ZUuid.optional(),
    ownerName: ZName.optional(),
    regionId: ZSlug.optional(),
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
  ownerId: ZUuid.nullable(),
  regionId: z.string().nullable(),
  usesLeft: z.number().int(),
  expiresAt: z.string().nullable(),
});

export async function createEnrollmentCode(
  deps: ApiDeps,
  operatorId: string,
  input: z.infer<typeof ZCreateCodeInput>,
): Promise<z.infer<typeof ZCreateCodeOutput>> {
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    if (input.ownerId && input.ownerName)
      throw badRequest("ownerName", "give ownerId or ownerName, not both");
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
    // 15 random bytes: a code is typed by people, so shorter than a token, and single-purpose.
    const code = `NS-${randomBytes(15).toString("base64url")}`;
    const expiresAt = input.expiresInS ? new Date(now.getTime() + input.expiresInS * 1000) : null;
    await tx.insert(enrollmentCodes).values({
      codeHash: sha256Hex(code),
      ownerId,
      regionId: input.regionId ?? null,
      createdBy: operatorId,
      usesLeft: input.uses,
      expiresAt,
      createdAt: now,
    });
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: "enrollmentCodes.create",
      subjectKind: "owner",
      subjectId: ownerId ?? "(new per car)",
      detail: {
        regionId: input.regionId ?? null,
        uses: input.uses,
        expiresAt: expiresAt?.toISOString() ?? null,
      },
    });
    return {
      code,
      ownerId,
      regionId: input.regionId ?? null,
      usesLeft: input.uses,
      expiresAt: expiresAt?.toISOString() ?? null,
    };
  });
}
