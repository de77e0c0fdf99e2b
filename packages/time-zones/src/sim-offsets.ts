// The simulator's side of time zones. Core's simulator counts seconds from the UTC midnight its
// run starts at and takes each zone's offsets as a table on that clock; this works the tables out
// from a start date, for the CLI and for the console's planner worker alike.
import type { OffsetTable } from "@nightshift/core/local-time";
import { canonicalTimeZone, offsetTable, TimeZoneError } from "./offsets";

const DAY_S = 86_400;

/**
 * A date in January, when the default scenario's zones (Los Angeles, Chicago, Stockholm) keep
 * standard time: the same seed and scenario give the same result unless a start is asked for.
 */
export const DEFAULT_START_DATE = "2025-01-15";

/** Unix seconds of 00:00 UTC on `date` (YYYY-MM-DD); a RangeError naming `start` otherwise. */
export function parseStartDate(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  // Date.UTC rolls 2025-02-30 over into March: a date that does not come back is not a date.
  if (!m || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`start must be a date as YYYY-MM-DD, got "${date}"`);
  }
  const year = Number(m[1]);
  if (year < 1970 || year > 2199) {
    throw new RangeError(`start must be a date from 1970 to 2199, got "${date}"`);
  }
  return ms / 1000;
}

/**
 * Offsets of every region's zone for a run of `hours` from `startS` (Unix seconds, a UTC
 * midnight), on the simulator's clock: a day before the start (nothing looks back further) to two
 * days after the end (departures and the cheapest window before them look ahead about a day).
 * An unknown zone is a TimeZoneError naming the region: `regions[1].timeZone: …`.
 */
export function simulationOffsets(
  regions: readonly { timeZone: string }[],
  startS: number,
  hours: number,
): Record<string, OffsetTable> {
  const out: Record<string, OffsetTable> = {};
  regions.forEach((region, i) => {
    const zone = region.timeZone;
    if (Object.hasOwn(out, zone)) return;
    if (canonicalTimeZone(zone) === null) {
      throw new TimeZoneError(`regions[${i}].timeZone: unknown time zone "${zone}"`);
    }
    const table = offsetTable(zone, startS - DAY_S, startS + hours * 3600 + 2 * DAY_S);
    out[zone] = table.map((e) => ({ fromS: e.fromS - startS, offsetS: e.offsetS }));
  });
  return out;
}
