// Rows to core's types: the one place where stored columns become what core decides with.
import { HARDWARE } from "@nightshift/core/hardware";
import { type TimeScale, worldS, worldSpanS } from "@nightshift/core/time-scale";
import type { ModelSpec, Region, Reputation, Tenant, Vehicle } from "@nightshift/core/types";
import type { cars, models, regions, tenants } from "@nightshift/db/schema";
import { offsetsAround } from "@nightshift/time-zones/offsets";

export type CarRow = typeof cars.$inferSelect;
export type RegionRow = typeof regions.$inferSelect;
export type ModelRow = typeof models.$inferSelect;
export type TenantRow = typeof tenants.$inferSelect;

/** Seconds since the Unix epoch: core's `nowS` in the server. */
export function toS(at: Date): number {
  return at.getTime() / 1000;
}

export function reputationOf(
  car: Pick<CarRow, "validResults" | "invalidResults" | "consecutiveValid" | "quarantined">,
): Reputation {
  return {
    validResults: car.validResults,
    invalidResults: car.invalidResults,
    consecutiveValid: car.consecutiveValid,
    quarantined: car.quarantined,
  };
}

/**
 * A car as core sees it, on the scheduling clock: the departure it reported (a wall instant),
 * its uncertainty and when it was last heard from become world time (the identity in real time).
 */
export function toVehicle(car: CarRow, scale: TimeScale): Vehicle {
  const hardware = HARDWARE[car.hardwareId];
  if (!hardware) throw new Error(`car ${car.id} has unknown hardware "${car.hardwareId}"`);
  return {
    id: car.id,
    ownerId: car.ownerId,
    regionId: car.regionId,
    hardware,
    state: car.state,
    pluggedIn: car.pluggedIn,
    chargerKW: car.chargerKW,
    battery: {
      capacityKWh: car.batteryKWh,
      socPct: car.socPct,
      chargeEfficiency: car.chargeEfficiency,
    },
    policy: car.policy,
    predictedDepartureS: car.predictedDepartureAt
      ? worldS(scale, toS(car.predictedDepartureAt))
      : null,
    departureUncertaintyS: worldSpanS(scale, car.departureUncertaintyS),
    reputation: reputationOf(car),
    // Never heard from: long ago, so offline (null is the simulator's "no link to lose").
    lastHeardS: car.lastHeartbeatAt ? worldS(scale, toS(car.lastHeartbeatAt)) : -Infinity,
    batteryTempC: car.batteryTempC,
  };
}

/**
 * Core's region for decisions at `now`: its zone's offsets from two days back to sixteen ahead
 * (time-zones' hourly table). The same row in the same hour gives the same object, so core
 * compiles its tariff once an hour, not once a call.
 */
/** A region as core sees it, with the offsets of its zone around `nowS` (the scheduling clock). */
export function toRegion(row: RegionRow, nowS: number): Region {
  const offsets = offsetsAround(row.timeZone, nowS);
  const hit = regionsOfRows.get(row);
  if (hit?.offsets === offsets) return hit;
  const region: Region = {
    id: row.id,
    name: row.name,
    timeZone: row.timeZone,
    offsets,
    tariff: row.tariff,
    carbonGPerKWh: row.carbonGPerKWh,
    drained: row.drained,
  };
  regionsOfRows.set(row, region);
  return region;
}

const regionsOfRows = new WeakMap<RegionRow, Region>();

export function toModelSpec(row: ModelRow): ModelSpec {
  return { id: row.id, memoryGB: row.memoryGB, teraOpsPerInference: row.teraOpsPerInference };
}

export function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    quotaShare: row.quotaShare,
    weight: row.weight,
    borrowingLimitShare: row.borrowingLimitShare,
    lendingLimitShare: row.lendingLimitShare,
    paused: row.paused,
  };
}
