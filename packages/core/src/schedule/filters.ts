// Filters: who may run this work. Each filter is a small named function that answers null when the
// car passes, or the reason it does not. Car filters need only the car; work filters need the
// work too. `planRun` turns the same limits into the longest run a car can take.
import { batteryTooHot } from "../battery";
import { estimatedRunS } from "../hardware";
import { localHourAt, offsetIndex } from "../local-time";
import { localHour, type TimeWindow } from "../tariff";
import type { AllowedHours, Vehicle, WorkItem } from "../types";
import { regionOf, type ScheduleContext } from "./config";
import { betterWindow } from "./defer";

/**
 * Every reason a filter gives, as a list (an API's output schema enumerates them): the car
 * filters' first, in the order carRejection asks them, then the work filters'.
 */
export const REASONS = [
  "no-heartbeat",
  "battery-hot",
  "region-drained",
  "driving",
  "quarantined",
  "opted-out",
  "outside-allowed-hours",
  "departs-too-soon",
  "low-energy",
  "hardware-too-small",
  "replica-conflict",
  "deferred",
] as const;
export type Reason = (typeof REASONS)[number];

export type CarFilter = (v: Vehicle, ctx: ScheduleContext) => Reason | null;
export type WorkFilter = (v: Vehicle, w: WorkItem, ctx: ScheduleContext) => Reason | null;

/** The server heard from the car within the timeout (the simulator's cars are always heard). */
export const heard: CarFilter = (v, ctx) =>
  v.lastHeardS === null || ctx.nowS - v.lastHeardS < ctx.config.offlineAfterS
    ? null
    : "no-heartbeat";

export const batteryCool: CarFilter = (v) => (batteryTooHot(v.batteryTempC) ? "battery-hot" : null);

/** The car's region is known and open: an operator's drain stops new work there. */
export const regionOpen: CarFilter = (v, ctx) => {
  const region = ctx.regions.get(v.regionId);
  return region !== undefined && region.drained !== true ? null : "region-drained";
};

export const parked: CarFilter = (v) => (v.state === "driving" ? "driving" : null);

export const notQuarantined: CarFilter = (v) => (v.reputation.quarantined ? "quarantined" : null);

export const optedInNow: CarFilter = (v, ctx) => {
  if (!v.policy.optedIn) return "opted-out";
  const hour = localHour(regionOf(ctx, v.regionId), ctx.nowS);
  return insideHours(v.policy.allowedHours, hour) ? null : "outside-allowed-hours";
};

/** The car can give at least the shortest worthwhile run without breaking its owner's limits. */
export const hasEnergy: CarFilter = (v, ctx) =>
  energyLimitedRunS(v, ctx) >= ctx.config.minRunS ? null : "low-energy";

/** The car will not leave before the shortest worthwhile run is done, with margin. */
export const staysLongEnough: CarFilter = (v, ctx) =>
  departureLimitedRunS(v, ctx) >= ctx.config.minRunS ? null : "departs-too-soon";

export const hardwareFits: WorkFilter = (v, w) =>
  w.model.memoryGB <= v.hardware.memoryGB ? null : "hardware-too-small";

/** Replicas of one piece of work go to distinct cars of distinct owners. */
export const distinctReplica: WorkFilter = (v, w) =>
  w.excludeVehicleIds.includes(v.id) || w.excludeOwnerIds.includes(v.ownerId)
    ? "replica-conflict"
    : null;

/** Energy and departure for this work: a divisible item needs one inference, a whole item all. */
export const fitsBeforeDeparture: WorkFilter = (v, w, ctx) => {
  const need = w.divisible ? 1 : w.inferences;
  if (maxRunS(v, ctx) < need * inferenceS(v, w, ctx)) {
    return energyLimitedRunS(v, ctx) <= departureLimitedRunS(v, ctx)
      ? "low-energy"
      : "departs-too-soon";
  }
  return null;
};

/**
 * Work whose objective is cheapest or cleanest waits while a better window lies ahead that the
 * car's departure and the work's deadline leave room for (defer.ts).
 */
export const noBetterWindowAhead: WorkFilter = (v, w, ctx) =>
  deferral(v, w, ctx) === null ? null : "deferred";

export const CAR_FILTERS: readonly CarFilter[] = [
  heard,
  batteryCool,
  regionOpen,
  parked,
  notQuarantined,
  optedInNow,
  staysLongEnough,
  hasEnergy,
];
export const WORK_FILTERS: readonly WorkFilter[] = [
  hardwareFits,
  distinctReplica,
  fitsBeforeDeparture,
  noBetterWindowAhead,
];

/**
 * The first reason the car cannot take any work now, or null when it is eligible. The same
 * filters as CAR_FILTERS, called directly: this runs for every car at every sample.
 */
export function carRejection(v: Vehicle, ctx: ScheduleContext): Reason | null {
  return (
    heard(v, ctx) ??
    batteryCool(v, ctx) ??
    regionOpen(v, ctx) ??
    parked(v, ctx) ??
    notQuarantined(v, ctx) ??
    optedInNow(v, ctx) ??
    staysLongEnough(v, ctx) ??
    hasEnergy(v, ctx)
  );
}

/** The first reason the car cannot take this work, or null; WORK_FILTERS, called directly. */
export function workRejection(v: Vehicle, w: WorkItem, ctx: ScheduleContext): Reason | null {
  return (
    hardwareFits(v, w, ctx) ??
    distinctReplica(v, w, ctx) ??
    fitsBeforeDeparture(v, w, ctx) ??
    noBetterWindowAhead(v, w, ctx)
  );
}

// ---- the limits behind the filters ----

/**
 * The window a car should wait for before it runs this work, or null when it should run now:
 * only for a car on grid power (a car on its battery pays the recharge window's price whenever
 * it runs), with the run it would take now ending before its departure, its owner's hours and
 * the work's deadline.
 */
export function deferral(v: Vehicle, w: WorkItem, ctx: ScheduleContext): TimeWindow | null {
  const objective = w.objective ?? "soonest";
  if (objective === "soonest" || !v.pluggedIn) return null;
  const runS = fitRun(v, w, ctx) * inferenceS(v, w, ctx);
  const latestEndS =
    ctx.nowS +
    Math.min(departureLimitedRunS(v, ctx), hoursLimitedRunS(v, ctx), w.deadlineS - ctx.nowS);
  return betterWindow(
    regionOf(ctx, v.regionId),
    { nowS: ctx.nowS, runS, latestEndS, objective },
    ctx.config.deferral,
  );
}

/** Seconds one inference of this work takes on this car (the same estimate caps its pay). */
export function inferenceS(v: Vehicle, w: WorkItem, ctx: ScheduleContext): number {
  return estimatedRunS(v.hardware, w.model.teraOpsPerInference, ctx.config.sustainedTopsShare);
}

/** How many inferences of this work the car should take now (0 when it cannot take the work). */
export function planRun(v: Vehicle, w: WorkItem, ctx: ScheduleContext): number {
  // The filters gate every run, so that no caller can plan work onto a car that one rejects.
  if (carRejection(v, ctx) !== null || workRejection(v, w, ctx) !== null) return 0;
  return fitRun(v, w, ctx);
}

/** planRun for a car and work that already passed every filter: the run's length alone. */
export function fitRun(v: Vehicle, w: WorkItem, ctx: ScheduleContext): number {
  const perS = inferenceS(v, w, ctx);
  const fit = Math.floor(maxRunS(v, ctx) / perS);
  if (!w.divisible) return fit >= w.inferences ? w.inferences : 0;
  return Math.min(w.inferences, fit, w.maxRunInferences ?? Infinity);
}

/** The longest run the car may start now: every limit at once, capped by the config. */
export function maxRunS(v: Vehicle, ctx: ScheduleContext): number {
  return Math.min(
    ctx.config.maxRunS,
    departureLimitedRunS(v, ctx),
    energyLimitedRunS(v, ctx),
    hoursLimitedRunS(v, ctx),
  );
}

/** Until the predicted departure, less the safety margin and the prediction's spread. */
export function departureLimitedRunS(v: Vehicle, ctx: ScheduleContext): number {
  if (v.predictedDepartureS === null) return Infinity;
  const margin = ctx.config.safetyMarginS + ctx.config.departureZ * v.departureUncertaintyS;
  return Math.max(0, v.predictedDepartureS - ctx.nowS - margin);
}

/**
 * Until the owner's allowed hours end, on the clocks of the car's region: a daylight saving
 * change before the end moves it an hour in real time, and a change that puts the clocks outside
 * the hours (back before their start) ends them at the change.
 */
export function hoursLimitedRunS(v: Vehicle, ctx: ScheduleContext): number {
  const hours = v.policy.allowedHours;
  if (isAllDay(hours)) return Infinity;
  const table = regionOf(ctx, v.regionId).offsets;
  let i = offsetIndex(table, ctx.nowS);
  let atS = ctx.nowS;
  let elapsedS = 0;
  for (;;) {
    const hour = localHourAt(table, atS);
    if (!insideHours(hours, hour)) return elapsedS;
    const untilEndS = ((((hours.endHour - hour) % 24) + 24) % 24) * 3600;
    const next = table[i + 1];
    if (next === undefined || atS + untilEndS <= next.fromS) return elapsedS + untilEndS;
    // The clocks change first: look again from the change, on the new offset.
    atS = next.fromS;
    elapsedS = atS - ctx.nowS;
    i++;
  }
}

/**
 * How long the car can compute before it would break either owner limit: the charge never falls
 * below the reserve, and at the predicted departure it still has the minimum charge, counting what
 * its charger adds until then. The charger feeds the computer first; a full battery stops charging,
 * which this ignores, so the bound errs on the safe side.
 */
export function energyLimitedRunS(v: Vehicle, ctx: ScheduleContext): number {
  const drawKW = v.hardware.inferencePowerW / 1000;
  if (drawKW <= 0) return Infinity;
  const capacity = v.battery.capacityKWh;
  const socKWh = (v.battery.socPct / 100) * capacity;
  const reserveKWh = (v.policy.reservePct / 100) * capacity;
  const departureKWh = (v.policy.minDepartureChargePct / 100) * capacity;
  const chargeKW = v.pluggedIn ? v.chargerKW * v.battery.chargeEfficiency : 0;

  // The reserve holds at every moment; only a net drain can break it. Figures in hours.
  const netDrainKW = drawKW - chargeKW;
  const byReserveH = netDrainKW > 0 ? (socKWh - reserveKWh) / netDrainKW : Infinity;

  // At departure: soc + charge·T − draw·d ≥ minimum. With no predicted departure the minimum
  // holds throughout, as if the car could leave at any moment.
  let byDepartureH: number;
  if (v.predictedDepartureS === null) {
    byDepartureH = netDrainKW > 0 ? (socKWh - departureKWh) / netDrainKW : Infinity;
  } else {
    const untilS = Math.max(0, v.predictedDepartureS - ctx.nowS);
    const arrivingKWh = socKWh + (chargeKW * untilS) / 3600;
    byDepartureH = (arrivingKWh - departureKWh) / drawKW;
  }
  return Math.max(0, Math.min(byReserveH, byDepartureH) * 3600);
}

export function insideHours(hours: AllowedHours, hour: number): boolean {
  const { startHour, endHour } = hours;
  if (isAllDay(hours)) return true;
  return startHour < endHour
    ? hour >= startHour && hour < endHour
    : hour >= startHour || hour < endHour;
}

function isAllDay({ startHour, endHour }: AllowedHours): boolean {
  return startHour === endHour || (startHour === 0 && endHour === 24);
}
