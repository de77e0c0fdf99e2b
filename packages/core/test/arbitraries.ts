// Domain arbitraries for property tests, kept in one place so every test draws cars, regions and
// tenants the same way. fast-check prints the seed and path of any failure; re-run a failure with
// `fc.assert(prop, { seed, path })`.
import fc from "fast-check";
import { HARDWARE } from "../src/hardware";
import type { Region, Tenant, TariffRate, Vehicle } from "../src/types";

export const DAY_S = 86_400;

/** A whole-hour tariff covering 24 local hours in 1..6 contiguous rates, possibly wrapping midnight. */
export const arbTariff: fc.Arbitrary<TariffRate[]> = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 1, max: 23 }), { minLength: 0, maxLength: 5 }),
    fc.integer({ min: 0, max: 23 }),
    fc.array(fc.double({ min: 0.01, max: 0.8, noNaN: true }), { minLength: 6, maxLength: 6 }),
  )
  .map(([cuts, shift, prices]) => {
    const bounds = [0, ...cuts.sort((a, b) => a - b), 24];
    return bounds.slice(0, -1).map((start, i) => ({
      start: (start + shift) % 24,
      end: ((bounds[i + 1] as number) + shift) % 24,
      priceUsdPerKWh: prices[i] as number,
    }));
  });

export const arbRegion: fc.Arbitrary<Region> = fc.record({
  id: fc.constantFrom("r-west", "r-east", "r-north"),
  name: fc.constant("region"),
  utcOffsetH: fc.integer({ min: -8, max: 9 }),
  tariff: arbTariff,
  carbonGPerKWh: fc.array(fc.double({ min: 20, max: 900, noNaN: true }), {
    minLength: 24,
    maxLength: 24,
  }),
});

export const arbHardware = fc.constantFrom(
  ...Object.values(HARDWARE).filter((h) => h.id !== "h100-sxm"),
);

export const arbVehicle = (overrides: Partial<Vehicle> = {}): fc.Arbitrary<Vehicle> =>
  fc
    .record({
      id: fc.uuid(),
      ownerId: fc.constantFrom("o1", "o2", "o3", "o4", "o5", "o6"),
      regionId: fc.constantFrom("r-west", "r-east", "r-north"),
      hardware: arbHardware,
      state: fc.constantFrom("driving", "parked", "charging") as fc.Arbitrary<Vehicle["state"]>,
      pluggedIn: fc.boolean(),
      chargerKW: fc.constantFrom(0, 3.7, 7.4, 11),
      battery: fc.record({
        capacityKWh: fc.double({ min: 40, max: 110, noNaN: true }),
        socPct: fc.double({ min: 0, max: 100, noNaN: true }),
        chargeEfficiency: fc.double({ min: 0.85, max: 0.95, noNaN: true }),
      }),
      policy: fc.record({
        optedIn: fc.boolean(),
        allowedHours: fc.record({
          startHour: fc.integer({ min: 0, max: 23 }),
          endHour: fc.integer({ min: 0, max: 24 }),
        }),
        minDepartureChargePct: fc.double({ min: 20, max: 90, noNaN: true }),
        reservePct: fc.double({ min: 10, max: 50, noNaN: true }),
      }),
      predictedDepartureS: fc.option(fc.integer({ min: 0, max: 2 * DAY_S }), { nil: null }),
      departureUncertaintyS: fc.integer({ min: 0, max: 3600 }),
      reputation: fc.record({
        validResults: fc.nat(1000),
        invalidResults: fc.nat(20),
        consecutiveValid: fc.nat(100),
        quarantined: fc.boolean(),
      }),
    })
    .map((v) => ({
      ...v,
      // A car that is charging is plugged in; keep the record consistent.
      pluggedIn: v.state === "charging" ? true : v.state === "driving" ? false : v.pluggedIn,
      ...overrides,
    }));

export const arbTenant: fc.Arbitrary<Tenant> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 6 }),
  name: fc.constant("tenant"),
  quotaShare: fc.double({ min: 0, max: 1, noNaN: true }),
  weight: fc.double({ min: 0.1, max: 10, noNaN: true }),
  borrowingLimitShare: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
  lendingLimitShare: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
  paused: fc.constant(false),
});

// ---- energy arbitraries (energy helper) ----

// ---- verification arbitraries (verification helper) ----

// ---- tenant arbitraries (tenants helper) ----
