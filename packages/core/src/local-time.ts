// Local time from UTC offsets given as data. Core never resolves a time zone (that needs the
// platform's time-zone database): the shell (`@nightshift/time-zones`) turns a region's IANA zone
// into a table of the offsets in force over the stretch of time it asks about, and every
// local-time question in core (the tariff's hour, the owner's allowed hours, a commute) reads that
// table. Same clock as the rest of core: `nowS` is seconds since a UTC midnight.
const HOUR_S = 3600;
const DAY_S = 86_400;
/** No zone has ever been further from UTC than ±15 h (local mean times included); 18 h is ECMAScript's bound. */
const MAX_OFFSET_S = 18 * HOUR_S;

export interface UtcOffset {
  /** From this instant on, until the next entry's, local time = nowS + offsetS. */
  fromS: number;
  offsetS: number;
}

/**
 * A region's UTC offsets: entries in strictly ascending `fromS`, one per change (a daylight
 * saving time change, a new rule). The first entry also holds before its `fromS`, and the last
 * one after: a table covers the time it was made for, and reads as its nearest entry outside it.
 */
export type OffsetTable = readonly UtcOffset[];

export class OffsetTableError extends Error {
  override name = "OffsetTableError";
}

/** A zone that never changes its offset (UTC, a test fixture, Etc/GMT+8). */
export function fixedOffset(offsetS: number): OffsetTable {
  return [{ fromS: 0, offsetS }];
}

/** Throws an OffsetTableError unless the table is non-empty, ascending and its offsets plausible. */
export function validateOffsets(table: OffsetTable): void {
  if (!Array.isArray(table) || table.length === 0) {
    throw new OffsetTableError("offsets must list at least one UTC offset");
  }
  table.forEach((e: UtcOffset, i) => {
    if (!Number.isFinite(e.fromS)) {
      throw new OffsetTableError(`offsets[${i}].fromS must be a finite number, got ${e.fromS}`);
    }
    if (!Number.isFinite(e.offsetS) || Math.abs(e.offsetS) > MAX_OFFSET_S) {
      throw new OffsetTableError(
        `offsets[${i}].offsetS must be a finite number of seconds within ±18 h, got ${e.offsetS}`,
      );
    }
    const prev = table[i - 1];
    if (prev !== undefined && !(e.fromS > prev.fromS)) {
      throw new OffsetTableError(
        `offsets must be in ascending fromS, got ${e.fromS} after ${prev.fromS} (offsets[${i}])`,
      );
    }
  });
}

/** Index of the entry in force at `nowS` (0 before the first entry). */
export function offsetIndex(table: OffsetTable, nowS: number): number {
  // Tables hold a few entries (two changes a year at most in current rules): a scan from the end
  // finds the usual case, now after the last change, at once.
  let i = table.length - 1;
  while (i > 0 && (table[i] as UtcOffset).fromS > nowS) i--;
  return i;
}

/** The UTC offset in force at `nowS`, seconds. */
export function offsetAt(table: OffsetTable, nowS: number): number {
  return (table[offsetIndex(table, nowS)] as UtcOffset).offsetS;
}

/** Local hour of the day at `nowS`, in [0, 24), fractional. */
export function localHourAt(table: OffsetTable, nowS: number): number {
  const local = (nowS + offsetAt(table, nowS)) % DAY_S;
  const h = (local < 0 ? local + DAY_S : local) / HOUR_S;
  return h >= 24 ? 0 : h;
}

/**
 * The instant at which local clocks read `localS` (seconds since the same midnight as `nowS`,
 * shifted by the offset). A time read twice (a fall-back change repeats an hour) gives the first
 * instant; a time never read (spring forward skips an hour) gives the instant as far after the
 * change as that time is after the gap's start, so 02:30 in a skipped 02:00–03:00 is 03:30:
 * what a clock set by hand would do, and what ECMAScript's Temporal calls "compatible".
 */
export function utcOfLocal(table: OffsetTable, localS: number): number {
  const n = table.length;
  for (let i = 0; i < n; i++) {
    const e = table[i] as UtcOffset;
    const t = localS - e.offsetS;
    const next = table[i + 1];
    // The entry's span of instants: from its fromS (all time before, for the first) to the next's.
    if ((i === 0 || t >= e.fromS) && (next === undefined || t < next.fromS)) return t;
  }
  // No entry reads localS: it falls in a gap, between the last local time before a change,
  // fromS + the old offset, and the first after it, fromS + the new one.
  for (let i = 1; i < n; i++) {
    const before = (table[i - 1] as UtcOffset).offsetS;
    const e = table[i] as UtcOffset;
    if (localS >= e.fromS + before && localS < e.fromS + e.offsetS) return localS - before;
  }
  // Unreachable for a valid table; the offset in force at the naive instant is the best guess.
  return localS - offsetAt(table, localS);
}
