// Which cars could take work now, and why the others cannot: what the server decides (a car that
// has stopped reporting, a battery too hot, a drained region), then core's car filters. One
// function, carRefusal, answers for the lease call, the fleet's eligible count and its reasons,
// the tenant shares' capacity and a car's page, so that none of them can disagree.
import type { ScheduleContext } from "@nightshift/core/schedule/config";
import { carRejection, REASONS } from "@nightshift/core/schedule/filters";
import { worldS } from "@nightshift/core/time-scale";
import type { Region } from "@nightshift/core/types";
import { cars } from "@nightshift/db/schema";
import { and, gt, isNull } from "drizzle-orm";
import type { ApiConfig } from "../config";
import { type CarRow, type RegionRow, toRegion, toS, toVehicle } from "./convert";
import type { Executor } from "./db";
import { batteryTooHot } from "./heartbeat";

/**
 * Every reason a car may take no work, in the order they are asked: the server's own, then
 * core's (its work filters' reasons never come from carRefusal, but a lease call gives them).
 */
export const REFUSALS = ["no-heartbeat", "battery-hot", "region-drained", ...REASONS] as const;
export type Refusal = (typeof REFUSALS)[number];

export function scheduleContext(
  now: Date,
  regions: ReadonlyMap<string, RegionRow>,
  config: ApiConfig,
): ScheduleContext {
  const byId = new Map<string, Region>();
  // Owner hours, tariffs and offsets are read on the scheduling clock (world time when compressed).
  const nowS = worldS(config.timeScale, toS(now));
  for (const [id, row] of regions) byId.set(id, toRegion(row, nowS));
  return { nowS, regions: byId, config: config.schedule };
}

/** The oldest heartbeat that still counts: a car heard from after it is online. */
export function onlineSince(now: Date, heartbeatTimeoutS: number): Date {
  return new Date(now.getTime() - heartbeatTimeoutS * 1000);
}

/** Whether a car last heard from at `lastHeartbeatAt` is online at `now`. */
export function heartbeatFresh(
  lastHeartbeatAt: Date | null,
  now: Date,
  heartbeatTimeoutS: number,
): boolean {
  return (
    lastHeartbeatAt !== null &&
    lastHeartbeatAt.getTime() > onlineSince(now, heartbeatTimeoutS).getTime()
  );
}

/**
 * Cars that heartbeat within the timeout and are not revoked: the fleet online now, driving cars
 * included (carRefusal turns them away, with the rest of core's filters).
 */
export async function onlineCars(ex: Executor, now: Date, config: ApiConfig): Promise<CarRow[]> {
  return ex
    .select()
    .from(cars)
    .where(
      and(
        isNull(cars.revokedAt),
        gt(cars.lastHeartbeatAt, onlineSince(now, config.heartbeatTimeoutS)),
      ),
    );
}

/**
 * The first reason the car may take no work now, or null when it may: no heartbeat within the
 * timeout, its battery too hot, its region drained (or unknown), then core's car filters.
 */
export function carRefusal(
  car: CarRow,
  now: Date,
  regions: ReadonlyMap<string, RegionRow>,
  ctx: ScheduleContext,
  config: ApiConfig,
): Refusal | null {
  if (!heartbeatFresh(car.lastHeartbeatAt, now, config.heartbeatTimeoutS)) return "no-heartbeat";
  if (batteryTooHot(car.batteryTempC)) return "battery-hot";
  if (regions.get(car.regionId)?.drained !== false) return "region-drained";
  return carRejection(toVehicle(car, config.timeScale), ctx);
}

/** Whether a car may take work now: not revoked, and carRefusal finds no reason against it. */
export function isEligible(
  car: CarRow,
  now: Date,
  regions: ReadonlyMap<string, RegionRow>,
  ctx: ScheduleContext,
  config: ApiConfig,
): boolean {
  return !car.revokedAt && carRefusal(car, now, regions, ctx, config) === null;
}
