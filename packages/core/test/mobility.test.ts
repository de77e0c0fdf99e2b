// Daily patterns keep local time across daylight saving changes: a commute planned the evening
// before a change leaves at the same time on the clock, so an hour apart in UTC from one planned
// on a fixed offset with the same draws.
import { describe, expect, it } from "vitest";
import { fixedOffset, localHourAt, type OffsetTable } from "../src/local-time";
import { initialStay, stayAt } from "../src/sim/mobility";
import { createRng } from "../src/random";
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

const changes: Array<{
  name: string;
  table: OffsetTable;
  atS: number;
  beforeH: number;
  afterH: number;
}> = [
  {
    name: "Los Angeles spring",
    table: LOS_ANGELES_2025,
    atS: LA_SPRING_2025_S,
    beforeH: -8,
    afterH: -7,
  },
  {
    name: "Los Angeles fall",
    table: LOS_ANGELES_2025,
    atS: LA_FALL_2025_S,
    beforeH: -7,
    afterH: -8,
  },
  {
    name: "Chicago spring",
    table: CHICAGO_2025,
    atS: CHICAGO_SPRING_2025_S,
    beforeH: -6,
    afterH: -5,
  },
  { name: "Chicago fall", table: CHICAGO_2025, atS: CHICAGO_FALL_2025_S, beforeH: -5, afterH: -6 },
  {
    name: "Stockholm spring",
    table: STOCKHOLM_2025,
    atS: STOCKHOLM_SPRING_2025_S,
    beforeH: 1,
    afterH: 2,
  },
  {
    name: "Stockholm fall",
    table: STOCKHOLM_2025,
    atS: STOCKHOLM_FALL_2025_S,
    beforeH: 2,
    afterH: 1,
  },
];

describe.each(changes)("commutes across the $name change", ({ table, atS, beforeH, afterH }) => {
  // 21:00 local the evening before the change (it falls at 02:00 or 03:00 local).
  const eveningS = atS - 5 * H - (localHourAt(table, atS - 1) - 2) * H;
  const before = fixedOffset(beforeH * H);

  it("leaves home at the same local time the morning after, an hour apart in UTC", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const withChange = stayAt("commuter", "home", eveningS, table, createRng(seed));
      const fixed = stayAt("commuter", "home", eveningS, before, createRng(seed));
      // The same draws: the same local time on each clock (07:45 ± spread, after the change).
      expect(withChange.plannedDepartureS).toBeGreaterThan(atS);
      expect(localHourAt(table, withChange.plannedDepartureS)).toBeCloseTo(
        localHourAt(before, fixed.plannedDepartureS),
        6,
      );
      // Clocks ahead (spring) leave an hour earlier in UTC; clocks back, an hour later.
      expect(withChange.plannedDepartureS - fixed.plannedDepartureS).toBeCloseTo(
        (beforeH - afterH) * H,
        6,
      );
    }
  });

  it("finds a commuter at work or at home by the clocks after the change, not the old offset", () => {
    // Spring: 09:00 on the new clocks (at work, 08:30–17:00) is 08:00 on the old (at home).
    // Fall: 08:00 on the new clocks (at home) is 09:00 on the old (at work).
    const spring = afterH > beforeH;
    const hour = spring ? 9 : 8;
    const morningS = atS + (hour - localHourAt(table, atS)) * H;
    expect(localHourAt(table, morningS)).toBeCloseTo(hour, 9);
    expect(localHourAt(before, morningS)).toBeCloseTo(spring ? 8 : 9, 9);
    expect(initialStay("commuter", morningS, table, createRng(1)).place).toBe(
      spring ? "work" : "home",
    );
    expect(initialStay("commuter", morningS, before, createRng(1)).place).toBe(
      spring ? "home" : "work",
    );
  });
});
