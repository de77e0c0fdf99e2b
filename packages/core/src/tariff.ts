// Time-of-use tariffs and grid carbon intensity of a region, as piecewise-constant functions of
// local time, and exact queries over them: the value at an instant, the time-weighted mean over an
// interval, and the cheapest (or cleanest) window of a given length.
//
// A region is compiled once into two day profiles (price, carbon): sorted piece starts in local
// seconds since midnight, the value of each piece and the prefix integral. Compiled profiles are
// cached by region object identity, so a region must not be mutated after first use.
//
// Local time is read from the region's offset table (local-time.ts), so a daylight saving change
// moves the rates with the clocks: the hour that spring forward skips is never priced, and the
// hour that fall back repeats is priced twice, as the meter sees it.
import {
  type OffsetTable,
  OffsetTableError,
  offsetAt,
  offsetIndex,
  localHourAt,
  type UtcOffset,
  validateOffsets,
} from "./local-time";
import type { Region, TariffRate } from "./types";

const HOUR_S = 3600;
const DAY_S = 86_400;

export class TariffError extends Error {
  override name = "TariffError";
}

export type WindowBy = "price" | "carbon";

// ---- validation ----

/** "06:00", "06:30", or "06:07:12" for a (possibly fractional) hour of the day. */
function formatHour(hour: number): string {
  const totalS = Math.round(hour * HOUR_S);
  const h = Math.floor(totalS / HOUR_S);
  const m = Math.floor((totalS % HOUR_S) / 60);
  const s = totalS % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return s === 0 ? `${pad(h)}:${pad(m)}` : `${pad(h)}:${pad(m)}:${pad(s)}`;
}

interface Segment {
  /** Local hours [start, end) within one day, end > start. */
  start: number;
  end: number;
  rate: number;
}

/** Split rates into non-wrapping segments of [0, 24); `end ≤ start` wraps across midnight. */
function toSegments(rates: readonly TariffRate[]): Segment[] {
  const segments: Segment[] = [];
  rates.forEach((r, rate) => {
    if (r.end > r.start) {
      segments.push({ start: r.start, end: r.end, rate });
    } else {
      segments.push({ start: r.start, end: 24, rate });
      if (r.end > 0) segments.push({ start: 0, end: r.end, rate });
    }
  });
  return segments.sort((x, y) => x.start - y.start || x.end - y.end);
}

/**
 * Throws a TariffError unless the rates cover all 24 local hours exactly once with finite prices
 * ≥ 0. Hours may be fractional (06:30 = 6.5); start in [0, 24), end in [0, 24].
 */
export function validateTariff(rates: readonly TariffRate[]): void {
  if (rates.length === 0) throw new TariffError("tariff has no rates");
  rates.forEach((r, i) => {
    if (!Number.isFinite(r.start) || r.start < 0 || r.start >= 24) {
      throw new TariffError(`start must be an hour in [0, 24), got ${r.start} (rates[${i}])`);
    }
    if (!Number.isFinite(r.end) || r.end < 0 || r.end > 24) {
      throw new TariffError(`end must be an hour in [0, 24], got ${r.end} (rates[${i}])`);
    }
    if (!Number.isFinite(r.priceUsdPerKWh) || r.priceUsdPerKWh < 0) {
      throw new TariffError(
        `priceUsdPerKWh must be a finite number ≥ 0, got ${r.priceUsdPerKWh} (rates[${i}])`,
      );
    }
  });

  const gaps: Array<[number, number]> = [];
  const overlaps: string[] = [];
  let cursor = 0;
  let cursorRate = -1;
  for (const seg of toSegments(rates)) {
    if (seg.start > cursor) {
      gaps.push([cursor, seg.start]);
    } else if (seg.start < cursor) {
      overlaps.push(
        `rates overlap at ${formatHour(seg.start)} (rates[${cursorRate}] and rates[${seg.rate}], ` +
          `until ${formatHour(Math.min(cursor, seg.end))})`,
      );
    }
    if (seg.end > cursor) {
      cursor = seg.end;
      cursorRate = seg.rate;
    }
  }
  if (cursor < 24) gaps.push([cursor, 24]);
  // A gap that runs through midnight is reported as one gap.
  const first = gaps[0];
  const last = gaps[gaps.length - 1];
  if (
    gaps.length > 1 &&
    first !== undefined &&
    last !== undefined &&
    first[0] === 0 &&
    last[1] === 24
  ) {
    gaps.shift();
    last[1] = first[1];
  }
  const problems = [
    ...gaps.map(([from, to]) => `tariff has a gap from ${formatHour(from)} to ${formatHour(to)}`),
    ...overlaps,
  ];
  if (problems.length > 0) throw new TariffError(problems.join("; "));
}

/** Throws a TariffError unless there are 24 hourly intensities, each a finite number ≥ 0. */
export function validateCarbon(hourly: readonly number[]): void {
  if (hourly.length !== 24) {
    throw new TariffError(`carbonGPerKWh must have 24 hourly values, got ${hourly.length}`);
  }
  hourly.forEach((v, h) => {
    if (!Number.isFinite(v) || v < 0) {
      throw new TariffError(`carbonGPerKWh must be a finite number ≥ 0, got ${v} (hour ${h})`);
    }
  });
}

/** Validates everything a region's energy queries rely on. */
export function validateRegion(region: Region): void {
  try {
    validateOffsets(region.offsets);
    validateTariff(region.tariff);
    validateCarbon(region.carbonGPerKWh);
  } catch (err) {
    if (err instanceof TariffError || err instanceof OffsetTableError) {
      throw new TariffError(`region ${region.id}: ${err.message}`);
    }
    throw err;
  }
}

// ---- compiled day profiles ----

/** A piecewise-constant function of local seconds since midnight, over one day. */
export interface DayProfile {
  /** Piece starts, ascending, starts[0] = 0; adjacent pieces differ in value. */
  readonly startsS: Float64Array;
  readonly values: Float64Array;
  /** Integral from midnight to startsS[i], value × s. */
  readonly prefix: Float64Array;
  /** Integral over the whole day, value × s. */
  readonly dayIntegral: number;
  /** Piece holding the start of each local hour: a lookup starts there instead of searching. */
  readonly hourPiece: Int32Array;
}

export interface CompiledRegion {
  readonly region: Region;
  /** Local time = nowS + the offset in force at nowS. */
  readonly offsets: OffsetTable;
  readonly price: DayProfile;
  readonly carbon: DayProfile;
}

function buildProfile(pieces: ReadonlyArray<{ startS: number; value: number }>): DayProfile {
  const merged: Array<{ startS: number; value: number }> = [];
  for (const p of pieces) {
    const prev = merged[merged.length - 1];
    if (prev !== undefined && prev.value === p.value) continue;
    merged.push(p);
  }
  const n = merged.length;
  const startsS = new Float64Array(n);
  const values = new Float64Array(n);
  const prefix = new Float64Array(n);
  let acc = 0;
  merged.forEach((p, i) => {
    startsS[i] = p.startS;
    values[i] = p.value;
    prefix[i] = acc;
    const endS = merged[i + 1]?.startS ?? DAY_S;
    acc += p.value * (endS - p.startS);
  });
  const hourPiece = new Int32Array(24);
  let piece = 0;
  for (let h = 0; h < 24; h++) {
    while (piece + 1 < n && (startsS[piece + 1] as number) <= h * HOUR_S) piece++;
    hourPiece[h] = piece;
  }
  return { startsS, values, prefix, dayIntegral: acc, hourPiece };
}

const compiled = new WeakMap<Region, CompiledRegion>();

/** Validates and compiles a region for fast queries; cached by object identity. */
export function compileRegion(region: Region): CompiledRegion {
  const hit = compiled.get(region);
  if (hit !== undefined) return hit;
  validateRegion(region);
  const price = buildProfile(
    toSegments(region.tariff).map((seg) => ({
      startS: seg.start * HOUR_S,
      value: (region.tariff[seg.rate] as TariffRate).priceUsdPerKWh,
    })),
  );
  const carbon = buildProfile(
    region.carbonGPerKWh.map((value, h) => ({ startS: h * HOUR_S, value })),
  );
  const result: CompiledRegion = { region, offsets: region.offsets, price, carbon };
  compiled.set(region, result);
  return result;
}

/** Index of the piece holding local second-of-day `r` (0 ≤ r < DAY_S). */
function pieceAt(p: DayProfile, r: number): number {
  let i = p.hourPiece[Math.min(23, Math.floor(r / HOUR_S))] as number;
  const n = p.startsS.length;
  while (i + 1 < n && (p.startsS[i + 1] as number) <= r) i++;
  return i;
}

/** Day index of local time `u` (s). */
function dayOf(u: number): number {
  const day = Math.floor(u / DAY_S);
  const r = u - day * DAY_S;
  return r >= DAY_S ? day + 1 : r < 0 ? day - 1 : day;
}

/** Second of the day of local time `u`, in [0, DAY_S), given its day index. */
function secondOfDay(u: number, day: number): number {
  return Math.min(Math.max(u - day * DAY_S, 0), DAY_S - Number.EPSILON * DAY_S);
}

/**
 * ∫ over seconds-of-day [r1, r2] (0 ≤ r1 ≤ r2 ≤ DAY_S). The partial pieces at either end are
 * multiplied out directly, so a short interval keeps its relative precision.
 */
function integralInDay(p: DayProfile, r1: number, r2: number): number {
  const n = p.startsS.length;
  const i1 = pieceAt(p, r1);
  const i2 = r2 >= DAY_S ? n : pieceAt(p, r2);
  const v1 = p.values[i1] as number;
  if (i1 === i2) return v1 * (r2 - r1);
  // Piece n stands for the end of the day: its start is DAY_S and its prefix the day's integral.
  const nextStart = i1 + 1 < n ? (p.startsS[i1 + 1] as number) : DAY_S;
  const nextPrefix = i1 + 1 < n ? (p.prefix[i1 + 1] as number) : p.dayIntegral;
  const head = v1 * (nextStart - r1);
  const prefixEnd = i2 < n ? (p.prefix[i2] as number) : p.dayIntegral;
  const whole = prefixEnd - nextPrefix;
  const tail = i2 < n ? (p.values[i2] as number) * (r2 - (p.startsS[i2] as number)) : 0;
  return head + whole + tail;
}

/** ∫ over local times [u1, u2], u1 ≤ u2; whole days are counted apart so large times lose no precision. */
function integral(p: DayProfile, u1: number, u2: number): number {
  const d1 = dayOf(u1);
  const d2 = dayOf(u2);
  const r1 = secondOfDay(u1, d1);
  const r2 = secondOfDay(u2, d2);
  if (d1 === d2) return integralInDay(p, r1, r2);
  return integralInDay(p, r1, DAY_S) + (d2 - d1 - 1) * p.dayIntegral + integralInDay(p, 0, r2);
}

function valueAt(p: DayProfile, u: number): number {
  return p.values[pieceAt(p, secondOfDay(u, dayOf(u)))] as number;
}

/** ∫ over instants [fromS, toS]: each stretch between offset changes read in its own local time. */
function integralOver(c: CompiledRegion, p: DayProfile, fromS: number, toS: number): number {
  const table = c.offsets;
  let i = offsetIndex(table, fromS);
  let s = fromS;
  let acc = 0;
  for (;;) {
    const offsetS = (table[i] as UtcOffset).offsetS;
    const next = table[i + 1];
    const end = next === undefined || next.fromS >= toS ? toS : next.fromS;
    if (end > s) acc += integral(p, s + offsetS, end + offsetS);
    if (end === toS) return acc;
    s = end;
    i++;
  }
}

/** Mean over [fromS, toS] (UTC seconds); the value at fromS when the interval is empty. */
function meanCompiled(c: CompiledRegion, p: DayProfile, fromS: number, toS: number): number {
  if (toS === fromS) return valueAt(p, fromS + offsetAt(c.offsets, fromS));
  return integralOver(c, p, fromS, toS) / (toS - fromS);
}

function profileOf(c: CompiledRegion, by: WindowBy): DayProfile {
  return by === "price" ? c.price : c.carbon;
}

// ---- queries ----

/** Local hour of the day in [0, 24), fractional, with the offset in force at nowS. */
export function localHour(region: Region, nowS: number): number {
  return localHourAt(region.offsets, nowS);
}

export function priceAt(region: Region, nowS: number): number {
  const c = compileRegion(region);
  return valueAt(c.price, nowS + offsetAt(c.offsets, nowS));
}

export function carbonAt(region: Region, nowS: number): number {
  const c = compileRegion(region);
  return valueAt(c.carbon, nowS + offsetAt(c.offsets, nowS));
}

function assertFinite(what: string, v: number): void {
  if (!Number.isFinite(v)) throw new RangeError(`${what} must be a finite number, got ${v}`);
}

/**
 * Exact time-weighted mean of the price (USD/kWh) or carbon intensity (g/kWh) over [fromS, toS],
 * any length; the instantaneous value when fromS = toS.
 */
export function meanOver(region: Region, fromS: number, toS: number, by: WindowBy): number {
  assertFinite("fromS", fromS);
  assertFinite("toS", toS);
  if (toS < fromS) throw new RangeError(`meanOver needs fromS ≤ toS, got ${fromS} > ${toS}`);
  const c = compileRegion(region);
  return meanCompiled(c, profileOf(c, by), fromS, toS);
}

export interface WindowQuery {
  fromS: number;
  deadlineS: number;
  durationS: number;
  by: WindowBy;
}

export interface TimeWindow {
  startS: number;
  endS: number;
  meanPriceUsdPerKWh: number;
  meanCarbonGPerKWh: number;
}

/** Means closer than this count as equal: far below any meaningful price or intensity. */
function tieTolerance(mean: number): number {
  return 1e-12 * Math.abs(mean) + 1e-15;
}

/**
 * The window of exactly `durationS` with start ≥ fromS and end ≤ deadlineS that minimises the mean
 * price (or carbon); ties go to the earliest; null when it does not fit.
 *
 * Exact: the window mean is piecewise linear in its start, with kinks where the start or the end
 * crosses an instant at which the value may change (a piece boundary in local time, or an offset
 * change), so the minimum lies at such a start or at an end of the allowed range. Between offset
 * changes the profile repeats daily, so one day of starts covers every phase: without a change in
 * reach, at most 2 × pieces + 2 candidates, whatever the range; with one, a day past the last
 * change more.
 */
export function bestWindow(region: Region, q: WindowQuery): TimeWindow | null {
  assertFinite("fromS", q.fromS);
  assertFinite("deadlineS", q.deadlineS);
  assertFinite("durationS", q.durationS);
  if (q.durationS < 0) throw new RangeError(`durationS must be ≥ 0, got ${q.durationS}`);
  const lastStart = q.deadlineS - q.durationS;
  if (lastStart < q.fromS) return null;

  const c = compileRegion(region);
  const p = profileOf(c, q.by);
  const a = q.fromS;
  // Offset changes that some window could straddle: (a, lastStart + duration).
  let lastChangeS = -Infinity;
  for (const e of c.offsets) {
    if (e.fromS > a && e.fromS < q.deadlineS) lastChangeS = e.fromS;
  }
  const candidates =
    lastChangeS === -Infinity
      ? candidatesSteady(p, a, Math.min(lastStart, a + DAY_S), q.durationS, offsetAt(c.offsets, a))
      : candidatesAcross(
          c,
          p,
          a,
          Math.min(lastStart, Math.max(a, lastChangeS) + DAY_S),
          q.durationS,
        );

  let bestS = a;
  let bestMean = meanCompiled(c, p, a, a + q.durationS);
  for (const s of candidates) {
    const mean = meanCompiled(c, p, s, s + q.durationS);
    // A tolerance so that rounding does not break "ties go to the earliest".
    if (mean < bestMean - tieTolerance(bestMean)) {
      bestMean = mean;
      bestS = s;
    }
  }
  // min(): start + duration may round one ulp past the deadline.
  const endS = Math.min(bestS + q.durationS, q.deadlineS);
  return {
    startS: bestS,
    endS,
    meanPriceUsdPerKWh: meanCompiled(c, c.price, bestS, endS),
    meanCarbonGPerKWh: meanCompiled(c, c.carbon, bestS, endS),
  };
}

/** x mod DAY_S in [0, DAY_S). */
function dayPhase(x: number): number {
  return ((x % DAY_S) + DAY_S) % DAY_S;
}

/**
 * Candidate starts in [a, b] (b ≤ a + one day) under one offset: where the window's start, or its
 * end, meets a piece boundary; ascending.
 */
function candidatesSteady(
  p: DayProfile,
  a: number,
  b: number,
  durationS: number,
  offsetS: number,
): Float64Array {
  const uStart = a + offsetS;
  const uEnd = uStart + durationS;
  const rStart = secondOfDay(uStart, dayOf(uStart));
  const rEnd = secondOfDay(uEnd, dayOf(uEnd));
  const all = new Float64Array(2 * p.startsS.length + 2);
  let n = 0;
  all[n++] = a;
  all[n++] = b;
  for (const x of p.startsS) {
    // Starts where the window's start, or its end, meets piece boundary x.
    const viaStart = a + dayPhase(x - rStart);
    const viaEnd = a + dayPhase(x - rEnd);
    if (viaStart <= b) all[n++] = viaStart;
    if (viaEnd <= b) all[n++] = viaEnd;
  }
  return all.subarray(0, n).sort();
}

/**
 * Candidate starts in [a, b] when offset changes fall in reach: every instant in [a, b + duration]
 * at which the value may change (piece boundaries read in the local time of each stretch between
 * changes, and the changes themselves), met by the window's start or by its end; ascending.
 */
function candidatesAcross(
  c: CompiledRegion,
  p: DayProfile,
  a: number,
  b: number,
  durationS: number,
): Float64Array {
  const out: number[] = [a, b];
  const table = c.offsets;
  const add = (s: number) => {
    if (s >= a && s <= b) out.push(s);
  };
  for (let i = offsetIndex(table, a); i < table.length; i++) {
    const e = table[i] as UtcOffset;
    // This offset's stretch of instants, clipped to the instants any window touches.
    const lo = i === 0 ? a : Math.max(a, e.fromS);
    const next = table[i + 1];
    const hi = next === undefined ? b + durationS : Math.min(b + durationS, next.fromS);
    if (lo > b + durationS) break;
    if (i > 0 && e.fromS >= a) {
      add(e.fromS);
      add(e.fromS - durationS);
    }
    for (const x of p.startsS) {
      // Instants t in [lo, hi] whose local time t + offsetS is x past a local midnight.
      for (let t = lo + dayPhase(x - (lo + e.offsetS)); t <= hi; t += DAY_S) {
        add(t);
        add(t - durationS);
      }
    }
  }
  return Float64Array.from(out).sort();
}
