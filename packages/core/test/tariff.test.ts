import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  TariffError,
  bestWindow,
  carbonAt,
  compileRegion,
  localHour,
  meanOver,
  priceAt,
  validateCarbon,
  validateTariff,
} from "../src/tariff";
import { fixedOffset } from "../src/local-time";
import type { Region, TariffRate } from "../src/types";
import { DAY_S, arbAnyRegion, arbQuarterHourTariff, arbTariff } from "./arbitraries";
import {
  CHICAGO_2025,
  CHICAGO_FALL_2025_S,
  CHICAGO_SPRING_2025_S,
  fixedZone,
  LA_FALL_2025_S,
  LA_SPRING_2025_S,
  LOS_ANGELES_2025,
  STOCKHOLM_2025,
  STOCKHOLM_FALL_2025_S,
  STOCKHOLM_SPRING_2025_S,
  THREE_RATE_TARIFF,
} from "./fixtures";

const H = 3600;

const flatCarbon = (g: number): number[] => Array.from({ length: 24 }, () => g);

/** THREE_RATE_TARIFF in UTC. */
const home: Region = {
  id: "home",
  name: "home",
  ...fixedZone(0),
  tariff: THREE_RATE_TARIFF,
  // Cleanest at 13:00 (solar), dirtiest at 19:00.
  carbonGPerKWh: Array.from({ length: 24 }, (_, h) => (h === 13 ? 50 : h === 19 ? 600 : 300)),
};

// ---- naive references, independent of the module's compiled profiles ----

function naiveRate(rates: readonly TariffRate[], hour: number): number {
  const hits = rates.filter((r) =>
    r.end > r.start ? hour >= r.start && hour < r.end : hour >= r.start || hour < r.end,
  );
  expect(hits).toHaveLength(1);
  return (hits[0] as TariffRate).priceUsdPerKWh;
}

/** The offset in force at nowS by a plain scan of the table (the first entry holds before it). */
function naiveOffsetS(region: Region, nowS: number): number {
  let offsetS = region.offsets[0]!.offsetS;
  for (const e of region.offsets) if (e.fromS <= nowS) offsetS = e.offsetS;
  return offsetS;
}

function naiveLocalS(region: Region, nowS: number): number {
  return (((nowS + naiveOffsetS(region, nowS)) % DAY_S) + DAY_S) % DAY_S;
}

function naiveValue(region: Region, nowS: number, by: "price" | "carbon"): number {
  const hour = naiveLocalS(region, nowS) / H;
  return by === "price"
    ? naiveRate(region.tariff, hour)
    : (region.carbonGPerKWh[Math.floor(hour)] as number);
}

/**
 * Integrates in steps that stop at every local quarter hour (all test tariffs sit on that grid)
 * and at every offset change.
 */
function naiveMean(region: Region, fromS: number, toS: number, by: "price" | "carbon"): number {
  let sum = 0;
  let t = fromS;
  while (t < toS) {
    const local = naiveLocalS(region, t);
    const change = region.offsets.find((e) => e.fromS > t)?.fromS ?? Infinity;
    const next = Math.min(toS, t + (900 - (local % 900)), change);
    sum += naiveValue(region, t, by) * (next - t);
    t = next;
  }
  return sum / (toS - fromS);
}

/** Whether distinct values differ by at least 1e-5 (so no near-tie is decided by rounding). */
function wellSeparated(values: readonly number[]): boolean {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.every((v, i) => i === 0 || v === sorted[i - 1] || v - (sorted[i - 1] as number) >= 1e-5);
}

// ---- validation ----

describe("validateTariff", () => {
  it("accepts every generated tariff", () => {
    fc.assert(fc.property(arbTariff, (rates) => validateTariff(rates)));
    fc.assert(fc.property(arbQuarterHourTariff, (rates) => validateTariff(rates)));
  });

  it("accepts one rate for the whole day, written either way", () => {
    validateTariff([{ start: 0, end: 24, priceUsdPerKWh: 0.2 }]);
    validateTariff([{ start: 7, end: 7, priceUsdPerKWh: 0.2 }]);
  });

  it("names a gap", () => {
    const rates = [
      { start: 0, end: 6, priceUsdPerKWh: 0.1 },
      { start: 7, end: 0, priceUsdPerKWh: 0.3 },
    ];
    expect(() => validateTariff(rates)).toThrow(TariffError);
    expect(() => validateTariff(rates)).toThrow("tariff has a gap from 06:00 to 07:00");
  });

  it("reports a gap through midnight as one gap", () => {
    expect(() => validateTariff([{ start: 1, end: 23, priceUsdPerKWh: 0.1 }])).toThrow(
      /^tariff has a gap from 23:00 to 01:00$/,
    );
  });

  it("names a gap at a fractional hour", () => {
    expect(() =>
      validateTariff([
        { start: 6.5, end: 0, priceUsdPerKWh: 0.1 },
        { start: 0, end: 6.25, priceUsdPerKWh: 0.1 },
      ]),
    ).toThrow("tariff has a gap from 06:15 to 06:30");
  });

  it("names an overlap, also one that wraps midnight", () => {
    expect(() =>
      validateTariff([
        { start: 0, end: 23, priceUsdPerKWh: 0.1 },
        { start: 22, end: 0, priceUsdPerKWh: 0.3 },
      ]),
    ).toThrow(/rates overlap at 22:00 \(rates\[0\] and rates\[1\], until 23:00\)/);
    expect(() =>
      validateTariff([
        { start: 22, end: 2, priceUsdPerKWh: 0.1 },
        { start: 1, end: 22, priceUsdPerKWh: 0.3 },
      ]),
    ).toThrow(/rates overlap at 01:00/);
  });

  it("rejects a duplicated rate", () => {
    const r = { start: 0, end: 24, priceUsdPerKWh: 0.1 };
    expect(() => validateTariff([r, r])).toThrow(/overlap at 00:00/);
  });

  it("rejects bad prices and hours, naming the rate", () => {
    const ok = { start: 6, end: 6, priceUsdPerKWh: 0.1 };
    expect(() => validateTariff([{ ...ok, priceUsdPerKWh: -0.01 }])).toThrow(
      /priceUsdPerKWh must be a finite number ≥ 0.*rates\[0\]/,
    );
    expect(() => validateTariff([{ ...ok, start: 24 }])).toThrow(/start must be an hour in \[0, 24\)/);
    expect(() => validateTariff([{ ...ok, start: -1 }])).toThrow(/start/);
    expect(() => validateTariff([{ ...ok, end: 25 }])).toThrow(/end must be an hour in \[0, 24\]/);
    expect(() => validateTariff([{ ...ok, priceUsdPerKWh: Number.NaN }])).toThrow(/finite/);
    expect(() => validateTariff([])).toThrow("tariff has no rates");
  });

  it("rejects any generated tariff with one rate removed or one rate stretched", () => {
    fc.assert(
      fc.property(arbTariff, fc.nat(), (rates, pick) => {
        fc.pre(rates.length > 1);
        const i = pick % rates.length;
        expect(() => validateTariff(rates.filter((_, j) => j !== i))).toThrow(/gap/);
        const r = rates[i] as TariffRate;
        const stretched = { ...r, end: (r.end + 1) % 24 };
        expect(() => validateTariff(rates.map((x, j) => (j === i ? stretched : x)))).toThrow(
          /overlap/,
        );
      }),
    );
  });
});

describe("validateCarbon", () => {
  it("accepts 24 finite values ≥ 0", () => {
    validateCarbon(flatCarbon(0));
  });

  it("rejects the wrong length, negatives and NaN", () => {
    expect(() => validateCarbon(flatCarbon(1).slice(1))).toThrow(/24 hourly values, got 23/);
    expect(() => validateCarbon(flatCarbon(1).map((v, h) => (h === 5 ? -1 : v)))).toThrow(/hour 5/);
    expect(() => validateCarbon(flatCarbon(Number.NaN))).toThrow(TariffError);
  });

  it("is applied when a region is first used", () => {
    expect(() => priceAt({ ...home, carbonGPerKWh: [1] }, 0)).toThrow(/region home: carbonGPerKWh/);
    expect(() => priceAt({ ...home, tariff: [] }, 0)).toThrow(/region home: tariff has no rates/);
  });
});

// ---- instant lookups ----

describe("localHour", () => {
  it("applies the UTC offset and wraps", () => {
    expect(localHour(home, 0)).toBe(0);
    expect(localHour({ ...home, ...fixedZone(-5) }, 2 * H)).toBe(21);
    expect(localHour({ ...home, offsets: fixedOffset(5.5 * H) }, 20 * H)).toBe(1.5);
    expect(localHour(home, -H)).toBe(23);
    expect(localHour(home, 3 * DAY_S + 90 * 60)).toBe(1.5);
  });

  it("is always in [0, 24)", () => {
    fc.assert(
      fc.property(arbAnyRegion, fc.double({ min: -1e10, max: 1e10, noNaN: true }), (r, t) => {
        const h = localHour(r, t);
        expect(h).toBeGreaterThanOrEqual(0);
        expect(h).toBeLessThan(24);
      }),
    );
  });
});

describe("priceAt / carbonAt", () => {
  it("looks up the rate of the local hour", () => {
    expect(priceAt(home, 5 * H + 3599)).toBe(0.1);
    expect(priceAt(home, 6 * H)).toBe(0.3);
    expect(priceAt(home, 23 * H)).toBe(0.2);
    expect(priceAt(home, DAY_S)).toBe(0.1);
    expect(carbonAt(home, 13 * H + 1800)).toBe(50);
    expect(carbonAt({ ...home, ...fixedZone(1) }, 12 * H)).toBe(50);
  });

  it("matches a naive lookup of the rates at any time", () => {
    fc.assert(
      fc.property(arbAnyRegion, fc.integer({ min: -10 * DAY_S, max: 10 * DAY_S }), (r, t) => {
        expect(priceAt(r, t)).toBe(naiveValue(r, t, "price"));
        expect(carbonAt(r, t)).toBe(naiveValue(r, t, "carbon"));
      }),
    );
  });

  it("caches the compiled region by identity", () => {
    expect(compileRegion(home)).toBe(compileRegion(home));
    expect(compileRegion({ ...home })).not.toBe(compileRegion(home));
  });
});

// ---- means ----

describe("meanOver", () => {
  it("weights by time across midnight", () => {
    // 23:00–01:00: one hour at 0.20, one at 0.10.
    expect(meanOver(home, 23 * H, 25 * H, "price")).toBeCloseTo(0.15, 12);
    // 05:30–06:30: half at 0.10, half at 0.30.
    expect(meanOver(home, 5.5 * H, 6.5 * H, "price")).toBeCloseTo(0.2, 12);
  });

  it("gives the daily average over any whole number of days", () => {
    const dailyPrice = (6 * 0.1 + 16 * 0.3 + 2 * 0.2) / 24;
    expect(meanOver(home, 0, DAY_S, "price")).toBeCloseTo(dailyPrice, 12);
    expect(meanOver(home, 7 * H + 17, 7 * H + 17 + 3 * DAY_S, "price")).toBeCloseTo(dailyPrice, 12);
    expect(meanOver(home, 0, DAY_S, "carbon")).toBeCloseTo((50 + 600 + 22 * 300) / 24, 10);
  });

  it("keeps its precision at Unix-epoch times", () => {
    const day = 20_000 * DAY_S; // 2024-10-04
    expect(meanOver(home, day + 23 * H, day + 25 * H, "price")).toBeCloseTo(0.15, 12);
    expect(meanOver(home, day + 5.5 * H, day + 5.5 * H + 1, "price")).toBeCloseTo(0.1, 12);
  });

  it("is the instant value over an empty interval, and refuses a reversed one", () => {
    expect(meanOver(home, 6 * H, 6 * H, "price")).toBe(0.3);
    expect(() => meanOver(home, 2, 1, "price")).toThrow(RangeError);
    expect(() => meanOver(home, 0, Number.NaN, "price")).toThrow(RangeError);
  });

  it("matches a naive step-by-step integration", () => {
    fc.assert(
      fc.property(
        arbAnyRegion,
        fc.integer({ min: -3 * DAY_S, max: 3 * DAY_S }),
        fc.integer({ min: 1, max: 3 * DAY_S }),
        fc.constantFrom("price" as const, "carbon" as const),
        (r, fromS, lengthS, by) => {
          const got = meanOver(r, fromS, fromS + lengthS, by);
          expect(got).toBeCloseTo(naiveMean(r, fromS, fromS + lengthS, by), 9);
        },
      ),
    );
  });
});

// ---- best window ----

describe("bestWindow", () => {
  const q = (fromS: number, deadlineS: number, durationS: number, by: "price" | "carbon" = "price") => ({
    fromS,
    deadlineS,
    durationS,
    by,
  });

  it("finds the cheapest window across midnight", () => {
    // From 20:00 to 08:00 the next day, 8 h: 22:00–06:00 costs (2 × 0.2 + 6 × 0.1) / 8 = 0.125.
    const w = bestWindow(home, q(20 * H, 32 * H, 8 * H));
    expect(w).toEqual({
      startS: 22 * H,
      endS: 30 * H,
      meanPriceUsdPerKWh: expect.closeTo(0.125, 12) as number,
      meanCarbonGPerKWh: 300,
    });
  });

  it("puts a short window inside the off-peak block, at its earliest start", () => {
    const w = bestWindow(home, q(20 * H, 32 * H, 2 * H));
    expect(w?.startS).toBe(24 * H);
    expect(w?.meanPriceUsdPerKWh).toBeCloseTo(0.1, 12);
  });

  it("returns the whole interval when the window exactly fills it", () => {
    const w = bestWindow(home, q(5 * H + 7, 9 * H + 7, 4 * H));
    expect(w?.startS).toBe(5 * H + 7);
    expect(w?.endS).toBe(9 * H + 7);
    expect(w?.meanPriceUsdPerKWh).toBeCloseTo(meanOver(home, 5 * H + 7, 9 * H + 7, "price"), 12);
  });

  it("returns null when the window does not fit", () => {
    expect(bestWindow(home, q(0, 4 * H, 4 * H + 1))).toBeNull();
    expect(bestWindow(home, q(10, 5, 0))).toBeNull();
  });

  it("refuses a negative or non-finite duration", () => {
    expect(() => bestWindow(home, q(0, H, -1))).toThrow(RangeError);
    expect(() => bestWindow(home, q(0, Infinity, H))).toThrow(RangeError);
  });

  it("takes the earliest of equal windows", () => {
    const flat: Region = { ...home, tariff: [{ start: 3, end: 3, priceUsdPerKWh: 0.25 }] };
    expect(bestWindow(flat, q(1234, 5 * DAY_S, 3 * H))?.startS).toBe(1234);
    // Seven days of range from 07:00: the first night's off-peak start wins.
    expect(bestWindow(home, q(7 * H, 7 * DAY_S, 2 * H))?.startS).toBe(DAY_S);
  });

  it("minimises carbon when asked, with the hourly intensities as breakpoints", () => {
    const w = bestWindow(home, q(0, DAY_S, H, "carbon"));
    expect(w).toMatchObject({ startS: 13 * H, endS: 14 * H, meanCarbonGPerKWh: 50 });
    expect(w?.meanPriceUsdPerKWh).toBeCloseTo(0.3, 12);
  });

  it("follows the region's UTC offset", () => {
    const eastern = { ...home, ...fixedZone(-5) };
    // Local 00:00 is 05:00 UTC.
    expect(bestWindow(eastern, q(0, DAY_S, H))?.startS).toBe(5 * H);
  });

  it("finds a start that meets a boundary with its end, not its start", () => {
    // From 01:30, 2 h before 10:00: the best window ends at 06:00 (04:00–06:00 at 0.10), but the
    // earliest such is 01:30–03:30, also all at 0.10.
    expect(bestWindow(home, q(1.5 * H, 10 * H, 2 * H))?.startS).toBe(1.5 * H);
    // From 18:00 before 23:30, 3 h: the cheapest is 20:30–23:30 (1.5 h at 0.3, 1.5 h at 0.2).
    const w = bestWindow(home, q(18 * H, 23.5 * H, 3 * H));
    expect(w?.startS).toBe(20.5 * H);
    expect(w?.meanPriceUsdPerKWh).toBeCloseTo(0.25, 12);
  });

  it("is exact at Unix-epoch times", () => {
    const day = 20_000 * DAY_S;
    const w = bestWindow(home, q(day + 20 * H, day + 32 * H, 8 * H));
    expect(w?.startS).toBe(day + 22 * H);
  });

  it("takes the cheapest instant for a zero-length window", () => {
    const w = bestWindow(home, q(7 * H, 30 * H, 0));
    expect(w).toMatchObject({ startS: 24 * H, endS: 24 * H, meanPriceUsdPerKWh: 0.1 });
  });

  it("matches a brute-force scan at 60 s steps (minute-grid queries: the optimum lies on the grid)", () => {
    fc.assert(
      fc.property(
        arbAnyRegion,
        fc.integer({ min: -DAY_S / 60, max: DAY_S / 60 }),
        fc.integer({ min: 0, max: 36 * 60 }),
        fc.integer({ min: 0, max: 12 * 60 }),
        fc.constantFrom("price" as const, "carbon" as const),
        (r, fromMin, rangeMin, durationMin, by) => {
          const fromS = fromMin * 60;
          const deadlineS = fromS + rangeMin * 60;
          const durationS = durationMin * 60;
          const w = bestWindow(r, { fromS, deadlineS, durationS, by });
          if (durationS > deadlineS - fromS) {
            expect(w).toBeNull();
            return;
          }
          if (w === null) throw new Error("expected a window");
          expect(w.startS).toBeGreaterThanOrEqual(fromS);
          expect(w.endS).toBeLessThanOrEqual(deadlineS);
          expect(w.endS - w.startS).toBe(durationS);
          const got = by === "price" ? w.meanPriceUsdPerKWh : w.meanCarbonGPerKWh;
          expect(got).toBeCloseTo(meanOver(r, w.startS, w.endS, by), 12);

          let bruteMin = meanOver(r, fromS, fromS + durationS, by);
          let bruteStart = fromS;
          for (let s = fromS; s + durationS <= deadlineS; s += 60) {
            const m = meanOver(r, s, s + durationS, by);
            if (m < bruteMin - (1e-12 * Math.abs(bruteMin) + 1e-15)) {
              bruteMin = m;
              bruteStart = s;
            }
          }
          const tol = 1e-9 * Math.max(1, Math.abs(bruteMin));
          expect(got).toBeLessThanOrEqual(bruteMin + tol);
          expect(got).toBeGreaterThanOrEqual(bruteMin - tol);
          // Earliest of ties: the same start as the scan, unless two distinct rates are so close
          // that rounding decides which start is "better".
          if (wellSeparated(by === "price" ? r.tariff.map((x) => x.priceUsdPerKWh) : r.carbonGPerKWh)) {
            expect(w.startS).toBe(bruteStart);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("is never worse than any sampled window for off-grid queries", () => {
    fc.assert(
      fc.property(
        arbAnyRegion,
        fc.double({ min: -DAY_S, max: DAY_S, noNaN: true }),
        fc.double({ min: 0, max: 30 * H, noNaN: true }),
        // At least a second: a mean over a window of 1e-11 s is a difference of two integrals
        // that agree to their last bits, divided by almost nothing (a counterexample found one,
        // 3e-4 apart). No work runs that briefly.
        fc.double({ min: 1, max: 10 * H, noNaN: true }),
        fc.constantFrom("price" as const, "carbon" as const),
        (r, fromS, rangeS, durationS, by) => {
          const deadlineS = fromS + rangeS;
          const w = bestWindow(r, { fromS, deadlineS, durationS, by });
          fc.pre(w !== null);
          if (w === null) return;
          const got = by === "price" ? w.meanPriceUsdPerKWh : w.meanCarbonGPerKWh;
          expect(w.startS).toBeGreaterThanOrEqual(fromS);
          expect(w.endS).toBeLessThanOrEqual(deadlineS);
          for (let s = fromS; s + durationS <= deadlineS; s += 60) {
            const m = meanOver(r, s, s + durationS, by);
            expect(got).toBeLessThanOrEqual(m + 1e-9 * Math.max(1, m));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

// ---- daylight saving time ----

describe("across the 2025 daylight saving changes of the default zones", () => {
  const q = (fromS: number, deadlineS: number, durationS: number) => ({
    fromS,
    deadlineS,
    durationS,
    by: "price" as const,
  });
  /** Carbon equal to the local hour: a lookup says which local hour was read. */
  const hourly = Array.from({ length: 24 }, (_, h) => h);
  const zoneRegion = (offsets: Region["offsets"], tariff: TariffRate[] = THREE_RATE_TARIFF): Region => ({
    id: "dst",
    name: "dst",
    timeZone: "Test/DST",
    offsets,
    tariff,
    carbonGPerKWh: hourly,
  });
  /** Each change: the instant, the local hour just before it, and the hour the clocks then read. */
  const changes = [
    { name: "Los Angeles, spring forward", offsets: LOS_ANGELES_2025, atS: LA_SPRING_2025_S, before: 2, after: 3 },
    { name: "Los Angeles, fall back", offsets: LOS_ANGELES_2025, atS: LA_FALL_2025_S, before: 2, after: 1 },
    { name: "Chicago, spring forward", offsets: CHICAGO_2025, atS: CHICAGO_SPRING_2025_S, before: 2, after: 3 },
    { name: "Chicago, fall back", offsets: CHICAGO_2025, atS: CHICAGO_FALL_2025_S, before: 2, after: 1 },
    { name: "Stockholm, spring forward", offsets: STOCKHOLM_2025, atS: STOCKHOLM_SPRING_2025_S, before: 2, after: 3 },
    { name: "Stockholm, fall back", offsets: STOCKHOLM_2025, atS: STOCKHOLM_FALL_2025_S, before: 3, after: 2 },
  ];

  describe.each(changes)("$name", ({ offsets, atS, before, after }) => {
    const spring = after > before;
    const r = zoneRegion(offsets);
    /** Local midnight of the day of the change, and the length of that local day. */
    const dayStartS = atS - before * H;
    const dayLengthS = (spring ? 23 : 25) * H;

    it("reads the hour before the change on the old offset and from the change on the new", () => {
      expect(localHour(r, atS - 1)).toBeCloseTo(before - 1 / H, 9);
      expect(localHour(r, atS)).toBe(after);
      expect(carbonAt(r, atS - 1)).toBe(before - 1);
      expect(carbonAt(r, atS)).toBe(after);
      // A day earlier and a day later the same UTC hour reads an hour apart.
      expect(localHour(r, atS + DAY_S) - localHour(r, atS - DAY_S)).toBe(spring ? 1 : -1);
    });

    it(spring ? "never prices the skipped hour" : "prices the repeated hour twice", () => {
      // The local day of the change, midnight to midnight: 23 or 25 hours of carbon = local hour.
      const skippedOrRepeated = spring ? before : after;
      const total = 276 + (spring ? -skippedOrRepeated : skippedOrRepeated);
      expect(meanOver(r, dayStartS, dayStartS + dayLengthS, "carbon")).toBeCloseTo(total / (dayLengthS / H), 12);
      expect(meanOver(r, dayStartS, dayStartS + dayLengthS, "carbon")).toBeCloseTo(
        naiveMean(r, dayStartS, dayStartS + dayLengthS, "carbon"),
        12,
      );
      expect(localHour(r, dayStartS + dayLengthS)).toBe(0);
    });

    it("finds the cheapest window on the clocks as they read", () => {
      // Cheap only in the hour the change skips or repeats.
      const hour = spring ? before : after;
      const cheapHour = zoneRegion(offsets, [
        { start: hour, end: hour + 1, priceUsdPerKWh: 0.1 },
        { start: hour + 1, end: hour, priceUsdPerKWh: 0.3 },
      ]);
      if (spring) {
        // That hour does not happen on the day of the change: the next one is a day later.
        const w = bestWindow(cheapHour, q(dayStartS, dayStartS + 2 * DAY_S, H));
        expect(w).toMatchObject({ startS: dayStartS + 25 * H, meanPriceUsdPerKWh: 0.1 });
      } else {
        // It happens twice in a row: two cheap hours, found from more than a day before.
        const w = bestWindow(cheapHour, q(dayStartS - 30 * H, dayStartS + 2 * DAY_S, 2 * H));
        expect(w).toMatchObject({ startS: atS - H, endS: atS + H, meanPriceUsdPerKWh: 0.1 });
      }
    });

    if (spring) {
      it("starts a window at the change itself when the clocks jump into a cheaper rate", () => {
        // 02:15 is never read on the day; from the change the clocks read 03:00, inside the cheap rate.
        const jump = zoneRegion(offsets, [
          { start: 0, end: 2.25, priceUsdPerKWh: 0.5 },
          { start: 2.25, end: 4, priceUsdPerKWh: 0.1 },
          { start: 4, end: 0, priceUsdPerKWh: 0.3 },
        ]);
        const w = bestWindow(jump, q(atS - 3 * H, atS + 3 * H, 0.5 * H));
        expect(w).toMatchObject({ startS: atS, meanPriceUsdPerKWh: 0.1 });
      });
    }
  });

});
