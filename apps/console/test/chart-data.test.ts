// The Fleet chart's rows: the day merged from incremental fetches, and the means it is drawn from.
import { describe, expect, it } from "vitest";
import {
  type ChartRow,
  DAY_MS,
  downsample,
  type FleetDay,
  mergeDay,
  seriesRequest,
  minuteRows,
  type SeriesPoint,
  stackedColumns,
} from "../src/app/(console)/fleet/chart-data";

const T0 = Date.parse("2026-11-20T00:00:00Z");
const MIN = 60_000;

/** The server's points for minute `m` after T0: the fleet and two regions. */
function minute(m: number, kw = m): SeriesPoint[] {
  const at = new Date(T0 + m * MIN).toISOString();
  const base = { at, online: 1, eligible: 1, availableTops: 1, activeLeases: 0, queueDepth: 0 };
  return [
    { ...base, regionId: "*", availableKW: 3 * kw },
    { ...base, regionId: "b", availableKW: 2 * kw },
    { ...base, regionId: "a", availableKW: kw },
  ];
}
const minutes = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => minute(from + i)).flat();

describe("the day of minute samples", () => {
  it("groups a minute's points into one row, oldest first", () => {
    const rows = minuteRows([...minute(2), ...minute(1)]);
    expect(rows).toEqual([
      { t: T0 + MIN, availableKW: 3, "r:a": 1, "r:b": 2 },
      { t: T0 + 2 * MIN, availableKW: 6, "r:a": 2, "r:b": 4 },
    ]);
  });

  it("asks for the whole day first, then for the minutes after its last", () => {
    expect(seriesRequest(undefined, T0)).toEqual({ hours: 24 });
    const day = mergeDay(undefined, minutes(0, 10), T0 + 10 * MIN);
    const after = new Date(T0 + 9 * MIN).toISOString();
    expect(seriesRequest(day, T0 + 10 * MIN)).toEqual({ hours: 24, after });
    expect(seriesRequest(day, T0 + 10 * MIN + 5 * 3600_000)).toEqual({ hours: 24, after });
    expect(seriesRequest(day, T0 + 9 * MIN + DAY_MS)).toEqual({ hours: 24 });
  });

  it("appends only the minutes after its last, and drops those older than a day", () => {
    const day = mergeDay(undefined, minutes(0, 10), T0 + 10 * MIN);
    expect(day.rows.map((r) => r.t)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + i * MIN));
    expect(day.regionIds).toEqual(["a", "b"]);
    // The next fetch overlaps the day (the last hour); a minute already held is not doubled.
    const later = T0 + DAY_MS + 5 * MIN;
    const next: FleetDay = mergeDay(day, minutes(8, 14), later);
    expect(next.rows.map((r) => (r.t - T0) / MIN)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(day.rows).toHaveLength(10);
  });
});

describe("downsample", () => {
  const rows = minuteRows(minutes(0, 1440));

  it("leaves a short series as it is", () => {
    expect(downsample(rows.slice(0, 100), 250)).toEqual(rows.slice(0, 100));
  });

  it("draws a day in at most the points asked for, ending at the newest row", () => {
    const out = downsample(rows, 250);
    expect(out.length).toBeLessThanOrEqual(251);
    expect(out.length).toBeGreaterThan(200);
    expect(out.at(-1)).toEqual(rows.at(-1));
    for (let i = 1; i < out.length; i++) expect(out[i]!.t).toBeGreaterThan(out[i - 1]!.t);
  });

  it("averages each figure, so the regions still add up to the fleet", () => {
    for (const row of downsample(rows, 250)) {
      expect(row["r:a"]! + row["r:b"]!).toBeCloseTo(row.availableKW, 9);
    }
    // Six-minute buckets of a ramp: the first is the mean of minutes 0–5.
    expect(downsample(rows, 250)[0]).toEqual({
      t: T0 + 2.5 * MIN,
      availableKW: 7.5,
      "r:a": 2.5,
      "r:b": 5,
    });
  });

  it("averages a figure over the rows that have it", () => {
    const sparse = rows.map((r, i) => (i % 2 ? { t: r.t, availableKW: r.availableKW } : r));
    const first = downsample(sparse, 250)[0]!;
    expect(first["r:a"]).toBe((0 + 2 + 4) / 3);
    expect(first.availableKW).toBe(7.5);
  });
});

describe("stackedColumns", () => {
  it("gives seconds, each region on top of those before it, and the fleet", () => {
    const rows = [
      { t: T0, availableKW: 3, "r:a": 1, "r:b": 2 },
      { t: T0 + MIN, availableKW: 2, "r:b": 2 },
    ] as ChartRow[];
    expect(stackedColumns(rows, ["a", "b"])).toEqual([
      [T0 / 1000, (T0 + MIN) / 1000],
      [1, 0],
      [3, 2],
      [3, 2],
    ]);
  });
});
