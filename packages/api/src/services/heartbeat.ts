// A car reports its state. Parked or charging, its leases are extended; driving, every active
// lease is handed back at once so that its work goes elsewhere.
import { cars, leases, regions } from "@nightshift/db/schema";
import { and, eq, gt, sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { notFound } from "../errors";
import { ZIsoDate, ZNonNegative, ZOwnerPolicy, ZPct } from "../schemas";
import { inTx } from "./db";
import { endLeases } from "./leases";

export const ZDirective = z.enum(["stop", "drain"]);
export type Directive = z.infer<typeof ZDirective>;

/**
 * BOINC's mobile client pauses above 40 °C battery temperature: a car that hot is told to drain
 * (finish what it runs, take nothing new) and gets no new leases.
 */
export const MAX_BATTERY_TEMP_C = 40;

export const ZHeartbeatInput = z
  .object({
    state: z.enum(["driving", "parked", "charging"]),
    socPct: ZPct,
    pluggedIn: z.boolean(),
    /** Wall power of the charger; the fastest public DC chargers deliver 350 kW. */
    chargerKW: ZNonNegative.max(350),
    predictedDepartureAt: ZIsoDate.nullable(),
    departureUncertaintyS: z
      .number()
      .int()
      .min(0)
      .max(4 * 3600)
      .optional(),
    batteryTempC: z.number().min(-60).max(100).nullable().optional(),
  })
  .strict();
export type HeartbeatInput = z.infer<typeof ZHeartbeatInput>;

export const ZHeartbeatOutput = z.object({
  /** "stop": drop running work now (its leases are gone). "drain": finish it, take no more. */
  directives: z.array(ZDirective),
  serverTime: z.string(),
  /** Leases extended by this heartbeat, and leases handed back (driving). */
  renewed: z.number().int(),
  released: z.number().int(),
});
export type HeartbeatOutput = z.infer<typeof ZHeartbeatOutput>;

export async function heartbeat(
  deps: ApiDeps,
  carId: string,
  input: HeartbeatInput,
): Promise<HeartbeatOutput> {
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    // Leases before the car row: the same lock order as submit (lease, then car).
    let renewed = 0;
    let released = 0;
    if (input.state === "driving") {
      released = (await endLeases(tx, sql`leases.car_id = ${carId}`, "released", "departed", now))
        .length;
    } else {
      const extended = await tx
        .update(leases)
        .set({ expiresAt: new Date(now.getTime() + deps.config.leaseTtlS * 1000), renewedAt: now })
        .where(and(eq(leases.carId, carId), eq(leases.status, "active"), gt(leases.expiresAt, now)))
        .returning({ id: leases.id });
      renewed = extended.length;
    }
    const [car] = await tx
      .update(cars)
      .set({
        state: input.state,
        socPct: input.socPct,
        pluggedIn: input.pluggedIn,
        chargerKW: input.chargerKW,
        predictedDepartureAt: input.predictedDepartureAt
          ? new Date(input.predictedDepartureAt)
          : null,
        ...(input.departureUncertaintyS !== undefined
          ? { departureUncertaintyS: input.departureUncertaintyS }
          : {}),
        batteryTempC: input.batteryTempC ?? null,
        lastHeartbeatAt: now,
      })
      .where(eq(cars.id, carId))
      .returning({ quarantined: cars.quarantined, regionId: cars.regionId });
    if (!car) throw notFound("car", carId);
    const [region] = await tx
      .select({ drained: regions.drained })
      .from(regions)
      .where(eq(regions.id, car.regionId));
    const directives: Directive[] = [];
    if (car.quarantined) directives.push("stop");
    else if (region?.drained || (input.batteryTempC ?? -Infinity) > MAX_BATTERY_TEMP_C)
      directives.push("drain");
    return { directives, serverTime: now.toISOString(), renewed, released };
  });
}

// ---- the owner's side of a car: its limits and its earnings ----

export const ZSetPolicyInput = ZOwnerPolicy;

export const ZCarSelf = z.object({
  carId: z.string(),
  ownerId: z.string(),
  regionId: z.string(),
  hardwareId: z.string(),
  policy: ZOwnerPolicy,
  quarantined: z.boolean(),
  validResults: z.number().int(),
  invalidResults: z.number().int(),
  activeLeases: z.number().int(),
  /** This car's ledger: work done, energy, and what its owner is owed and has been paid. */
  earnings: z.object({
    results: z.number().int(),
    validated: z.number().int(),
    energyKWh: z.number(),
    payoutOwedUsd: z.number(),
    payoutUsd: z.number(),
  }),
});

/** The owner sets the car's limits (reserve, departure charge, hours, opt-in). */
export async function setPolicy(
  deps: ApiDeps,
  carId: string,
  policy: z.infer<typeof ZSetPolicyInput>,
): Promise<z.infer<typeof ZCarSelf>> {
  await deps.db.update(cars).set({ policy }).where(eq(cars.id, carId));
  return carSelf(deps, carId);
}

export async function carSelf(deps: ApiDeps, carId: string): Promise<z.infer<typeof ZCarSelf>> {
  // Raw, table-qualified SQL in the subqueries: drizzle leaves columns of a one-table select
  // unqualified, which inside a subquery would bind to the subquery's own table.
  const [row] = await deps.db
    .select({
      car: cars,
      active: sql<number>`(SELECT count(*)::int FROM leases l WHERE l.car_id = cars.id AND l.status = 'active')`,
      results: sql<number>`(SELECT count(*)::int FROM ledger_entries le WHERE le.car_id = cars.id)`,
      validated: sql<number>`(SELECT count(*)::int FROM ledger_entries le WHERE le.car_id = cars.id AND le.validated)`,
      energyKWh: sql<number>`(SELECT coalesce(sum(le.energy_k_wh), 0)::float8 FROM ledger_entries le WHERE le.car_id = cars.id)`,
      payoutOwedUsd: sql<number>`(SELECT coalesce(sum(le.payout_owed_usd), 0)::float8 FROM ledger_entries le WHERE le.car_id = cars.id)`,
      payoutUsd: sql<number>`(SELECT coalesce(sum(le.payout_usd), 0)::float8 FROM ledger_entries le WHERE le.car_id = cars.id)`,
    })
    .from(cars)
    .where(eq(cars.id, carId));
  if (!row) throw notFound("car", carId);
  const { car } = row;
  return {
    carId: car.id,
    ownerId: car.ownerId,
    regionId: car.regionId,
    hardwareId: car.hardwareId,
    policy: car.policy,
    quarantined: car.quarantined,
    validResults: car.validResults,
    invalidResults: car.invalidResults,
    activeLeases: row.active,
    earnings: {
      results: row.results,
      validated: row.validated,
      energyKWh: row.energyKWh,
      payoutOwedUsd: row.payoutOwedUsd,
      payoutUsd: row.payoutUsd,
    },
  };
}
