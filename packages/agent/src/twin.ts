// The vehicle twin: what a node knows of its car — driving, parked or charging, its charge, when it
// will leave, its battery's temperature, its owner's limits. `advance` is a pure step: time passes,
// compute draws energy, the charger adds it, a simulated car lives its day as core's car-life
// model says (the simulator's own: the same scenario, the same draws for the same seed and step),
// so that any step replays exactly and the planner predicts the fleet.
// Browser-safe: no Node modules, no clock (time is the twin's own `nowMs`); local time comes from
// the region's IANA zone through Intl (`@nightshift/time-zones`).
import { batteryTooHot, chargeAddedKWh, energyKWh } from "@nightshift/core/battery";
import { HARDWARE } from "@nightshift/core/hardware";
import { localHourAt } from "@nightshift/core/local-time";
import { insideHours } from "@nightshift/core/schedule/filters";
import {
  type CarProfile,
  drawCar,
  firstStay,
  lifeRng,
  socOnArrival,
  type StayPlan,
  stayOnArrival,
  tripFrom,
  tripKWh,
} from "@nightshift/core/sim/car-life";
import type { Pattern, Place } from "@nightshift/core/sim/mobility";
import { DEFAULT_SCENARIO, type Scenario } from "@nightshift/core/sim/scenario";
import type { DriveState, OwnerPolicy } from "@nightshift/core/types";
import { offsetsAround } from "@nightshift/time-zones/offsets";

export type { DriveState, OwnerPolicy };

/** A simulated car's life: who it is, where it is and which step of its life comes next. */
export interface TwinPattern {
  kind: Pattern;
  /** The car's own seed (core's carSeed): step n draws from lifeRng(seed, n). */
  seed: number;
  /** Steps of its life so far: each departure and each arrival is one. */
  steps: number;
  /** Where it is parked, or where the trip under way goes. */
  place: Place;
  /** IANA time zone of the car's region: its commutes keep their local time across DST. */
  timeZone: string;
  /** The scenario it was drawn from (shares, chargers, departures) and what it drew. */
  scenario: Scenario;
  profile: CarProfile;
  /** Energy the trip under way takes, kWh. */
  tripKWh: number;
}

export interface Twin {
  /** The twin's time, epoch ms. A compressed-time twin runs ahead of the wall clock. */
  nowMs: number;
  state: DriveState;
  socPct: number;
  batteryKWh: number;
  /** Share of the charger's wall power that reaches the battery. */
  chargeEfficiency: number;
  pluggedIn: boolean;
  /** Wall power of the charger, kW; 0 when unplugged. */
  chargerKW: number;
  /** When the owner is expected to leave (epoch ms), null while driving or when unknown. */
  predictedDepartureMs: number | null;
  /** When a simulated car really leaves (it differs from the prediction); null: it stays. */
  departAtMs: number | null;
  /** When the trip under way ends (epoch ms); null unless driving. */
  arriveAtMs: number | null;
  /** Draw of the trip under way, kW. */
  drivingKW: number;
  batteryTempC: number;
  ambientTempC: number;
  /** The car's AI computer (core's HARDWARE id) and its draw while it runs inference. */
  hardwareId: string;
  computeW: number;
  limits: OwnerPolicy;
  /** Null: the state changes only when someone sets it (a browser tab's owner). */
  pattern: TwinPattern | null;
  /** Energy since the twin was made, kWh (into the battery from the charger; out to compute, to driving). */
  totals: { chargedKWh: number; computeKWh: number; drivenKWh: number };
  /** Set when the last step cut compute off at the owner's reserve. */
  computeCutOff: boolean;
}

export const DEFAULT_LIMITS: OwnerPolicy = {
  optedIn: true,
  allowedHours: { startHour: 0, endHour: 24 },
  minDepartureChargePct: 50,
  reservePct: 20,
};

export interface TwinOptions {
  nowMs: number;
  state?: DriveState;
  socPct?: number;
  batteryKWh?: number;
  chargeEfficiency?: number;
  pluggedIn?: boolean;
  chargerKW?: number;
  predictedDepartureMs?: number | null;
  batteryTempC?: number;
  ambientTempC?: number;
  hardwareId?: string;
  limits?: OwnerPolicy;
}

/** A twin whose state changes only when set (a browser tab: its owner says when it drives). */
export function createTwin(o: TwinOptions): Twin {
  const hardwareId = o.hardwareId ?? "fsd-hw4";
  const hardware = HARDWARE[hardwareId];
  if (!hardware) throw new RangeError(`hardwareId: unknown car computer "${hardwareId}"`);
  const pluggedIn = o.pluggedIn ?? false;
  const twin: Twin = {
    nowMs: o.nowMs,
    state: o.state ?? "parked",
    socPct: clampPct(o.socPct ?? 80),
    batteryKWh: o.batteryKWh ?? 75,
    chargeEfficiency: o.chargeEfficiency ?? 0.9,
    pluggedIn,
    chargerKW: pluggedIn ? (o.chargerKW ?? 7.4) : 0,
    predictedDepartureMs: o.predictedDepartureMs ?? null,
    departAtMs: null,
    arriveAtMs: null,
    drivingKW: 0,
    batteryTempC: o.batteryTempC ?? o.ambientTempC ?? 20,
    ambientTempC: o.ambientTempC ?? 20,
    hardwareId,
    computeW: hardware.inferencePowerW,
    limits: o.limits ?? DEFAULT_LIMITS,
    pattern: null,
    totals: { chargedKWh: 0, computeKWh: 0, drivenKWh: 0 },
    computeCutOff: false,
  };
  if (twin.state === "driving") return { ...twin, pluggedIn: false, chargerKW: 0 };
  return { ...twin, state: restingState(twin) };
}

/**
 * A simulated car, car `seed` (core's carSeed of a fleet's seed and the car's index) of
 * `scenario` (the default one unless given): its computer, battery, owner's limits and daily
 * pattern drawn as the simulator draws them, parked where its pattern puts it at `nowMs`, in its
 * region's time zone (UTC unless given). `o` overrides what was drawn (a test's charge or limits).
 */
export function createSimulatedTwin(
  nowMs: number,
  seed: number,
  {
    timeZone = "UTC",
    scenario = DEFAULT_SCENARIO,
    ...o
  }: Partial<TwinOptions> & { timeZone?: string; scenario?: Scenario } = {},
): Twin {
  const rng = lifeRng(seed, 0);
  const profile = drawCar(scenario, rng);
  const stay = firstStay(scenario, profile, nowMs / 1000, offsetsNear(timeZone, nowMs), rng);
  const base = createTwin({
    hardwareId: profile.hardwareId,
    batteryKWh: profile.batteryKWh,
    chargeEfficiency: profile.chargeEfficiency,
    socPct: profile.initialSocPct,
    limits: profile.policy,
    ...o,
    nowMs,
    state: "parked",
  });
  const pattern: TwinPattern = {
    kind: profile.pattern,
    seed,
    steps: 0,
    place: stay.place,
    timeZone,
    scenario,
    profile,
    tripKWh: 0,
  };
  return beginStay({ ...base, pattern }, stay);
}

/**
 * `dtS` seconds later, the compute having drawn `computeW` the whole time (0 when idle). Compute
 * runs only on a parked car and never takes the battery below the owner's reserve: a draw the
 * charger does not cover stops there (`computeCutOff`). Charge stays within [0, 100].
 */
export function advance(twin: Twin, dtS: number, computeW: number): Twin {
  if (!(dtS >= 0) || !Number.isFinite(dtS))
    throw new RangeError(`dtS must be a finite number ≥ 0, got ${dtS}`);
  if (!(computeW >= 0) || !Number.isFinite(computeW))
    throw new RangeError(`computeW must be a finite number ≥ 0, got ${computeW}`);
  let t: Twin = { ...twin, totals: { ...twin.totals }, computeCutOff: false };
  const endMs = twin.nowMs + dtS * 1000;
  // Step to each departure or arrival on the way, then to the end.
  for (;;) {
    const eventMs = t.state === "driving" ? t.arriveAtMs : t.departAtMs;
    const stepEndMs = eventMs !== null && eventMs <= endMs ? Math.max(eventMs, t.nowMs) : endMs;
    t = integrate(t, (stepEndMs - t.nowMs) / 1000, computeW);
    t.nowMs = stepEndMs;
    if (stepEndMs === endMs && (eventMs === null || eventMs > endMs)) return t;
    t = t.state === "driving" ? arrive(t) : depart(t);
  }
}

/** One stretch without a departure or arrival: energy and temperature. */
function integrate(t: Twin, dtS: number, computeW: number): Twin {
  if (dtS <= 0) return t;
  let socPct = t.socPct;
  let tempTargetC = t.ambientTempC;
  if (t.state === "driving") {
    const usedKWh = Math.min((t.drivingKW * dtS) / 3600, (socPct / 100) * t.batteryKWh);
    socPct -= (100 * usedKWh) / t.batteryKWh;
    t.totals.drivenKWh += usedKWh;
    // Driving warms a pack a few degrees above ambient.
    tempTargetC += 5;
  } else {
    const chargerKWh = t.pluggedIn ? chargeAddedKWh(t.chargerKW, t.chargeEfficiency, dtS) : 0;
    const wantKWh = energyKWh(computeW, dtS);
    // The charger feeds compute first; the rest of the draw comes from the battery, down to the
    // reserve at most (or nothing, when the charge is already below it).
    const fromBatteryWantKWh = Math.max(0, wantKWh - chargerKWh);
    const aboveReserveKWh = Math.max(0, ((socPct - t.limits.reservePct) / 100) * t.batteryKWh);
    const fromBatteryKWh = Math.min(fromBatteryWantKWh, aboveReserveKWh);
    const computeKWh = wantKWh - fromBatteryWantKWh + fromBatteryKWh;
    if (fromBatteryKWh < fromBatteryWantKWh) t.computeCutOff = true;
    const roomKWh = ((100 - socPct) / 100) * t.batteryKWh;
    const intoBatteryKWh = Math.min(Math.max(0, chargerKWh - wantKWh), roomKWh);
    socPct += (100 * (intoBatteryKWh - fromBatteryKWh)) / t.batteryKWh;
    t.totals.computeKWh += computeKWh;
    t.totals.chargedKWh += intoBatteryKWh;
    // Charging and compute heat the pack: ~0.5 °C per kW of charging, ~5 °C per kW of compute
    // above ambient at steady state (an assumption: a simple first-order model, no published figure).
    tempTargetC += (intoBatteryKWh > 0 ? t.chargerKW * 0.5 : 0) + (computeKWh / dtS) * 3600 * 5;
  }
  // Full is full: a charge a rounding error short of 100% would otherwise keep "charging".
  socPct = socPct > 100 - 1e-9 ? 100 : clampPct(socPct);
  // First-order lag toward the target with a 30-minute time constant.
  const batteryTempC = tempTargetC + (t.batteryTempC - tempTargetC) * Math.exp(-dtS / 1800);
  const next = { ...t, socPct, batteryTempC };
  return t.state === "driving" ? next : { ...next, state: restingState(next) };
}

/** A simulated car leaves: it unplugs and takes the next trip of its life. */
function depart(t: Twin): Twin {
  const p = t.pattern;
  if (!p) return { ...t, departAtMs: null };
  const steps = p.steps + 1;
  const rng = lifeRng(p.seed, steps);
  const trip = tripFrom(p.profile, p.place, t.nowMs / 1000, offsetsNear(p.timeZone, t.nowMs), rng);
  const durationS = Math.max(60, trip.durationS);
  const usedKWh = tripKWh(p.scenario, trip);
  return {
    ...t,
    state: "driving",
    pluggedIn: false,
    chargerKW: 0,
    predictedDepartureMs: null,
    departAtMs: null,
    arriveAtMs: t.nowMs + durationS * 1000,
    drivingKW: usedKWh / (durationS / 3600),
    pattern: { ...p, steps, place: trip.to, tripKWh: usedKWh },
  };
}

/**
 * A simulated car arrives where its trip went. An owner who would arrive below their reserve
 * (plus ten points) charged on the way, as in the simulator; then it plugs in or not, and plans
 * its next departure.
 */
function arrive(t: Twin): Twin {
  const p = t.pattern;
  if (!p) return { ...t, state: restingState(t), arriveAtMs: null, drivingKW: 0 };
  const steps = p.steps + 1;
  const rng = lifeRng(p.seed, steps);
  // The trip's energy is already off the battery (integrated as the car drove): the floor only.
  const socPct = socOnArrival(p.profile, t.socPct, 0);
  const nowS = t.nowMs / 1000;
  const stay = stayOnArrival(
    p.scenario,
    p.profile,
    p.place,
    socPct,
    nowS,
    offsetsNear(p.timeZone, t.nowMs),
    rng,
  );
  return beginStay({ ...t, socPct, pattern: { ...p, steps, tripKWh: 0 } }, stay);
}

/** A stay begins: plugged in or not, the departure the owner plans and the one that happens. */
function beginStay(t: Twin, stay: StayPlan): Twin {
  const parked: Twin = {
    ...t,
    state: "parked",
    pluggedIn: stay.chargerKW > 0,
    chargerKW: stay.chargerKW,
    predictedDepartureMs: stay.plannedDepartureS * 1000,
    departAtMs: stay.departAtS * 1000,
    arriveAtMs: null,
    drivingKW: 0,
  };
  return { ...parked, state: restingState(parked) };
}

/** The zone's UTC offsets around the twin's time (worked out once an hour per zone). */
function offsetsNear(timeZone: string, nowMs: number) {
  return offsetsAround(timeZone, nowMs / 1000);
}

/** Parked, or charging while plugged in with room in the battery. */
function restingState(t: Twin): DriveState {
  return t.pluggedIn && t.chargerKW > 0 && t.socPct < 100 ? "charging" : "parked";
}

// ---- set from outside (a browser tab's owner, a test) ----

/** The car starts driving now (its owner took it): unplugged, no departure predicted. */
export function startDriving(t: Twin, drivingKW = 15): Twin {
  return {
    ...t,
    state: "driving",
    pluggedIn: false,
    chargerKW: 0,
    predictedDepartureMs: null,
    departAtMs: null,
    arriveAtMs: null,
    drivingKW,
  };
}

/** The car parks now, plugged into a charger of `chargerKW` (0: not plugged in). */
export function park(t: Twin, chargerKW = 0, predictedDepartureMs: number | null = null): Twin {
  const parked: Twin = {
    ...t,
    state: "parked",
    pluggedIn: chargerKW > 0,
    chargerKW,
    predictedDepartureMs,
    departAtMs: null,
    arriveAtMs: null,
    drivingKW: 0,
  };
  return { ...parked, state: restingState(parked) };
}

// ---- what the loop asks ----

export type TwinReason =
  "driving" | "opted-out" | "outside-allowed-hours" | "reserve" | "battery-hot" | "departs-soon";

/**
 * Null when the car may take work now, else why not: driving, opted out or outside the owner's
 * hours (local time), at or below the reserve, too hot, or leaving within `marginS`.
 */
export function workBlocker(t: Twin, marginS = 60): TwinReason | null {
  if (t.state === "driving") return "driving";
  if (!t.limits.optedIn) return "opted-out";
  const localHour = localHourAt(offsetsNear(t.pattern?.timeZone ?? "UTC", t.nowMs), t.nowMs / 1000);
  if (!insideHours(t.limits.allowedHours, localHour)) return "outside-allowed-hours";
  // Charging covers the draw: no reserve question while the charger delivers more than compute takes.
  const covered = t.pluggedIn && t.chargerKW * t.chargeEfficiency * 1000 >= t.computeW;
  if (!covered && t.socPct <= t.limits.reservePct) return "reserve";
  // Core's limit, the server's filter too.
  if (batteryTooHot(t.batteryTempC)) return "battery-hot";
  if (t.predictedDepartureMs !== null && t.predictedDepartureMs - t.nowMs < marginS * 1000)
    return "departs-soon";
  return null;
}

/**
 * What the server's heartbeat carries. `wallNowMs` and `speedup` map the twin's time onto the
 * wall clock: a compressed-time twin (speedup 60: an hour a minute) predicts its departure on the
 * server's clock, not its own.
 */
export function heartbeatOf(
  t: Twin,
  wallNowMs: number,
  speedup = 1,
): {
  state: DriveState;
  socPct: number;
  pluggedIn: boolean;
  chargerKW: number;
  predictedDepartureAt: string | null;
  departureUncertaintyS?: number;
  batteryTempC: number;
} {
  const predicted =
    t.predictedDepartureMs === null
      ? null
      : new Date(wallNowMs + Math.max(0, t.predictedDepartureMs - t.nowMs) / speedup).toISOString();
  return {
    state: t.state,
    socPct: round(t.socPct, 3),
    pluggedIn: t.pluggedIn,
    chargerKW: Math.min(350, t.chargerKW),
    predictedDepartureAt: predicted,
    // How far the real departure may stray from the prediction, on the wall clock too.
    ...(t.pattern && predicted !== null
      ? {
          departureUncertaintyS: Math.min(
            4 * 3600,
            Math.round(t.pattern.scenario.mobility.departureSpreadS / speedup),
          ),
        }
      : {}),
    batteryTempC: round(Math.min(100, Math.max(-60, t.batteryTempC)), 2),
  };
}

function clampPct(pct: number): number {
  return Math.min(100, Math.max(0, pct));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
