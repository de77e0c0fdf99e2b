import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  chargeAddedKWh,
  energyAboveKWh,
  energyKWh,
  socAfter,
  splitDraw,
  timeToReachS,
} from "../src/battery";
import type { Battery } from "../src/types";
import { arbBattery, arbFlows } from "./arbitraries";

const battery = (socPct: number, capacityKWh = 75, chargeEfficiency = 0.9): Battery => ({
  capacityKWh,
  socPct,
  chargeEfficiency,
});

describe("energyKWh", () => {
  it("is watts × seconds / 3.6e6", () => {
    expect(energyKWh(1000, 3600)).toBe(1);
    expect(energyKWh(72, 1800)).toBeCloseTo(0.036, 12);
    expect(energyKWh(700, 0)).toBe(0);
  });
});

describe("chargeAddedKWh", () => {
  it("applies the efficiency to the wall power", () => {
    expect(chargeAddedKWh(7.4, 0.9, 3600)).toBeCloseTo(6.66, 12);
    expect(chargeAddedKWh(11, 0.9, 0)).toBe(0);
    expect(chargeAddedKWh(0, 0.9, 3600)).toBe(0);
  });
});

describe("socAfter", () => {
  it("charges with what the charger gives beyond the draw", () => {
    // 7.4 kW × 0.9 = 6.66 kW in, 0.66 kW out: +6 kWh in an hour = +8% of 75 kWh.
    expect(socAfter(battery(50), { chargerKW: 7.4, drawW: 660 }, 3600)).toBeCloseTo(58, 10);
  });

  it("covers a draw larger than the charger from the battery", () => {
    // 1 kW draw, 0.5 × 0.9 = 0.45 kW from the charger: −0.55 kWh = −0.733% of 75 kWh.
    expect(socAfter(battery(50), { chargerKW: 0.5, drawW: 1000 }, 3600)).toBeCloseTo(
      50 - (0.55 / 75) * 100,
      10,
    );
  });

  it("drains with no charger", () => {
    expect(socAfter(battery(50, 50), { chargerKW: 0, drawW: 1000 }, 3600)).toBeCloseTo(48, 10);
  });

  it("stays put for zero duration and for a draw the charger exactly covers", () => {
    expect(socAfter(battery(37), { chargerKW: 11, drawW: 1000 }, 0)).toBe(37);
    expect(socAfter(battery(37, 75, 1), { chargerKW: 1, drawW: 1000 }, 3600)).toBe(37);
  });

  it("clamps to [0, 100]", () => {
    expect(socAfter(battery(99), { chargerKW: 11, drawW: 0 }, 3600)).toBe(100);
    expect(socAfter(battery(1), { chargerKW: 0, drawW: 2000 }, 10 * 3600)).toBe(0);
  });

  it("never leaves [0, 100] and is monotone in charger power", () => {
    fc.assert(
      fc.property(
        arbBattery,
        arbFlows,
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.integer({ min: 0, max: 48 * 3600 }),
        (b, flows, extraKW, durationS) => {
          const lo = socAfter(b, flows, durationS);
          const hi = socAfter(b, { ...flows, chargerKW: flows.chargerKW + extraKW }, durationS);
          expect(lo).toBeGreaterThanOrEqual(0);
          expect(hi).toBeLessThanOrEqual(100);
          expect(hi).toBeGreaterThanOrEqual(lo);
        },
      ),
    );
  });

  it("composes: two steps equal one step of the summed duration (away from the clamps)", () => {
    fc.assert(
      fc.property(
        arbBattery,
        arbFlows,
        fc.integer({ min: 0, max: 3600 }),
        fc.integer({ min: 0, max: 3600 }),
        (b, flows, t1, t2) => {
          const once = socAfter(b, flows, t1 + t2);
          fc.pre(once > 0 && once < 100);
          const twice = socAfter({ ...b, socPct: socAfter(b, flows, t1) }, flows, t2);
          expect(twice).toBeCloseTo(once, 9);
        },
      ),
    );
  });
});

describe("energyAboveKWh", () => {
  it("is the energy above the floor", () => {
    expect(energyAboveKWh(battery(80, 75), 20)).toBeCloseTo(45, 12);
  });

  it("is zero at the reserve and below it, never negative", () => {
    expect(energyAboveKWh(battery(20), 20)).toBe(0);
    expect(energyAboveKWh(battery(10), 20)).toBe(0);
  });
});

describe("timeToReachS", () => {
  it("is 0 when already at the target", () => {
    expect(timeToReachS(battery(60), 60, 0, 1000)).toBe(0);
  });

  it("charges up at the net rate", () => {
    // 75 kWh × 20% = 15 kWh at 7.4 × 0.9 − 0.66 = 6 kW → 2.5 h.
    expect(timeToReachS(battery(60), 80, 7.4, 660)).toBeCloseTo(2.5 * 3600, 6);
  });

  it("drains down to a lower target", () => {
    // 75 kWh × 10% = 7.5 kWh at 1 kW → 7.5 h.
    expect(timeToReachS(battery(30), 20, 0, 1000)).toBeCloseTo(7.5 * 3600, 6);
  });

  it("is Infinity when the flow goes the other way, is zero, or the target is out of range", () => {
    expect(timeToReachS(battery(30), 80, 0, 1000)).toBe(Infinity);
    expect(timeToReachS(battery(30), 20, 11, 0)).toBe(Infinity);
    expect(timeToReachS(battery(30, 75, 1), 80, 1, 1000)).toBe(Infinity);
    expect(timeToReachS(battery(30), 101, 11, 0)).toBe(Infinity);
  });

  it("lands on the target when fed back into socAfter", () => {
    fc.assert(
      fc.property(arbBattery, arbFlows, fc.double({ min: 0, max: 100, noNaN: true }), (b, flows, target) => {
        const t = timeToReachS(b, target, flows.chargerKW, flows.drawW);
        fc.pre(Number.isFinite(t));
        expect(t).toBeGreaterThanOrEqual(0);
        expect(socAfter(b, flows, t)).toBeCloseTo(target, 6);
      }),
    );
  });
});

describe("splitDraw", () => {
  it("takes everything from the grid when the charger is larger than the draw", () => {
    expect(splitDraw({ chargerKW: 7.4, drawW: 1000 }, 3600)).toEqual({ gridKWh: 1, batteryKWh: 0 });
  });

  it("takes the shortfall from the battery when the draw is larger than the charger", () => {
    const s = splitDraw({ chargerKW: 0.4, drawW: 1000 }, 3600);
    expect(s.gridKWh).toBeCloseTo(0.4, 12);
    expect(s.batteryKWh).toBeCloseTo(0.6, 12);
  });

  it("applies the charger's efficiency", () => {
    const s = splitDraw({ chargerKW: 1, drawW: 1000 }, 3600, 0.9);
    expect(s.gridKWh).toBeCloseTo(0.9, 12);
    expect(s.batteryKWh).toBeCloseTo(0.1, 12);
  });

  it("is all battery with no charger, and nothing for zero duration", () => {
    expect(splitDraw({ chargerKW: 0, drawW: 72 }, 3600)).toEqual({ gridKWh: 0, batteryKWh: 0.072 });
    expect(splitDraw({ chargerKW: 0.01, drawW: 1000 }, 0)).toEqual({ gridKWh: 0, batteryKWh: 0 });
  });

  it("adds up: grid + battery = power × time, both ≥ 0", () => {
    fc.assert(
      fc.property(arbFlows, fc.integer({ min: 0, max: 48 * 3600 }), fc.double({ min: 0.5, max: 1, noNaN: true }), (flows, durationS, eff) => {
        const { gridKWh, batteryKWh } = splitDraw(flows, durationS, eff);
        expect(gridKWh).toBeGreaterThanOrEqual(0);
        expect(batteryKWh).toBeGreaterThanOrEqual(0);
        const total = (flows.drawW * durationS) / 3.6e6;
        expect(Math.abs(gridKWh + batteryKWh - total)).toBeLessThanOrEqual(1e-12 * Math.max(1, total));
        expect(gridKWh).toBeLessThanOrEqual((flows.chargerKW * eff * durationS) / 3600 + 1e-12);
      }),
    );
  });
});
