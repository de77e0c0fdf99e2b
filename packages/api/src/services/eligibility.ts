// Which cars could take work now: core's car filters over the cars that heartbeat, in regions
// that are not drained. Used for capacity (tenant shares) and the fleet summary.
import type { ScheduleContext } from "@nightshift/core/schedule/config";
import { carRejection } from "@nightshift/core/schedule/filters";
import { worldS } from "@nightshift/core/time-scale";
import type { Region } from "@nightshift/core/types";
import { cars } from "@nightshift/db/schema";
import { and, gt, isNull, ne } from "drizzle-orm";
import type { ApiConfig } from "../config";
import { type CarRow, type RegionRow, toRegion, toS, toVehicle } from "./convert";
import type { Executor } from "./db";

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

/** Cars that heartbeat within the timeout and are not revoked (the fleet online now). */
export async function onlineCars(ex: Executor, now: Date, config: ApiConfig): Promise<CarRow[]> {
  const since = new Date(now.getTime() - config.heartbeatTimeoutS * 1000);
  return ex
    .select()
    .from(cars)
    .where(and(isNull(cars.revokedAt), gt(cars.lastHeartbeatAt, since), ne(cars.state, "driving")));
}

/** Whether a car may take work now: online, its region not drained, core's car filters pass. */
export function isEligible(
  car: CarRow,
  now: Date,
  regions: ReadonlyMap<string, RegionRow>,
  ctx: ScheduleContext,
  config: ApiConfig,
): boolean {
  const region = regions.get(car.regionId);
  if (!region || region.drained || car.revokedAt) return false;
  if (
    !car.lastHeartbeatAt ||
    now.getTime() - car.lastHeartbeatAt.getTime() > config.heartbeatTimeoutS * 1000
  ) {
    return false;
  }
  return carRejection(toVehicle(car, config.timeScale), ctx) === null;
}
