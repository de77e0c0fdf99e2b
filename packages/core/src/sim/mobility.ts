// Daily patterns of cars: where a car is, when it will leave and where it goes next. A small
// state machine per pattern, drawn from a seeded Rng, in the car's local time: its region's
// offset table, so that a commute keeps its local hour across a daylight saving change.
import { localHourAt, type OffsetTable, offsetAt, utcOfLocal } from "../local-time";
import type { Rng } from "../random";

export const HOUR_S = 3600;
export const DAY_S = 24 * HOUR_S;

export type Pattern = "commuter" | "homebody" | "nightShift" | "rideshare";
export const PATTERNS: readonly Pattern[] = ["commuter", "homebody", "nightShift", "rideshare"];

export type Place = "home" | "work" | "other";

export interface Stay {
  place: Place;
  /** When the owner plans to leave: what the car predicts, seconds (sim time). */
  plannedDepartureS: number;
}

export interface Trip {
  to: Place;
  durationS: number;
  km: number;
}

/**
 * Sim time of the next local time-of-day `hour` (± a spread) that is at least ten minutes after
 * `nowS`. The local time is turned back into sim time (UTC) with the offset in force then, not
 * now: a 07:45 commute planned the evening before a change still leaves at 07:45 on the clock.
 * A time the clocks read twice is the first reading; when that one is already past (planning
 * inside a repeated hour), the commute is the next day's, as a daily routine is once a day.
 */
function nextAt(
  nowS: number,
  offsets: OffsetTable,
  hour: number,
  spreadS: number,
  rng: Rng,
): number {
  const local = nowS + offsetAt(offsets, nowS);
  const day = Math.floor(local / DAY_S);
  let at = day * DAY_S + hour * HOUR_S + rng.normal(0, spreadS);
  while (at < local + 600) at += DAY_S;
  let t = utcOfLocal(offsets, at);
  while (t < nowS + 600) t = utcOfLocal(offsets, (at += DAY_S));
  return t;
}

/** Where the car is at `nowS` when the simulation begins, and when it plans to leave. */
export function initialStay(pattern: Pattern, nowS: number, offsets: OffsetTable, rng: Rng): Stay {
  const h = localHourAt(offsets, nowS);
  switch (pattern) {
    case "commuter":
      if (h >= 8.5 && h < 17)
        return { place: "work", plannedDepartureS: nextAt(nowS, offsets, 17.25, 2700, rng) };
      break;
    case "nightShift":
      if (h >= 22.5 || h < 6)
        return { place: "work", plannedDepartureS: nextAt(nowS, offsets, 6.5, 1200, rng) };
      break;
    case "rideshare":
      if (h >= 7.5 && h < 19)
        return { place: "other", plannedDepartureS: nowS + rng.int(5, 40) * 60 };
      break;
    case "homebody":
      break;
  }
  return stayAt(pattern, "home", nowS, offsets, rng);
}

/** A stay that starts now at `place`: when the owner plans to leave. */
export function stayAt(
  pattern: Pattern,
  place: Place,
  nowS: number,
  offsets: OffsetTable,
  rng: Rng,
): Stay {
  let depart: number;
  switch (pattern) {
    case "commuter":
      depart =
        place === "home"
          ? nextAt(nowS, offsets, 7.75, 1800, rng)
          : place === "work"
            ? nextAt(nowS, offsets, 17.25, 2700, rng)
            : nowS + rng.int(20, 90) * 60;
      break;
    case "homebody":
      depart =
        place === "home"
          ? nextAt(nowS, offsets, 9.5 + rng.next() * 6, 0, rng)
          : nowS + rng.int(45, 180) * 60;
      break;
    case "nightShift":
      depart =
        place === "home"
          ? nextAt(nowS, offsets, 21.5, 1200, rng)
          : nextAt(nowS, offsets, 6.5, 1200, rng);
      break;
    case "rideshare":
      depart = place === "home" ? nextAt(nowS, offsets, 7, 1800, rng) : nowS + rng.int(10, 40) * 60;
      break;
  }
  // Whatever the pattern, a stay lasts at least five minutes.
  return { place, plannedDepartureS: Math.max(depart, nowS + 300) };
}

/** Where the car drives when it leaves `from`, and how long and far. */
export function nextTrip(
  pattern: Pattern,
  from: Place,
  nowS: number,
  offsets: OffsetTable,
  rng: Rng,
): Trip {
  const h = localHourAt(offsets, nowS);
  const trip = (to: Place, minutes: number, km: number): Trip => ({
    to,
    durationS: Math.max(5, rng.normal(minutes, minutes / 4)) * 60,
    km: Math.max(1, rng.normal(km, km / 4)),
  });
  switch (pattern) {
    case "commuter":
      if (from === "home") return trip("work", 35, 25);
      if (from === "work") return rng.chance(0.3) ? trip("other", 20, 10) : trip("home", 35, 25);
      return trip("home", 20, 10);
    case "homebody":
      return from === "home" ? trip("other", 15, 8) : trip("home", 15, 8);
    case "nightShift":
      return from === "home" ? trip("work", 30, 22) : trip("home", 30, 22);
    case "rideshare":
      // Rides in blocks of about two hours; the shift ends after 19:00 local.
      if (from === "other" && h >= 19) return trip("home", 30, 20);
      return trip("other", 120, 70);
  }
}
