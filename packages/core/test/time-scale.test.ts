// Compressed time: world and wall instants map both ways, spans scale, real time is the identity.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REAL_TIME, timeScale, wallS, worldS, worldSpanS } from "../src/time-scale";

const DAY_S = 86_400;

describe("time scale", () => {
  it("is the identity in real time", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4e9, noNaN: true }), (t) => {
        expect(worldS(REAL_TIME, t)).toBe(t);
        expect(wallS(REAL_TIME, t)).toBe(t);
        expect(worldSpanS(REAL_TIME, t)).toBe(t);
      }),
    );
  });

  it("runs a day in 24 minutes at 60×, from the world instant it was given", () => {
    const wall0 = 1_800_000_000;
    const world0 = 1_765_000_000;
    const scale = timeScale(60, wall0, world0);
    expect(worldS(scale, wall0)).toBe(world0);
    expect(worldS(scale, wall0 + 24 * 60)).toBe(world0 + DAY_S);
    expect(wallS(scale, world0 + 3600)).toBe(wall0 + 60);
  });

  it("maps wall spans to world spans the way it maps instants", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }),
        fc.integer({ min: 0, max: 10 * DAY_S }),
        (speedup, wall0, spanS) => {
          const scale = timeScale(speedup, wall0, wall0 - 5 * DAY_S);
          const a = worldS(scale, wall0 + 10);
          const b = worldS(scale, wall0 + 10 + spanS);
          expect(b - a).toBeCloseTo(worldSpanS(scale, spanS), 3);
          expect(wallS(scale, b)).toBeCloseTo(wall0 + 10 + spanS, 3);
        },
      ),
    );
  });

  it("refuses a speedup outside 1 to 3600 and origins that are not finite", () => {
    expect(() => timeScale(0.5, 0)).toThrow(/speedup must be a number from 1 to 3600, got 0.5/);
    expect(() => timeScale(4000, 0)).toThrow(/speedup/);
    expect(() => timeScale(Number.NaN, 0)).toThrow(/speedup/);
    expect(() => timeScale(2, Number.POSITIVE_INFINITY)).toThrow(/origins must be finite/);
  });
});
