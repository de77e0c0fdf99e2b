// Domain arbitraries for the agent's property tests. fast-check prints the seed and path of any
// failure; re-run one with `fc.assert(prop, { seed, path })`.
import fc from "fast-check";
import { createSimulatedTwin, createTwin, type Twin } from "../src/twin";

/** 2026-11-21 00:00 UTC: a fixed start, so that the daily pattern's hours are reproducible. */
export const T0_MS = Date.UTC(2026, 10, 21);

export const arbLimits = fc.record({
  optedIn: fc.boolean(),
  allowedHours: fc.record({
    startHour: fc.integer({ min: 0, max: 24 }),
    endHour: fc.integer({ min: 0, max: 24 }),
  }),
  minDepartureChargePct: fc.double({ min: 0, max: 100, noNaN: true }),
  reservePct: fc.double({ min: 0, max: 100, noNaN: true }),
});

/** A car set by hand: any charge, plugged in or not, parked or driving. */
export const arbManualTwin: fc.Arbitrary<Twin> = fc
  .record({
    socPct: fc.double({ min: 0, max: 100, noNaN: true }),
    batteryKWh: fc.double({ min: 10, max: 200, noNaN: true }),
    chargeEfficiency: fc.double({ min: 0.5, max: 1, noNaN: true }),
    pluggedIn: fc.boolean(),
    chargerKW: fc.constantFrom(0, 2.3, 7.4, 11, 50, 150),
    driving: fc.boolean(),
    hardwareId: fc.constantFrom("fsd-hw3", "drive-orin", "fsd-hw4", "drive-thor", "ai5-class"),
    limits: arbLimits,
  })
  .map(({ driving, ...o }) =>
    createTwin({ nowMs: T0_MS, ...o, state: driving ? "driving" : "parked" }),
  );

/** A simulated car with its seeded daily pattern. */
export const arbSimulatedTwin: fc.Arbitrary<Twin> = fc
  .record({
    seed: fc.integer(),
    startH: fc.integer({ min: 0, max: 47 }),
    socPct: fc.double({ min: 0, max: 100, noNaN: true }),
    limits: arbLimits,
  })
  .map(({ seed, startH, socPct, limits }) =>
    createSimulatedTwin(T0_MS + startH * 3_600_000, seed, { socPct, limits }),
  );

export const arbTwin = fc.oneof(arbManualTwin, arbSimulatedTwin);

/** A step: seconds (up to a day) and a compute draw (up to a 1 kW computer, or more). */
export const arbStep = fc.record({
  dtS: fc.oneof(
    fc.double({ min: 0, max: 120, noNaN: true }),
    fc.double({ min: 0, max: 86_400, noNaN: true }),
  ),
  computeW: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2000, noNaN: true })),
});
