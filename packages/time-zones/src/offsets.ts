// IANA time zones to the UTC offset tables core reads (core has no time-zone database: see
// core's local-time.ts). The platform's own database through Intl, nothing else, so the server,
// the simulator's shells (the CLI, the console's planner worker) and browser and headless cars
// all read the same rules. Times are Unix seconds.
import type { OffsetTable, UtcOffset } from "@nightshift/core/local-time";

const HOUR_S = 3600;
const DAY_S = 86_400;
/** Offsets are looked up this far apart, and each change found is narrowed to its second. */
const STEP_S = 6 * HOUR_S;
/** Intl covers years 1 to 9999 in the proleptic Gregorian calendar; outside, offsets mean nothing. */
const MIN_S = -62_135_596_800;
const MAX_S = 253_402_300_799;

export class TimeZoneError extends Error {
  override name = "TimeZoneError";
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter of wall-clock fields in `timeZone`; throws a RangeError for an unknown zone. */
function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The zone's name to store, or null when Intl does not know it. Aliases stay as given
 * ("US/Pacific", "Asia/Kolkata": ICU would call the latter "Asia/Calcutta"); a name differing
 * only in letter case is spelled as the database spells it. Offsets ("+01:00") are not zones.
 */
export function canonicalTimeZone(name: string): string | null {
  if (name.length > 64 || !/^[A-Za-z]/.test(name)) return null;
  let resolved: string;
  try {
    resolved = formatterOf(name).resolvedOptions().timeZone;
  } catch {
    return null;
  }
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
}

/** The UTC offset in force in `timeZone` at `atS`, seconds (local time = atS + offset). */
export function utcOffsetS(timeZone: string, atS: number): number {
  if (!(atS >= MIN_S && atS <= MAX_S)) {
    throw new RangeError(`atS must be an instant in the years 1 to 9999, got ${atS}`);
  }
  const wholeS = Math.floor(atS);
  let f: Intl.DateTimeFormat;
  try {
    f = formatterOf(timeZone);
  } catch {
    throw new TimeZoneError(`unknown time zone "${timeZone}"`);
  }
  const field: Record<string, number> = {};
  for (const p of f.formatToParts(wholeS * 1000)) {
    if (p.type !== "literal") field[p.type] = Number(p.value);
  }
  // The wall clock read as if it were UTC, minus the instant: the offset. setUTCFullYear, not
  // Date.UTC, which reads years 0–99 as 1900–1999.
  const wall = new Date(0);
  wall.setUTCFullYear(field.year as number, (field.month as number) - 1, field.day as number);
  wall.setUTCHours(field.hour as number, field.minute as number, field.second as number, 0);
  return Math.round(wall.getTime() / 1000 - wholeS);
}

/**
 * The zone's offsets over [fromS, toS]: the one in force at fromS, then one entry per change,
 * at the first second of the new offset. Offsets are read every 6 hours, so a change and its
 * undoing less than 6 hours apart would both be missed; tzdata has none in living memory.
 */
export function offsetTable(timeZone: string, fromS: number, toS: number): OffsetTable {
  if (!(toS >= fromS)) throw new RangeError(`offsetTable needs fromS ≤ toS, got ${fromS} > ${toS}`);
  let atS = Math.floor(fromS);
  let offsetS = utcOffsetS(timeZone, atS);
  const table: UtcOffset[] = [{ fromS: atS, offsetS }];
  const endS = Math.ceil(toS);
  while (atS < endS) {
    const nextS = Math.min(atS + STEP_S, endS);
    if (utcOffsetS(timeZone, nextS) === offsetS) {
      atS = nextS;
      continue;
    }
    // A change in (atS, nextS]: narrow it to its first second.
    let lo = atS;
    let hi = nextS;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (utcOffsetS(timeZone, mid) === offsetS) lo = mid;
      else hi = mid;
    }
    offsetS = utcOffsetS(timeZone, hi);
    table.push({ fromS: hi, offsetS });
    atS = hi;
  }
  return table;
}

/** Zones' tables by the hour they were made for; a handful of zones, a few hours each. */
const around = new Map<string, OffsetTable>();
const AROUND_ENTRIES = 64;

/**
 * A table for decisions made at `nowS`: from two days before the hour to sixteen days after, so
 * that look-ahead (a departure, the cheapest window before it) reads real changes. Made once
 * per zone per hour and kept, so a server or a fleet of cars pays for Intl once an hour.
 */
export function offsetsAround(timeZone: string, nowS: number): OffsetTable {
  const hourS = Math.floor(nowS / HOUR_S) * HOUR_S;
  const key = `${timeZone}@${hourS}`;
  let table = around.get(key);
  if (table === undefined) {
    table = offsetTable(timeZone, hourS - 2 * DAY_S, hourS + 16 * DAY_S);
    if (around.size >= AROUND_ENTRIES) around.delete(around.keys().next().value as string);
    around.set(key, table);
  }
  return table;
}

/** "UTC−7", "UTC+5:30", "UTC+0": an offset for people. */
export function formatUtcOffset(offsetS: number): string {
  const minutes = Math.round(Math.abs(offsetS) / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const sign = offsetS < 0 ? "−" : "+";
  return `UTC${sign}${h}${m === 0 ? "" : `:${String(m).padStart(2, "0")}`}`;
}
