import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_COST_CONFIG,
  DEFAULT_HOME_CHARGER_KW,
  ownerPayoutUsd,
  workCost,
} from "../src/energy";
import { HARDWARE } from "../src/hardware";
import { bestWindow, meanOver } from "../src/tariff";
import type { HardwareProfile, Region, Vehicle } from "../src/types";
import { DAY_S, arbAnyRegion, arbVehicle, arbWork } from "./arbitraries";
import { fixedZone, THREE_RATE_TARIFF } from "./fixtures";

const H = 3600;
const hw = (id: string) => HARDWARE[id] as HardwareProfile;

/** THREE_RATE_TARIFF in UTC. */
const home: Region = {
  id: "home",
  name: "home",
  ...fixedZone(0),
  tariff: THREE_RATE_TARIFF,
  carbonGPerKWh: Array.from({ length: 24 }, (_, h) => (h < 6 ? 200 : 400)),
};

const car = (overrides: Partial<Vehicle> = {}): Vehicle => ({
  id: "v1",
  ownerId: "o1",
  regionId: "home",
  hardware: hw("ai5-class"),
  state: "parked",
  pluggedIn: true,
  chargerKW: 7.4,
  battery: { capacityKWh: 75, socPct: 60, chargeEfficiency: 0.9 },
  policy: {
    optedIn: true,
    allowedHours: { startHour: 0, endHour: 24 },
    minDepartureChargePct: 80,
    reservePct: 20,
  },
  predictedDepartureS: 31 * H, // 07:00 the next morning
  departureUncertaintyS: 600,
  reputation: { validResults: 0, invalidResults: 0, consecutiveValid: 0, quarantined: false },
  lastHeardS: null,
  batteryTempC: null,
  ...overrides,
});

const config = DEFAULT_COST_CONFIG;

describe("DEFAULT_COST_CONFIG", () => {
  it("holds the documented assumptions", () => {
    expect(config.batteryWearUsdPerKWh).toBeCloseTo(130 / 1500, 2);
    expect(config.computeUsdPerPetaOp).toBe(0.0001);
    expect(config.recoveryHorizonS).toBe(DAY_S);
  });
});

describe("workCost", () => {
  it("prices a plugged-in car's work at the grid tariff of its hours, with charger losses", () => {
    // 1 kW for 2 h from 21:00: 1 h at 0.30 and 1 h at 0.20; the charger (6.66 kW) covers it.
    const c = workCost(car(), home, { startS: 21 * H, durationS: 2 * H, teraOps: 0 }, config);
    expect(c.energyKWh).toBeCloseTo(2, 12);
    expect(c.gridEnergyKWh).toBeCloseTo(2, 12);
    expect(c.batteryEnergyKWh).toBe(0);
    expect(c.wallEnergyKWh).toBeCloseTo(2 / 0.9, 12);
    expect(c.costUsd).toBeCloseTo((2 / 0.9) * 0.25, 12);
    expect(c.priceUsdPerKWh).toBeCloseTo(0.25 / 0.9, 12);
    expect(c.carbonG).toBeCloseTo((2 / 0.9) * 400, 9);
    expect(c.recoveryWindow).toBeNull();
    expect(c.wearCostUsd).toBe(0);
  });

  it("prices a car that is not plugged in at the cheapest recharge before departure, plus wear", () => {
    // HW3, 72 W for 10 h from 12:00 → 0.72 kWh from the battery; recharge (0.72 / 6.66 kW ≈ 6.5 min)
    // fits in the 00:00–06:00 off-peak before the 07:00 departure.
    const v = car({ hardware: hw("fsd-hw3"), pluggedIn: false });
    const c = workCost(v, home, { startS: 12 * H, durationS: 10 * H, teraOps: 0 }, config);
    expect(c.gridEnergyKWh).toBe(0);
    expect(c.batteryEnergyKWh).toBeCloseTo(0.72, 12);
    expect(c.recoveryWindow?.startS).toBe(24 * H);
    expect(c.recoveryWindow?.endS).toBeCloseTo(24 * H + (0.72 / (7.4 * 0.9)) * H, 6);
    expect(c.rechargeCostUsd).toBeCloseTo((0.72 / 0.9) * 0.1, 12);
    expect(c.wearCostUsd).toBeCloseTo(0.72 * config.batteryWearUsdPerKWh, 12);
    expect(c.costUsd).toBe(c.gridCostUsd + c.rechargeCostUsd + c.wearCostUsd);
    expect(c.carbonG).toBeCloseTo((0.72 / 0.9) * 200, 9);
  });

  it("takes from the battery what a charger smaller than the draw cannot give", () => {
    // 1 kW draw, 1 kW × 0.9 charger → 0.9 kWh/h from the grid, 0.1 kWh/h from the battery.
    const v = car({ chargerKW: 1 });
    const c = workCost(v, home, { startS: 20 * H, durationS: H, teraOps: 0 }, config);
    expect(c.gridEnergyKWh).toBeCloseTo(0.9, 12);
    expect(c.batteryEnergyKWh).toBeCloseTo(0.1, 12);
    expect(c.gridCostUsd).toBeCloseTo(1 * 0.3, 12); // 0.9 kWh at the car = 1 kWh at the wall
    // Recharging 0.1 kWh at this car's own 1 kW charger takes ~6.7 min: in the 00:00 off-peak.
    expect(c.recoveryWindow?.startS).toBe(24 * H);
    expect(c.recoveryWindow?.endS).toBeCloseTo(24 * H + (0.1 / 0.9) * H, 6);
    expect(c.rechargeCostUsd).toBeCloseTo((0.1 / 0.9) * 0.1, 12);
  });

  it("prices work of a car at its reserve on the grid alone when the charger covers the draw", () => {
    const v = car({ battery: { capacityKWh: 75, socPct: 20, chargeEfficiency: 0.9 } });
    const c = workCost(v, home, { startS: 2 * H, durationS: H, teraOps: 0 }, config);
    expect(c.batteryEnergyKWh).toBe(0);
    expect(c.costUsd).toBeCloseTo((1 / 0.9) * 0.1, 12);
  });

  it("looks a recovery horizon ahead when no departure is predicted", () => {
    const v = car({ pluggedIn: false, predictedDepartureS: null });
    const c = workCost(v, home, { startS: 8 * H, durationS: H, teraOps: 0 }, config);
    expect(c.recoveryWindow?.startS).toBe(24 * H);
    const short = workCost(v, home, { startS: 8 * H, durationS: H, teraOps: 0 }, {
      ...config,
      recoveryHorizonS: 10 * H,
    });
    // Within 09:00–19:00 everything costs 0.30: the earliest window.
    expect(short.recoveryWindow?.startS).toBe(9 * H);
    expect(short.rechargeCostUsd).toBeCloseTo((1 / 0.9) * 0.3, 12);
  });

  it("falls back to the horizon when the recharge does not fit before departure", () => {
    // Departure 1 min after the work ends: no room; the horizon finds the off-peak.
    const v = car({ pluggedIn: false, predictedDepartureS: 9 * H + 60 });
    const c = workCost(v, home, { startS: 8 * H, durationS: H, teraOps: 0 }, config);
    expect(c.recoveryWindow?.startS).toBe(24 * H);
  });

  it("uses a 7.4 kW home charger for a car with none", () => {
    const v = car({ pluggedIn: false, chargerKW: 0 });
    const c = workCost(v, home, { startS: 8 * H, durationS: H, teraOps: 0 }, config);
    const w = c.recoveryWindow;
    expect(w).not.toBeNull();
    expect((w?.endS ?? 0) - (w?.startS ?? 0)).toBeCloseTo((1 / (DEFAULT_HOME_CHARGER_KW * 0.9)) * H, 6);
  });

  it("recharges straight after the work when even the horizon is too short", () => {
    const v = car({ pluggedIn: false, predictedDepartureS: null });
    const c = workCost(v, home, { startS: 8 * H, durationS: H, teraOps: 0 }, {
      ...config,
      recoveryHorizonS: 60,
    });
    expect(c.recoveryWindow?.startS).toBe(9 * H);
    expect(c.rechargeCostUsd).toBeCloseTo((1 / 0.9) * 0.3, 12);
  });

  it("costs nothing for zero duration", () => {
    const c = workCost(car({ pluggedIn: false }), home, { startS: 0, durationS: 0, teraOps: 0 }, config);
    expect(c).toMatchObject({
      energyKWh: 0,
      gridEnergyKWh: 0,
      batteryEnergyKWh: 0,
      costUsd: 0,
      carbonG: 0,
      priceUsdPerKWh: 0,
      ownerPayoutUsd: 0,
      recoveryWindow: null,
    });
  });

  it("pays the owner the energy plus the compute", () => {
    // 1e6 TeraOp = 1,000 PetaOp at $0.0001 = $0.10.
    const c = workCost(car(), home, { startS: 2 * H, durationS: H, teraOps: 1e6 }, config);
    expect(c.computeUsd).toBeCloseTo(0.1, 12);
    expect(c.ownerPayoutUsd).toBeCloseTo(c.costUsd + 0.1, 12);
  });

  it("refuses negative durations and work, and a zero charge efficiency", () => {
    const work = { startS: 0, durationS: H, teraOps: 0 };
    expect(() => workCost(car(), home, { ...work, durationS: -1 }, config)).toThrow(RangeError);
    expect(() => workCost(car(), home, { ...work, teraOps: -1 }, config)).toThrow(RangeError);
    const bad = car({ battery: { capacityKWh: 75, socPct: 50, chargeEfficiency: 0 } });
    expect(() => workCost(bad, home, work, config)).toThrow(/chargeEfficiency/);
  });

  it("adds up, for any car, region and work", () => {
    fc.assert(
      fc.property(arbVehicle(), arbAnyRegion, arbWork, (v, region, work) => {
        const c = workCost(v, region, work, config);
        const eff = v.battery.chargeEfficiency;
        const expectedKWh = (v.hardware.inferencePowerW * work.durationS) / 3.6e6;

        // Task energy = power × time, and every kWh comes from exactly one source.
        expect(Math.abs(c.energyKWh - expectedKWh)).toBeLessThanOrEqual(1e-12 * Math.max(1, expectedKWh));
        expect(c.gridEnergyKWh + c.batteryEnergyKWh).toBe(c.energyKWh);
        expect(c.gridEnergyKWh).toBeGreaterThanOrEqual(0);
        expect(c.batteryEnergyKWh).toBeGreaterThanOrEqual(0);
        const chargerKW = v.pluggedIn ? v.chargerKW : 0;
        expect(c.gridEnergyKWh).toBeLessThanOrEqual((chargerKW * eff * work.durationS) / H + 1e-12);
        if (chargerKW * eff * 1000 >= v.hardware.inferencePowerW) expect(c.batteryEnergyKWh).toBe(0);

        // Money: the parts sum to the whole; the payout is the cost plus the compute.
        expect(c.costUsd).toBe(c.gridCostUsd + c.rechargeCostUsd + c.wearCostUsd);
        expect(c.ownerPayoutUsd).toBe(c.costUsd + c.computeUsd);
        expect(c.computeUsd).toBeCloseTo((config.computeUsdPerPetaOp * work.teraOps) / 1000, 12);
        expect(c.wearCostUsd).toBeCloseTo(c.batteryEnergyKWh * config.batteryWearUsdPerKWh, 12);

        // Every wall kWh is bought within the tariff's range; carbon within the intensities'.
        const prices = region.tariff.map((r) => r.priceUsdPerKWh);
        const wallKWh = c.energyKWh / eff;
        const slack = 1e-9 * Math.max(1, c.costUsd);
        expect(c.gridCostUsd + c.rechargeCostUsd).toBeGreaterThanOrEqual(wallKWh * Math.min(...prices) - slack);
        expect(c.gridCostUsd + c.rechargeCostUsd).toBeLessThanOrEqual(wallKWh * Math.max(...prices) + slack);
        expect(c.carbonG).toBeGreaterThanOrEqual(wallKWh * Math.min(...region.carbonGPerKWh) - 1e-9 * Math.max(1, c.carbonG));
        expect(c.carbonG).toBeLessThanOrEqual(wallKWh * Math.max(...region.carbonGPerKWh) + 1e-9 * Math.max(1, c.carbonG));
        if (c.energyKWh > 0) expect(c.priceUsdPerKWh * c.energyKWh).toBeCloseTo(c.costUsd, 12);

        // Grid energy is priced at the time-weighted tariff of the work's own hours.
        const endS = work.startS + work.durationS;
        if (c.gridEnergyKWh > 0) {
          expect(c.gridCostUsd).toBeCloseTo((c.gridEnergyKWh / eff) * meanOver(region, work.startS, endS, "price"), 12);
        }
      }),
    );
  });

  it("recharges no later than it must and no dearer than straight after the work", () => {
    fc.assert(
      fc.property(arbVehicle({ pluggedIn: false }), arbAnyRegion, arbWork, (v, region, work) => {
        const c = workCost(v, region, work, config);
        const w = c.recoveryWindow;
        fc.pre(w !== null);
        if (w === null) return;
        const endS = work.startS + work.durationS;
        expect(w.startS).toBeGreaterThanOrEqual(endS);
        const dep = v.predictedDepartureS;
        const fitsBeforeDeparture =
          dep !== null && dep > endS && bestWindow(region, { fromS: endS, deadlineS: dep, durationS: w.endS - w.startS, by: "price" }) !== null;
        const deadline = fitsBeforeDeparture && dep !== null ? dep : endS + config.recoveryHorizonS;
        expect(w.endS).toBeLessThanOrEqual(deadline + 1e-6);
        const straightAway = meanOver(region, endS, endS + (w.endS - w.startS), "price");
        expect(w.meanPriceUsdPerKWh).toBeLessThanOrEqual(straightAway + 1e-12);
      }),
    );
  });
});

describe("ownerPayoutUsd", () => {
  it("pays only validated work", () => {
    const c = workCost(car(), home, { startS: 0, durationS: H, teraOps: 5e5 }, config);
    expect(c.ownerPayoutUsd).toBeGreaterThan(0);
    expect(ownerPayoutUsd(c, true)).toBe(c.ownerPayoutUsd);
    expect(ownerPayoutUsd(c, false)).toBe(0);
  });
});
