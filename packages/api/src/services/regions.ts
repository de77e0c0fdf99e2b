// Operators create and edit regions (tariffs and carbon validated by core, the time zone by Intl)
// and drain them: a drained region takes no new leases, its running leases finish.
import { TariffError, validateCarbon, validateTariff } from "@nightshift/core/tariff";
import { canonicalTimeZone, utcOffsetS } from "@nightshift/time-zones/offsets";
import { ZTariffRate } from "@nightshift/core/sim/scenario";
import { regions } from "@nightshift/db/schema";
import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { badRequest, conflict, notFound } from "../errors";
import { ZName, ZSlug, ZText } from "../schemas";
import { toS } from "./convert";
import type { ApiState } from "../state";
import { audit } from "./audit";
import { inTx } from "./db";

export const ZRegionView = z.object({
  id: z.string(),
  name: z.string(),
  /** IANA time zone: tariff hours, carbon hours and owners' hours are its local time. */
  timeZone: z.string(),
  /** Its UTC offset when the region was read, seconds (local time = UTC + this). */
  utcOffsetS: z.number(),
  tariff: z.array(z.object({ start: z.number(), end: z.number(), priceUsdPerKWh: z.number() })),
  carbonGPerKWh: z.array(z.number()),
  drained: z.boolean(),
  updatedAt: z.string(),
});
export type RegionView = z.infer<typeof ZRegionView>;

type RegionRow = typeof regions.$inferSelect;
const toView = (r: RegionRow, now: Date): RegionView => ({
  ...r,
  utcOffsetS: utcOffsetS(r.timeZone, toS(now)),
  updatedAt: r.updatedAt.toISOString(),
});

export async function listRegions(deps: ApiDeps): Promise<RegionView[]> {
  const now = deps.now();
  return (await deps.db.select().from(regions).orderBy(asc(regions.id))).map((r) => toView(r, now));
}

/** An IANA zone Intl knows, spelled as the database spells it ("Europe/Stockholm", "Etc/GMT+6"). */
const ZTimeZone = ZText.max(64).transform((name, ctx) => {
  const zone = canonicalTimeZone(name);
  if (zone === null) {
    ctx.addIssue({
      code: "custom",
      message: `unknown time zone "${name}": give an IANA name such as "America/Chicago"`,
    });
    return z.NEVER;
  }
  return zone;
});

export const ZUpdateRegionInput = z
  .object({
    id: ZSlug,
    name: ZName.optional(),
    timeZone: ZTimeZone.optional(),
    /**
     * Retired: a fixed offset put tariffs an hour off under daylight saving time. Refused with
     * a message naming timeZone, not as an unknown key.
     */
    utcOffsetH: z
      .never({
        error:
          'replaced by timeZone: give the region\'s IANA time zone (e.g. "America/Chicago"; ' +
          '"Etc/GMT+6" is a fixed UTC−6 with no daylight saving time)',
      })
      .optional(),
    tariff: z.array(ZTariffRate).min(1).max(48).optional(),
    carbonGPerKWh: z.array(z.number().min(0)).length(24).optional(),
  })
  .strict();

/** Tariff and carbon as core checks them, each failure a BAD_REQUEST naming its field. */
function checkEnergy(patch: {
  tariff?: z.infer<typeof ZTariffRate>[];
  carbonGPerKWh?: number[];
}): void {
  for (const [field, check] of [
    ["tariff", () => patch.tariff && validateTariff(patch.tariff)],
    ["carbonGPerKWh", () => patch.carbonGPerKWh && validateCarbon(patch.carbonGPerKWh)],
  ] as const) {
    try {
      check();
    } catch (error) {
      if (error instanceof TariffError) throw badRequest(field, error.message);
      throw error;
    }
  }
}

export async function updateRegion(
  deps: ApiDeps,
  state: ApiState,
  operatorId: string,
  input: z.infer<typeof ZUpdateRegionInput>,
): Promise<RegionView> {
  const { id, utcOffsetH: _retired, ...patch } = input;
  checkEnergy(patch);
  return changeRegion(deps, state, operatorId, id, patch, "regions.update");
}

/** A new region: every field an edit may change, all required. */
export const ZCreateRegionInput = z
  .object({
    id: ZSlug,
    name: ZName,
    timeZone: ZTimeZone,
    tariff: z.array(ZTariffRate).min(1).max(48),
    carbonGPerKWh: z.array(z.number().min(0)).length(24),
  })
  .strict();

export async function createRegion(
  deps: ApiDeps,
  state: ApiState,
  operatorId: string,
  input: z.infer<typeof ZCreateRegionInput>,
): Promise<RegionView> {
  checkEnergy(input);
  const now = deps.now();
  const out = await inTx(deps.db, async (tx) => {
    const [row] = await tx
      .insert(regions)
      .values({ ...input, updatedAt: now })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`id: region "${input.id}" exists`);
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: "regions.create",
      subjectKind: "region",
      subjectId: input.id,
      detail: input,
    });
    return toView(row, now);
  });
  state.invalidate();
  return out;
}

export const ZRegionRef = z.object({ id: ZSlug }).strict();

export async function setDrained(
  deps: ApiDeps,
  state: ApiState,
  operatorId: string,
  id: string,
  drained: boolean,
): Promise<RegionView> {
  return changeRegion(
    deps,
    state,
    operatorId,
    id,
    { drained },
    drained ? "regions.drain" : "regions.undrain",
  );
}

async function changeRegion(
  deps: ApiDeps,
  state: ApiState,
  operatorId: string,
  id: string,
  patch: Partial<Omit<RegionRow, "id">>,
  action: string,
): Promise<RegionView> {
  const now = deps.now();
  const out = await inTx(deps.db, async (tx) => {
    const [row] = await tx
      .update(regions)
      .set({ ...patch, updatedAt: now })
      .where(eq(regions.id, id))
      .returning();
    if (!row) throw notFound("id", id);
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action,
      subjectKind: "region",
      subjectId: id,
      detail: patch,
    });
    return toView(row, now);
  });
  state.invalidate();
  return out;
}
