// A car reports its state. Parked or charging, the leases it names are extended (only those: a
// lease the car has lost track of runs out and goes elsewhere; and of those, only what it could
// be running, as node.renew does); driving, every active lease is handed back at once so that
// its work goes elsewhere.
import { batteryTooHot } from "@nightshift/core/battery";
import { cars, regions } from "@nightshift/db/schema";
import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { MAX_LEASE_PER_CALL } from "../config";
import type { ApiDeps } from "../context";
import { badRequest, notFound } from "../errors";
import { ZIsoDate, ZNonNegative, ZOwnerPolicy, ZPct, ZUuid } from "../schemas";
import { inTx, prepared, preparedRows } from "./db";
import { endLeases } from "./leases";
import { renewals } from "./renewal";

export const ZDirective = z.enum(["stop", "drain"]);
export type Directive = z.infer<typeof ZDirective>;

/** A departure predicted further ahead than this is not a prediction: a year, in seconds. */
export const MAX_DEPARTURE_AHEAD_S = 366 * 24 * 3600;

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
    /**
     * The leases the car is working on, to extend (as node.renew would). Leases it does not name
     * are left to run out: renewing every active lease kept alive, forever, work the car had lost.
     */
    leaseIds: z.array(ZUuid).max(MAX_LEASE_PER_CALL).optional(),
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

/**
 * Parked or charging, in one statement (atomic without a transaction): the named active leases
 * extended, then its row updated (the InitPlan on `renewed` makes the leases go first: the same
 * lock order as submit, lease then car), and its region read.
 */
const PARKED_HEARTBEAT = prepared(
  "heartbeat_parked",
  `WITH prev AS (
     -- The row as it was before this statement (every part of it sees the same snapshot).
     SELECT state, plugged_in FROM cars WHERE id = $1::uuid
   ), ev AS (
     -- A change of state is kept for the car's history; a heartbeat that changes nothing is not.
     INSERT INTO car_events (car_id, at, state, soc_pct, plugged_in)
     SELECT $1::uuid, $3::timestamptz, $4::text, $5::float8, $6::boolean FROM prev
      WHERE prev.state IS DISTINCT FROM $4::text OR prev.plugged_in IS DISTINCT FROM $6::boolean
     RETURNING 1
   ), renewed AS (
     -- Each lease named in $11 to its own expiry in $2 (renewals: what the car could be running).
     UPDATE leases SET expires_at = greatest(leases.expires_at, r.expires_at), renewed_at = $3::timestamptz
       FROM unnest($11::uuid[], $2::timestamptz[]) AS r(id, expires_at)
      WHERE leases.id = r.id AND leases.car_id = $1::uuid AND leases.status = 'active'
        AND leases.expires_at > $3::timestamptz
     RETURNING 1
   ), c AS (
     UPDATE cars SET state = $4::text, soc_pct = $5::float8, plugged_in = $6::boolean, charger_kw = $7::float8,
                     predicted_departure_at = $8::timestamptz,
                     departure_uncertainty_s = coalesce($9::int, cars.departure_uncertainty_s),
                     battery_temp_c = $10::float8, last_heartbeat_at = $3::timestamptz
      WHERE cars.id = $1::uuid AND (SELECT count(*) FROM renewed) >= 0
     RETURNING quarantined, region_id
   )
   SELECT c.quarantined, r.drained, (SELECT count(*) FROM renewed)::int AS renewed,
          (SELECT count(*) FROM ev)::int AS events
     FROM c LEFT JOIN regions r ON r.id = c.region_id`,
);

export async function heartbeat(
  deps: ApiDeps,
  carId: string,
  input: HeartbeatInput,
): Promise<HeartbeatOutput> {
  const now = deps.now();
  if (
    input.predictedDepartureAt &&
    Date.parse(input.predictedDepartureAt) - now.getTime() > MAX_DEPARTURE_AHEAD_S * 1000
  ) {
    throw badRequest("predictedDepartureAt", "more than a year ahead");
  }
  if (input.state !== "driving") {
    // The named leases the car could be running, each to its own expiry (renewals).
    const named = [...new Set(input.leaseIds ?? [])];
    const { extend } =
      named.length === 0 ? { extend: [] } : await renewals(deps, carId, named, now);
    const [row] = await preparedRows<{
      quarantined: boolean;
      drained: boolean | null;
      renewed: number;
    }>(deps.db, PARKED_HEARTBEAT, [
      carId,
      extend.map((e) => e.expiresAt),
      now,
      input.state,
      input.socPct,
      input.pluggedIn,
      input.chargerKW,
      input.predictedDepartureAt ? new Date(input.predictedDepartureAt) : null,
      input.departureUncertaintyS ?? null,
      input.batteryTempC ?? null,
      extend.map((e) => e.leaseId),
    ]);
    if (!row) throw notFound("car", carId);
    return {
      directives: directivesOf(row.quarantined, row.drained === true, input),
      serverTime: now.toISOString(),
      renewed: row.renewed,
      released: 0,
    };
  }
  return inTx(deps.db, async (tx) => {
    // Leases before the car row: the same lock order as submit (lease, then car).
    const released = (
      await endLeases(tx, sql`leases.car_id = ${carId}`, "released", "departed", now)
    ).length;
    await tx.execute(
      sql`INSERT INTO car_events (car_id, at, state, soc_pct, plugged_in)
          SELECT id, ${now}, ${input.state}, ${input.socPct}, ${input.pluggedIn} FROM cars
           WHERE id = ${carId} AND (state IS DISTINCT FROM ${input.state} OR plugged_in IS DISTINCT FROM ${input.pluggedIn})`,
    );
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
    return {
      directives: directivesOf(car.quarantined, region?.drained === true, input),
      serverTime: now.toISOString(),
      renewed: 0,
      released,
    };
  });
}

function directivesOf(quarantined: boolean, drained: boolean, input: HeartbeatInput): Directive[] {
  if (quarantined) return ["stop"];
  if (drained || batteryTooHot(input.batteryTempC)) return ["drain"];
  return [];
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
  // No reputation counts: they would tell a car which of its results were canaries. Operators
  // read them (operator.cars.get).
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
