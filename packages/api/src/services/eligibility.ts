// Which cars could take work now, and why the others cannot: core's car filters, every rule of
// them (heard from within the timeout, battery cool, region open, parked, …), over the car as
// core sees it. One function, carRefusal, answers for the lease call, the fleet's eligible count
// and its reasons, the tenant shares' capacity and a car's page, so that none of them can
// disagree.
import { type ScheduleConfig, type ScheduleContext } from "@nightshift/core/schedule/config";
import { carRejection, REASONS, type Reason } from "@nightshift/core/schedule/filters";
import { worldS, worldSpanS } from "@nightshift/core/time-scale";
import type { Region } from "@nightshift/core/types";
import { cars } from "@nightshift/db/schema";
import { and, gt, isNull } from "drizzle-orm";
import type { ApiConfig } from "../config";
import { type CarRow, type RegionRow, toRegion, toS, toVehicle } from "./convert";
import type { Executor } from "./db";

/**
 * Every reason a car may take no work, in the order they are asked: core's (its work filters'
 * reasons never come from carRefusal, but a lease call gives them).
 */
export const REFUSALS = REASONS;
export type Refusal = Reason;

/**
 * The schedule config on the scheduling clock: a car is offline after the heartbeat timeout
 * (a wall-clock span) as world time sees it.
 */
function scheduleConfigOf(config: ApiConfig): ScheduleConfig {
  let scheduled = scheduleConfigs.get(config);
  if (!scheduled) {
    scheduled = {
      ...config.schedule,
      offlineAfterS: worldSpanS(config.timeScale, config.heartbeatTimeoutS),
    };
    scheduleConfigs.set(config, scheduled);
  }
  return scheduled;
}

const scheduleConfigs = new WeakMap<ApiConfig, ScheduleConfig>();

export function scheduleContext(
  now: Date,
  regions: ReadonlyMap<string, RegionRow>,
  config: ApiConfig,
): ScheduleContext {
  const byId = new Map<string, Region>();
  // Owner hours, tariffs and offsets are read on the scheduling clock (world time when compressed).
  const nowS = worldS(config.timeScale, toS(now));
  for (const [id, row] of regions) byId.set(id, toRegion(row, nowS));
  return { nowS, regions: byId, config: scheduleConfigOf(config) };
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

/** The first reason the car may take no work now (core's carRejection), or null when it may. */
export function carRefusal(car: CarRow, ctx: ScheduleContext, config: ApiConfig): Refusal | null {
  return carRejection(toVehicle(car, config.timeScale), ctx);
}

/** Whether a car may take work now: not revoked, and carRefusal finds no reason against it. */
export function isEligible(car: CarRow, ctx: ScheduleContext, config: ApiConfig): boolean {
  return !car.revokedAt && carRefusal(car, ctx, config) === null;
}
