// The rows of the Fleet page's 24-hour chart: the server's minute samples (fetched in full once,
// then only the minutes added since), the live feed after the last of them, and both averaged
// into at most a few hundred points: a day of minutes is 1,440 rows, more than a chart a screen
// wide can show, and every row is work at each redraw.
import type { FleetSample } from "~/lib/live-samples";
import type { RouterOutputs } from "~/lib/trpc";

export const DAY_MS = 24 * 3600_000;
/** At most this many points are drawn: a day in 6-minute means, one per ~5 px of a wide chart. */
export const MAX_CHART_POINTS = 250;

export type SeriesPoint = RouterOutputs["operator"]["fleet"]["series"]["points"][number];
/** One moment of the fleet: its kW and each region's (keyed `r:<id>`). */
export type PowerRow = { t: number; availableKW: number } & Record<string, number>;
/** One moment of the chart. */
export type ChartRow = PowerRow;

/** The server's minute samples of the last day, one row per minute, oldest first. */
export interface FleetDay {
  rows: PowerRow[];
  /** Every region seen in those samples, sorted. */
  regionIds: string[];
}

/** The points of a series as one row per minute, oldest first. */
export function minuteRows(points: readonly SeriesPoint[]): PowerRow[] {
  const byMinute = new Map<number, PowerRow>();
  for (const p of points) {
    const t = Date.parse(p.at);
    let row = byMinute.get(t);
    if (!row) {
      row = { t, availableKW: 0 } as PowerRow;
      byMinute.set(t, row);
    }
    if (p.regionId === "*") row.availableKW = p.availableKW;
    else row[`r:${p.regionId}`] = p.availableKW;
  }
  return [...byMinute.values()].sort((a, b) => a.t - b.t);
}

/**
 * What to ask the server for: the whole day first (or after a day away), then only the minutes
 * after the newest one held (a minute sample never changes once written).
 */
export function seriesRequest(
  day: FleetDay | undefined,
  nowMs: number,
): { hours: number; after?: string } {
  const last = day?.rows.at(-1)?.t;
  if (last === undefined || nowMs - last >= DAY_MS) return { hours: 24 };
  return { hours: 24, after: new Date(last).toISOString() };
}

/**
 * The day after a fetch: `day`'s rows still within 24 hours of `nowMs`, then the fetched minutes
 * after its last row (a minute sample never changes once written, so older ones are kept as is).
 */
export function mergeDay(
  day: FleetDay | undefined,
  points: readonly SeriesPoint[],
  nowMs: number,
): FleetDay {
  const fetched = minuteRows(points);
  const since = nowMs - DAY_MS;
  const kept = day?.rows ?? [];
  let first = 0;
  while (first < kept.length && kept[first]!.t < since) first++;
  const last = kept.length ? kept[kept.length - 1]!.t : -Infinity;
  let next = 0;
  while (next < fetched.length && fetched[next]!.t <= last) next++;
  const rows = kept.slice(first);
  for (let i = next; i < fetched.length; i++) rows.push(fetched[i]!);
  const regions = new Set(day?.regionIds);
  for (const p of points) if (p.regionId !== "*") regions.add(p.regionId);
  return { rows, regionIds: [...regions].sort() };
}

/** The chart's rows: the day's minutes, then the live samples taken after the last of them. */
export function chartRows(minutes: readonly PowerRow[], live: readonly FleetSample[]): ChartRow[] {
  const rows: ChartRow[] = [...minutes];
  const lastSampled = minutes.length ? minutes[minutes.length - 1]!.t : -Infinity;
  for (const s of live) {
    if (s.atMs <= lastSampled) continue;
    const row = { t: s.atMs, availableKW: s.availableKW };
    for (const [regionId, kw] of Object.entries(s.regionKW))
      (row as ChartRow)[`r:${regionId}`] = kw;
    rows.push(row as ChartRow);
  }
  return rows;
}

/** Bucket widths, from seconds to hours; the smallest giving at most `maxPoints` is used. */
const BUCKETS_MS = [
  5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 360_000, 600_000, 900_000, 1_800_000,
  3600_000, 7200_000, 21_600_000,
];

/**
 * At most `maxPoints` rows (plus the newest, kept as it is so the chart ends at now): the mean of
 * every figure over buckets of a round width (whole minutes…), on fixed boundaries, so that a
 * bucket's point does not move when rows are added after it. Means keep the stack: the regions'
 * means add up to the mean of the fleet. A figure missing from some rows is averaged over the rows
 * that have it.
 */
export function downsample<R extends { t: number }>(rows: readonly R[], maxPoints: number): R[] {
  if (rows.length <= maxPoints + 1) return [...rows];
  const newest = rows[rows.length - 1]!;
  const span = newest.t - rows[0]!.t;
  const width =
    BUCKETS_MS.find((w) => span / w <= maxPoints - 2) ?? BUCKETS_MS[BUCKETS_MS.length - 1]!;
  const out: R[] = [];
  let bucket = Math.floor(rows[0]!.t / width);
  let sums: Record<string, number> = {};
  let counts: Record<string, number> = {};
  const flush = () => {
    const row: Record<string, number> = {};
    for (const key in sums) row[key] = sums[key]! / counts[key]!;
    out.push(row as R);
    sums = {};
    counts = {};
  };
  for (let i = 0; i < rows.length - 1; i++) {
    const row = rows[i]! as unknown as Record<string, number>;
    const b = Math.floor(row.t! / width);
    if (b !== bucket) {
      flush();
      bucket = b;
    }
    for (const key in row) {
      sums[key] = (sums[key] ?? 0) + row[key]!;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  flush();
  out.push(newest);
  return out;
}

/**
 * The chart's columns, as the chart library takes them: times in seconds, then each region's top
 * (the regions before it plus its own kW, so consecutive columns bound its band), then the whole
 * fleet. A region missing from a row adds nothing there.
 */
export function stackedColumns(
  rows: readonly ChartRow[],
  regionIds: readonly string[],
): number[][] {
  const times = rows.map((row) => row.t / 1000);
  const tops = regionIds.map(() => new Array<number>(rows.length));
  rows.forEach((row, i) => {
    let sum = 0;
    regionIds.forEach((id, k) => {
      sum += row[`r:${id}`] ?? 0;
      tops[k]![i] = sum;
    });
  });
  return [times, ...tops, rows.map((row) => row.availableKW)];
}
