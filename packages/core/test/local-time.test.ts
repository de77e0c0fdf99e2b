// Offset tables: the offset in force at an instant, the local hour, and local times turned back
// into instants across a spring-forward gap and a fall-back repeat, on the 2025 tables of the
// default scenario's zones.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  fixedOffset,
  localHourAt,
  offsetAt,
  type OffsetTable,
  OffsetTableError,
  utcOfLocal,
  validateOffsets,
} from "../src/local-time";
import { arbOffsets } from "./arbitraries";
import {
  CHICAGO_2025,
  CHICAGO_FALL_2025_S,
  CHICAGO_SPRING_2025_S,
  LA_FALL_2025_S,
  LA_SPRING_2025_S,
  LOS_ANGELES_2025,
  STOCKHOLM_2025,
  STOCKHOLM_FALL_2025_S,
  STOCKHOLM_SPRING_2025_S,
} from "./fixtures";

const H = 3600;

describe("validateOffsets", () => {
  it("accepts the fixtures and any generated table", () => {
    for (const t of [LOS_ANGELES_2025, CHICAGO_2025, STOCKHOLM_2025, fixedOffset(5.75 * H)]) {
      validateOffsets(t);
    }
    fc.assert(fc.property(arbOffsets(fc.integer({ min: -12, max: 13 })), validateOffsets));
  });

  it("names what is wrong", () => {
    expect(() => validateOffsets([])).toThrow(OffsetTableError);
    expect(() => validateOffsets([{ fromS: Number.NaN, offsetS: 0 }])).toThrow(
      /offsets\[0\]\.fromS/,
    );
    expect(() => validateOffsets([{ fromS: 0, offsetS: 19 * H }])).toThrow(/offsets\[0\]\.offsetS/);
    expect(() =>
      validateOffsets([
        { fromS: 10, offsetS: 0 },
        { fromS: 10, offsetS: H },
      ]),
    ).toThrow(/ascending fromS.*offsets\[1\]/);
  });
});

describe("offsetAt and localHourAt", () => {
  const cases: Array<[string, OffsetTable, number, number, number]> = [
    // zone, table, change, offset before (h), offset after (h)
    ["Los Angeles spring", LOS_ANGELES_2025, LA_SPRING_2025_S, -8, -7],
    ["Los Angeles fall", LOS_ANGELES_2025, LA_FALL_2025_S, -7, -8],
    ["Chicago spring", CHICAGO_2025, CHICAGO_SPRING_2025_S, -6, -5],
    ["Chicago fall", CHICAGO_2025, CHICAGO_FALL_2025_S, -5, -6],
    ["Stockholm spring", STOCKHOLM_2025, STOCKHOLM_SPRING_2025_S, 1, 2],
    ["Stockholm fall", STOCKHOLM_2025, STOCKHOLM_FALL_2025_S, 2, 1],
  ];
  it.each(cases)(
    "%s: the old offset up to the change, the new one from it",
    (_, table, atS, beforeH, afterH) => {
      expect(offsetAt(table, atS - 1)).toBe(beforeH * H);
      expect(offsetAt(table, atS)).toBe(afterH * H);
      // Spring: 01:59:59 then 03:00; fall: 01:59:59 then 01:00 (02:59:59 then 02:00 in Stockholm).
      const hourBefore = localHourAt(table, atS - 1);
      expect(localHourAt(table, atS) - hourBefore).toBeCloseTo(afterH - beforeH + 1 / H, 9);
    },
  );

  it("reads the first entry before the table and the last after it", () => {
    expect(offsetAt(LOS_ANGELES_2025, 0)).toBe(-8 * H);
    expect(offsetAt(LOS_ANGELES_2025, 4e9)).toBe(-8 * H);
    expect(localHourAt(fixedOffset(-5 * H), 2 * H)).toBe(21);
    expect(localHourAt(fixedOffset(5.5 * H), 20 * H)).toBe(1.5);
  });
});

describe("utcOfLocal", () => {
  /** Local seconds (on the same axis as nowS + offset) of the instant `atS` read in `table`. */
  const local = (table: OffsetTable, atS: number) => atS + offsetAt(table, atS);

  it("is the inverse of local time where the clocks read a time once", () => {
    fc.assert(
      fc.property(
        arbOffsets(fc.integer({ min: -12, max: 13 })),
        fc.integer({ min: -2 * 86_400, max: 5 * 86_400 }),
        (table, atS) => {
          const back = utcOfLocal(table, local(table, atS));
          // A time read twice may come back as its first reading: never later, and read the same.
          expect(back).toBeLessThanOrEqual(atS);
          expect(local(table, back)).toBe(local(table, atS));
        },
      ),
    );
  });

  it("gives the first reading of a repeated time (fall back)", () => {
    // 01:30 on 2 November 2025 in Los Angeles: 08:30 UTC (PDT), again 09:30 UTC (PST).
    const oneThirty = local(LOS_ANGELES_2025, LA_FALL_2025_S - 0.5 * H);
    expect(local(LOS_ANGELES_2025, LA_FALL_2025_S + 0.5 * H)).toBe(oneThirty);
    expect(utcOfLocal(LOS_ANGELES_2025, oneThirty)).toBe(LA_FALL_2025_S - 0.5 * H);
    // Stockholm repeats 02:00–03:00: 02:30 CEST is 00:30 UTC.
    const stockholm = local(STOCKHOLM_2025, STOCKHOLM_FALL_2025_S - 0.5 * H);
    expect(utcOfLocal(STOCKHOLM_2025, stockholm)).toBe(STOCKHOLM_FALL_2025_S - 0.5 * H);
  });

  it("moves a skipped time forward by its distance into the gap (spring forward)", () => {
    // 02:30 on 9 March 2025 in Chicago is never read: it becomes 03:30 CDT, 30 min after the change.
    const twoThirty = local(CHICAGO_2025, CHICAGO_SPRING_2025_S - 1) + 1 + 0.5 * H;
    expect(utcOfLocal(CHICAGO_2025, twoThirty)).toBe(CHICAGO_SPRING_2025_S + 0.5 * H);
    expect(localHourAt(CHICAGO_2025, CHICAGO_SPRING_2025_S + 0.5 * H)).toBe(3.5);
    // The first second of the gap is the change itself.
    expect(utcOfLocal(CHICAGO_2025, twoThirty - 0.5 * H)).toBe(CHICAGO_SPRING_2025_S);
  });
});
