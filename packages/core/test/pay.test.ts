import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_COST_CONFIG, workCost } from "../src/energy";
import { estimatedRunS, HARDWARE } from "../src/hardware";
import {
  paidChargeEfficiency,
  paidDurationS,
  payableVehicle,
  PAY_CHARGE_EFFICIENCY_FLOOR,
  PLAUSIBLE_CHARGE_EFFICIENCY,
} from "../src/pay";
import { DEFAULT_SCHEDULE_CONFIG } from "../src/schedule/config";
import { inferenceS } from "../src/schedule/filters";
import type { HardwareProfile, Region } from "../src/types";
import {
  arbAnyRegion,
  arbClaimedFigure,
  arbHardware,
  arbModel,
  arbVehicle,
  arbWorkItem,
} from "./arbitraries";
import { fixedZone } from "./fixtures";

const H = 3600;
const SHARE = DEFAULT_SCHEDULE_CONFIG.sustainedTopsShare;
const config = DEFAULT_COST_CONFIG;

/** A flat tariff in UTC. */
const region0: Region = {
  id: "r-west",
  name: "region",
  ...fixedZone(0),
  tariff: [{ start: 0, end: 24, priceUsdPerKWh: 0.2 }],
  carbonGPerKWh: Array.from({ length: 24 }, () => 300),
};

/** A span as the server measures one: finite and non-negative, from 0 to a day. */
const arbSpanS = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 24 * H, noNaN: true }));

describe("estimatedRunS", () => {
  it("is the scheduler's own estimate of one inference on the car", () => {
    fc.assert(
      fc.property(arbVehicle(), arbWorkItem(), fc.integer({ min: 0, max: 1e6 }), (v, w, nowS) => {
        const ctx = { nowS, regions: new Map<string, Region>(), config: DEFAULT_SCHEDULE_CONFIG };
        expect(estimatedRunS(v.hardware, w.model.teraOpsPerInference, SHARE)).toBe(
          inferenceS(v, w, ctx),
        );
      }),
    );
  });

  it("takes 1 s for a second of the hardware's sustained tera-operations", () => {
    const hw4 = HARDWARE["fsd-hw4"] as HardwareProfile;
    expect(estimatedRunS(hw4, hw4.peakTops * SHARE, SHARE)).toBeCloseTo(1, 12);
  });
});

describe("paidDurationS", () => {
  it("never pays for longer than the claim, the lease or the estimate, whatever the car claims", () => {
    fc.assert(
      fc.property(
        arbClaimedFigure(arbSpanS),
        arbSpanS,
        arbSpanS,
        (claimedS, leaseSpanS, estimateS) => {
          const paid = paidDurationS({ claimedS, leaseSpanS, estimateS });
          expect(Number.isFinite(paid)).toBe(true);
          expect(paid).toBeGreaterThanOrEqual(0);
          expect(paid).toBeLessThanOrEqual(leaseSpanS);
          expect(paid).toBeLessThanOrEqual(estimateS);
          if (claimedS >= 0) expect(paid).toBeLessThanOrEqual(claimedS);
          // A plausible claim below both bounds is taken at its word: it lowers the pay.
          if (claimedS > 0 && claimedS <= Math.min(leaseSpanS, estimateS))
            expect(paid).toBe(claimedS);
        },
      ),
    );
  });

  it("pays a claim of a day for the estimate, not the day", () => {
    expect(paidDurationS({ claimedS: 24 * H, leaseSpanS: 24 * H, estimateS: 0.02 })).toBe(0.02);
  });

  it("pays nothing for a claim that is not a duration", () => {
    for (const claimedS of [NaN, -1, -Infinity])
      expect(paidDurationS({ claimedS, leaseSpanS: 10, estimateS: 1 })).toBe(0);
  });
});

describe("paidChargeEfficiency", () => {
  it("is never below the floor nor above 1, and takes any higher claim at its word", () => {
    fc.assert(
      fc.property(arbClaimedFigure(fc.double({ min: 0.5, max: 1, noNaN: true })), (claimed) => {
        const paid = paidChargeEfficiency(claimed);
        expect(paid).toBeGreaterThanOrEqual(PAY_CHARGE_EFFICIENCY_FLOOR);
        expect(paid).toBeLessThanOrEqual(1);
        if (claimed >= PAY_CHARGE_EFFICIENCY_FLOOR && claimed <= 1) expect(paid).toBe(claimed);
      }),
    );
  });

  it("lies inside the range a car may enroll with", () => {
    expect(PAY_CHARGE_EFFICIENCY_FLOOR).toBeGreaterThanOrEqual(PLAUSIBLE_CHARGE_EFFICIENCY.min);
    expect(PAY_CHARGE_EFFICIENCY_FLOOR).toBeLessThanOrEqual(PLAUSIBLE_CHARGE_EFFICIENCY.max);
  });
});

describe("pay for a run, from what the server knows", () => {
  it("never exceeds the estimate's energy at the floor efficiency and the dearest rate, whatever the car claims", () => {
    fc.assert(
      fc.property(
        arbVehicle(),
        arbAnyRegion,
        arbClaimedFigure(fc.double({ min: 0.5, max: 1, noNaN: true })),
        arbClaimedFigure(arbSpanS),
        arbSpanS,
        arbModel,
        fc.integer({ min: 0, max: 2 * 24 * 60 }).map((m) => m * 60),
        (v, region, claimedEfficiency, claimedS, leaseSpanS, model, endS) => {
          const car = { ...v, battery: { ...v.battery, chargeEfficiency: claimedEfficiency } };
          const teraOps = model.teraOpsPerInference;
          const estimateS = estimatedRunS(car.hardware, teraOps, SHARE);
          const durationS = paidDurationS({ claimedS, leaseSpanS, estimateS });
          // Never a RangeError from a car's figure: the bounded ones are always valid.
          const c = workCost(
            payableVehicle(car),
            region,
            { startS: endS - durationS, durationS, teraOps },
            config,
          );
          const ceilingKWh = (car.hardware.inferencePowerW * estimateS) / 3.6e6;
          const dearest = Math.max(...region.tariff.map((r) => r.priceUsdPerKWh));
          const ceilingUsd =
            (ceilingKWh / PAY_CHARGE_EFFICIENCY_FLOOR) * dearest +
            ceilingKWh * config.batteryWearUsdPerKWh +
            c.computeUsd;
          const slack = 1e-9 * Math.max(1e-12, ceilingUsd);
          expect(c.energyKWh).toBeLessThanOrEqual(ceilingKWh * (1 + 1e-12));
          expect(c.wallEnergyKWh).toBeLessThanOrEqual(
            (ceilingKWh / PAY_CHARGE_EFFICIENCY_FLOOR) * (1 + 1e-12),
          );
          expect(Number.isFinite(c.ownerPayoutUsd)).toBe(true);
          expect(c.ownerPayoutUsd).toBeLessThanOrEqual(ceilingUsd + slack);
        },
      ),
    );
  });

  it("pays a car that enrolled with an absurd efficiency as one at the floor", () => {
    fc.assert(
      fc.property(arbVehicle({ pluggedIn: false }), arbHardware, (v, hardware) => {
        const at = (chargeEfficiency: number) =>
          payableVehicle({ ...v, hardware, battery: { ...v.battery, chargeEfficiency } });
        const work = { startS: 0, durationS: 1, teraOps: 1 };
        const floor = workCost(at(PAY_CHARGE_EFFICIENCY_FLOOR), region0, work, config);
        for (const claimed of [1e-300, 5e-324, 0, -1, NaN])
          expect(workCost(at(claimed), region0, work, config)).toEqual(floor);
      }),
      { numRuns: 20 },
    );
  });
});
