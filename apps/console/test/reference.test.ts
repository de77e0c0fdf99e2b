// The Fleet chart's yardstick at the fleet sizes it must read well at: the demo's 50 cars and
// 100,000 cars stay on their own scale with the datacenter as a share on the right; a fleet that
// reaches half a datacenter gets the datacenter's own line on the scale.
import { HARDWARE } from "@nightshift/core/hardware";
import { describe, expect, it } from "vitest";
import {
  datacenterShare,
  fleetsPerDatacenter,
  powerRangeKW,
  REFERENCE_DATACENTER,
  REFERENCE_KW,
  referenceNote,
  referenceOnScale,
  shareSplitsKW,
} from "~/lib/reference";

/** Available kW of `cars` cars of one computer when a fifth of them are eligible. */
const fleetKW = (cars: number, hardwareId = "fsd-hw4") =>
  (cars * 0.2 * HARDWARE[hardwareId]!.inferencePowerW) / 1000;

describe("the reference datacenter", () => {
  it("is core's Colossus phase 1, the one the planner and the CLI compare with", () => {
    expect(REFERENCE_DATACENTER.powerMW).toBe(150);
    expect(REFERENCE_KW).toBe(150_000);
  });

  it("leaves the scale to the fleet at 50 and at 100,000 cars", () => {
    for (const cars of [50, 100_000]) {
      const kW = fleetKW(cars);
      const [low, top] = powerRangeKW(kW);
      expect(low).toBe(0);
      // The fleet fills the chart: its peak is near the top, never a sliver at the bottom.
      expect(kW / top).toBeGreaterThan(0.9);
      expect(referenceOnScale(top)).toBe(false);
    }
  });

  it("gives the right-hand axis round shares of the datacenter, within the scale", () => {
    // 50 cars: 1.6 kW, about a thousandth of a percent.
    const small = powerRangeKW(fleetKW(50))[1];
    const splits = shareSplitsKW(small);
    expect(splits[0]).toBe(0);
    expect(splits.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...splits)).toBeLessThanOrEqual(small);
    const shares = splits.map(datacenterShare);
    for (const share of shares) {
      // Round: a whole multiple of the step between them.
      const step = shares[1]!;
      expect(Math.abs(share / step - Math.round(share / step))).toBeLessThan(1e-6);
    }
    // 100,000 cars: 3.2 MW, about 2%.
    expect(datacenterShare(fleetKW(100_000))).toBeCloseTo(0.0213, 3);
  });

  it("puts the datacenter's line on the scale once the fleet reaches half of it", () => {
    const half = REFERENCE_KW / 2;
    expect(referenceOnScale(powerRangeKW(half * 0.99)[1])).toBe(false);
    expect(referenceOnScale(powerRangeKW(half)[1])).toBe(true);
    // Beyond the datacenter the fleet sets the scale again.
    expect(powerRangeKW(3 * REFERENCE_KW)[1]).toBeCloseTo(3 * REFERENCE_KW * 1.05, 6);
    expect(powerRangeKW(0)).toEqual([0, 1]);
  });

  it("says how many such fleets make one datacenter", () => {
    expect(fleetsPerDatacenter(1.5)).toBe(100_000);
    expect(fleetsPerDatacenter(0)).toBeNull();
  });

  it("says in words where the fleet stands, at 50 cars, 100,000 and beyond a datacenter", () => {
    // 50 cars: 1.6 kW.
    expect(referenceNote(fleetKW(50))).toMatch(
      /Now 1\.6 kW is 0\.00107% of it: about 94,000 fleets like this one would match it\.$/,
    );
    // 100,000 cars: 3.2 MW.
    expect(referenceNote(fleetKW(100_000))).toMatch(
      /Now 3\.2 MW is 2\.13% of it: about 47 fleets like this one would match it\.$/,
    );
    expect(referenceNote(0.8 * REFERENCE_KW)).toMatch(/Now 120 MW is 80% of it\.$/);
    expect(referenceNote(2.5 * REFERENCE_KW)).toMatch(
      /is 250% of it: 2\.5 times one datacenter\.$/,
    );
    expect(referenceNote(0)).toMatch(/No power is available now\.$/);
    expect(referenceNote(1)).toMatch(/^Regions are stacked.*150 MW AI datacenter \(xAI Colossus/);
  });
});
