// One car's life as both the simulator and a simulated vehicle node live it: who the car is
// (drawn from a scenario), where it stays and until when, whether it plugs in, where it drives
// and what it has left when it gets there. Every step draws from its own generator, seeded by
// the fleet's seed, the car's index and the step's number (carSeed, lifeRng), so car 7 of seed 1
// lives the same day in the capacity planner and as a headless car in front of the server: the
// planner predicts the product. Steps: 0 is who the car is and its first stay; then each
// departure (odd) and each arrival (even).
import type { OffsetTable } from "../local-time";
import { createRng, mixSeed, type Rng } from "../random";
import type { OwnerPolicy } from "../types";
import {
  initialStay,
  nextTrip,
  type Pattern,
  PATTERNS,
  type Place,
  stayAt,
  type Trip,
} from "./mobility";
import type { Scenario } from "./scenario";

/** Who a car is: everything about it that does not change during a run. */
export interface CarProfile {
  /** Index into the scenario's regions. */
  regionIndex: number;
  /** A core HARDWARE id, from the scenario's hardware mix. */
  hardwareId: string;
  pattern: Pattern;
  policy: OwnerPolicy;
  batteryKWh: number;
  chargeEfficiency: number;
  /** Charge when the run starts. */
  initialSocPct: number;
  /** Wall power of the charger at home; 0: none. */
  homeChargerKW: number;
}

/** A stay from its start: where, when the owner plans to leave and really leaves, the charger. */
export interface StayPlan {
  place: Place;
  plannedDepartureS: number;
  departAtS: number;
  /** Wall power of the charger the car is plugged into for this stay; 0: not plugged in. */
  chargerKW: number;
}

/** Car `index`'s own seed in a fleet seeded `fleetSeed`: all its life is drawn from it. */
export function carSeed(fleetSeed: number, index: number): number {
  return mixSeed(fleetSeed, index);
}

/** The generator of step `step` of the life of the car seeded `seed` (carSeed). */
export function lifeRng(seed: number, step: number): Rng {
  return createRng(mixSeed(seed, step));
}

/** A car drawn from the scenario's shares: region, computer, pattern, owner's limits, battery. */
export function drawCar(s: Scenario, rng: Rng): CarProfile {
  const p = s.participation;
  const regionIndex = rng.weighted(
    s.regions.map((_, i) => i),
    s.regions.map((r) => r.fleetShare),
  );
  const hardwareId = rng.weighted(
    s.hardwareMix.map((h) => h.hardwareId),
    s.hardwareMix.map((h) => h.share),
  );
  const pattern = rng.weighted(
    PATTERNS,
    PATTERNS.map((k) => s.mobility[k]),
  );
  const hours = rng.weighted(
    p.allowedHours,
    p.allowedHours.map((h) => h.share),
  );
  // Owners choose reserves in 5-point steps.
  const reservePct = step5(uniform(rng, p.reservePct));
  const minDepartureChargePct = Math.max(reservePct, step5(uniform(rng, p.minDepartureChargePct)));
  const optedIn = rng.chance(p.optInShare);
  return {
    regionIndex,
    hardwareId,
    pattern,
    policy: {
      optedIn,
      allowedHours: { startHour: hours.startHour, endHour: hours.endHour },
      minDepartureChargePct,
      reservePct,
    },
    batteryKWh: Math.round(uniform(rng, s.mobility.batteryKWh)),
    chargeEfficiency: s.mobility.chargeEfficiency,
    initialSocPct: 40 + rng.next() * 50,
    homeChargerKW: rng.chance(p.homeChargerShare) ? uniform(rng, p.homeChargerKW) : 0,
  };
}

/** Where a car is when the run starts at `nowS`, and its stay there (the rest of step 0). */
export function firstStay(
  s: Scenario,
  car: CarProfile,
  nowS: number,
  offsets: OffsetTable,
  rng: Rng,
): StayPlan {
  const stay = initialStay(car.pattern, nowS, offsets, rng);
  return plan(s, car, stay.place, stay.plannedDepartureS, car.initialSocPct, nowS, rng);
}

/** The stay that starts when the car arrives at `place` at `nowS` with `socPct` left. */
export function stayOnArrival(
  s: Scenario,
  car: CarProfile,
  place: Place,
  socPct: number,
  nowS: number,
  offsets: OffsetTable,
  rng: Rng,
): StayPlan {
  const stay = stayAt(car.pattern, place, nowS, offsets, rng);
  return plan(s, car, place, stay.plannedDepartureS, socPct, nowS, rng);
}

/** The trip a car takes when it leaves `from` at `nowS`. */
export function tripFrom(
  car: CarProfile,
  from: Place,
  nowS: number,
  offsets: OffsetTable,
  rng: Rng,
): Trip {
  return nextTrip(car.pattern, from, nowS, offsets, rng);
}

/** Energy a trip takes from the battery, kWh. */
export function tripKWh(s: Scenario, trip: Trip): number {
  return trip.km * s.mobility.drivingKWhPerKm;
}

/**
 * The charge a car has on arrival after a trip that needed `usedKWh`: an owner who would arrive
 * below their reserve (plus 10 points) stops at a public charger on the way. That energy is not
 * Nightshift's; the battery never runs below that, let alone below empty.
 */
export function socOnArrival(car: CarProfile, socPct: number, usedKWh: number): number {
  const floorPct = Math.min(100, car.policy.reservePct + 10);
  return Math.max(socPct - (100 * usedKWh) / car.batteryKWh, floorPct);
}

function plan(
  s: Scenario,
  car: CarProfile,
  place: Place,
  plannedDepartureS: number,
  socPct: number,
  nowS: number,
  rng: Rng,
): StayPlan {
  const p = s.participation;
  let chargerKW = 0;
  if (place === "home" && car.homeChargerKW > 0) {
    // A low battery always goes on the charger; otherwise most nights.
    if (socPct < 50 || rng.chance(p.homePlugInProbability)) chargerKW = car.homeChargerKW;
  } else if (place === "work" && rng.chance(p.workChargerProbability)) {
    chargerKW = p.workChargerKW;
  }
  // The owner leaves around the planned time, or now and then at an unplanned moment.
  const m = s.mobility;
  let actual = plannedDepartureS + rng.normal(0, m.departureSpreadS);
  if (rng.chance(m.unplannedDepartureProbability)) {
    actual = nowS + rng.next() * (plannedDepartureS - nowS);
  }
  return { place, plannedDepartureS, departAtS: Math.max(nowS + 120, actual), chargerKW };
}

function uniform(rng: Rng, range: { min: number; max: number }): number {
  return range.min + rng.next() * (range.max - range.min);
}

function step5(x: number): number {
  return Math.round(x / 5) * 5;
}
