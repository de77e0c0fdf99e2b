import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_SCHEDULE_CONFIG } from "../src/schedule/config";
import { planRun } from "../src/schedule/filters";
import {
  carbonScore,
  costScore,
  finishScore,
  localityScore,
  marginalPriceUsdPerKWh,
  normalCdf,
  reputationScore,
  totalScore,
} from "../src/schedule/scores";
import type { Region, Vehicle } from "../src/types";
import { arbNowS, arbRegionSet, arbSchedVehicle, arbWorkItem } from "./arbitraries";
import { car, ctxAt, HOUR_S, REGION, work } from "./fixtures";

// fast-check prints the seed and path of any failure; replay with fc.assert(prop, { seed, path }).

const cfg = DEFAULT_SCHEDULE_CONFIG;
const NIGHT = 3 * HOUR_S; // 0.10 USD/kWh, 100 g/kWh in REGION
const PEAK = 18 * HOUR_S; // 0.50 USD/kWh, 600 g/kWh
const plugged = (over: Partial<Vehicle> = {}) => car({ pluggedIn: true, chargerKW: 7.4, state: "charging", ...over });

describe("costScore", () => {
  it("scores a plugged-in car by the grid price now: cheaper is higher", () => {
    expect(costScore(plugged(), work(), ctxAt(NIGHT))).toBeCloseTo(1 - 0.1 / 0.6, 12);
    expect(costScore(plugged(), work(), ctxAt(PEAK))).toBeCloseTo(1 - 0.5 / 0.6, 12);
  });

  it("scores a car on its battery by the cheapest recharge ahead plus battery wear", () => {
    // The cheapest two hours of the next day are 00–06 at 0.10; wear adds 0.09.
    expect(marginalPriceUsdPerKWh(car(), ctxAt(PEAK))).toBeCloseTo(0.1 + cfg.cost.batteryWearUsdPerKWh, 12);
    expect(costScore(car(), work(), ctxAt(PEAK))).toBeCloseTo(1 - 0.19 / 0.6, 12);
  });

  it("is 0 at or above the ceiling", () => {
    const dear: Region = { ...REGION, tariff: [{ start: 0, end: 24, priceUsdPerKWh: 0.9 }] };
    expect(costScore(plugged(), work(), ctxAt(NIGHT, [dear]))).toBe(0);
  });

  it("follows the clock of a context that moves through time (the simulator reuses one)", () => {
    const ctx = ctxAt(NIGHT);
    const night = costScore(plugged(), work(), ctx);
    const nightCarbon = carbonScore(plugged(), work(), ctx);
    ctx.nowS = PEAK;
    expect(costScore(plugged(), work(), ctx)).toBeCloseTo(1 - 0.5 / 0.6, 12);
    expect(costScore(plugged(), work(), ctx)).toBeLessThan(night);
    expect(carbonScore(plugged(), work(), ctx)).toBeLessThan(nightCarbon);
  });
});

describe("carbonScore", () => {
  it("scores a plugged-in car by the grid's intensity now: cleaner is higher", () => {
    expect(carbonScore(plugged(), work(), ctxAt(NIGHT))).toBeCloseTo(1 - 100 / 800, 12);
    expect(carbonScore(plugged(), work(), ctxAt(PEAK))).toBeCloseTo(1 - 600 / 800, 12);
  });

  it("scores a car on its battery by the intensity of its recharge window", () => {
    expect(carbonScore(car(), work(), ctxAt(PEAK))).toBeCloseTo(1 - 100 / 800, 12);
  });
});

describe("finishScore", () => {
  const T0 = 12 * HOUR_S;
  const ctx = ctxAt(T0);
  // 1000 inferences of 1 s, taken whole.
  const w = work({ divisible: false, inferences: 1000 });

  it("is 1 with no predicted departure", () => {
    expect(finishScore(car(), w, ctx)).toBe(1);
  });

  it("is a step without spread, and P(still parked at the end) with it", () => {
    expect(finishScore(car({ predictedDepartureS: T0 + 2 * HOUR_S }), w, ctx)).toBe(1);
    // Ends 1000 s after now; departure at now + 1000 + z·σ leaves slack of z spreads (and the
    // run still fits inside margin + departureZ·σ).
    const sigma = 3600;
    const at = (z: number) => car({ predictedDepartureS: T0 + 1000 + z * sigma, departureUncertaintyS: sigma });
    expect(finishScore(at(2), w, ctx)).toBeCloseTo(0.97725, 4);
    expect(finishScore(at(3), w, ctx)).toBeCloseTo(0.99865, 4);
  });

  it("is higher for a later departure", () => {
    const at = (h: number) => car({ predictedDepartureS: T0 + h * HOUR_S, departureUncertaintyS: 1800 });
    const scores = [1, 1.5, 2, 4, 8].map((h) => finishScore(at(h), w, ctx));
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThan(scores[i - 1] as number);
  });
});

describe("reputationScore", () => {
  const rep = (validResults: number, invalidResults: number) =>
    reputationScore(car({ reputation: { validResults, invalidResults, consecutiveValid: 0, quarantined: false } }), work(), ctxAt(0));

  it("starts a new car at 0.5 and rises with valid results, falls with invalid ones", () => {
    expect(rep(0, 0)).toBe(0.5);
    expect(rep(8, 0)).toBeCloseTo(0.9, 12);
    expect(rep(10, 0)).toBeGreaterThan(rep(9, 0));
    expect(rep(10, 1)).toBeLessThan(rep(10, 0));
  });
});

describe("localityScore", () => {
  it("is 1 where the data lives or when it lives anywhere, else 0", () => {
    expect(localityScore(car(), work({ dataRegionId: null }), ctxAt(0))).toBe(1);
    expect(localityScore(car(), work({ dataRegionId: "r-west" }), ctxAt(0))).toBe(1);
    expect(localityScore(car(), work({ dataRegionId: "r-east" }), ctxAt(0))).toBe(0);
  });
});

describe("totalScore", () => {
  it("is the weighted sum of the scores", () => {
    const ctx = ctxAt(NIGHT);
    const v = plugged({ predictedDepartureS: NIGHT + 4 * HOUR_S, departureUncertaintyS: 900 });
    const w = work({ dataRegionId: "r-east" });
    const wt = cfg.weights;
    const sum =
      wt.cost * costScore(v, w, ctx) +
      wt.carbon * carbonScore(v, w, ctx) +
      wt.finish * finishScore(v, w, ctx) +
      wt.reputation * reputationScore(v, w, ctx) +
      wt.locality * localityScore(v, w, ctx);
    expect(totalScore(v, w, ctx)).toBeCloseTo(sum, 12);
    expect(localityScore(v, w, ctx)).toBe(0);
  });
});

describe("normalCdf", () => {
  it("matches known values", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.96)).toBeCloseTo(0.975, 4);
    expect(normalCdf(1)).toBeCloseTo(0.841345, 6);
    expect(normalCdf(cfg.departureZ)).toBeCloseTo(0.9, 4);
    expect(normalCdf(-8)).toBeLessThan(1e-7);
    expect(normalCdf(8)).toBeGreaterThan(1 - 1e-7);
  });

  it("is symmetric and increasing", () => {
    fc.assert(
      fc.property(fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true }), (z, dz) => {
        expect(normalCdf(-z)).toBeCloseTo(1 - normalCdf(z), 7);
        expect(normalCdf(z + dz)).toBeGreaterThanOrEqual(normalCdf(z) - 1e-7);
      }),
    );
  });
});

// ---- properties ----

const arbScene = fc.record({ regions: arbRegionSet, v: arbSchedVehicle, w: arbWorkItem(), nowS: arbNowS });
const scale = (r: Region, price: number, carbon: number): Region => ({
  ...r,
  tariff: r.tariff.map((t) => ({ ...t, priceUsdPerKWh: t.priceUsdPerKWh * price })),
  carbonGPerKWh: r.carbonGPerKWh.map((g) => g * carbon),
});

describe("scores: properties", () => {
  it("every score lies in [0, 1], and so does the total", () => {
    fc.assert(
      fc.property(arbScene, ({ regions, v, w, nowS }) => {
        const ctx = ctxAt(nowS, regions);
        for (const s of [costScore, carbonScore, finishScore, reputationScore, localityScore, totalScore]) {
          const x = s(v, w, ctx);
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(1 + 1e-12);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a cheaper grid scores higher", () => {
    fc.assert(
      fc.property(arbScene, fc.double({ min: 0, max: 1, noNaN: true }), ({ regions, v, w, nowS }, factor) => {
        const base = ctxAt(nowS, regions);
        const cheaper = ctxAt(nowS, regions.map((r) => scale(r, factor, 1)));
        expect(costScore(v, w, cheaper)).toBeGreaterThanOrEqual(costScore(v, w, base) - 1e-12);
        // Strictly for a plugged-in car, whose price is the grid's now, below the ceiling.
        const price = marginalPriceUsdPerKWh(v, base);
        if (v.pluggedIn && factor < 0.99 && price > 0.01 && price < cfg.costCeilingUsdPerKWh) {
          expect(costScore(v, w, cheaper)).toBeGreaterThan(costScore(v, w, base));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a cleaner grid scores higher", () => {
    // Prices stay as they are: the recharge window is chosen by price, its carbon follows.
    fc.assert(
      fc.property(arbScene, fc.double({ min: 0, max: 1, noNaN: true }), ({ regions, v, w, nowS }, factor) => {
        const base = ctxAt(nowS, regions);
        const cleaner = ctxAt(nowS, regions.map((r) => scale(r, 1, factor)));
        expect(carbonScore(v, w, cleaner)).toBeGreaterThanOrEqual(carbonScore(v, w, base) - 1e-12);
        if (factor < 0.99 && carbonScore(v, w, base) < 1) {
          expect(carbonScore(v, w, cleaner)).toBeGreaterThan(carbonScore(v, w, base));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("more valid results score higher, more invalid ones lower", () => {
    fc.assert(
      fc.property(arbScene, fc.integer({ min: 1, max: 50 }), ({ regions, v, w, nowS }, k) => {
        const ctx = ctxAt(nowS, regions);
        const r = v.reputation;
        const more = { ...v, reputation: { ...r, validResults: r.validResults + k } };
        const worse = { ...v, reputation: { ...r, invalidResults: r.invalidResults + k } };
        expect(reputationScore(more, w, ctx)).toBeGreaterThan(reputationScore(v, w, ctx));
        expect(reputationScore(worse, w, ctx)).toBeLessThan(reputationScore(v, w, ctx));
      }),
      { numRuns: 200 },
    );
  });

  it("local work scores higher than remote work", () => {
    fc.assert(
      fc.property(arbScene, ({ regions, v, w, nowS }) => {
        const ctx = ctxAt(nowS, regions);
        const local = totalScore(v, { ...w, dataRegionId: v.regionId }, ctx);
        const remote = totalScore(v, { ...w, dataRegionId: regions.find((r) => r.id !== v.regionId)?.id ?? null }, ctx);
        expect(local).toBeGreaterThan(remote);
      }),
      { numRuns: 200 },
    );
  });

  it("a later departure scores at least as high for the same run", () => {
    fc.assert(
      fc.property(arbScene, fc.integer({ min: 1, max: 12 * HOUR_S }), ({ regions, v, w, nowS }, laterS) => {
        const ctx = ctxAt(nowS, regions);
        const early = { ...v, predictedDepartureS: nowS + 3 * HOUR_S };
        const late = { ...early, predictedDepartureS: nowS + 3 * HOUR_S + laterS };
        const n = planRun(early, w, ctx);
        // Only cars that can run the work are scored; with a longer run the risk is another one.
        if (n === 0 || planRun(late, w, ctx) !== n) return;
        expect(finishScore(late, w, ctx)).toBeGreaterThanOrEqual(finishScore(early, w, ctx));
        if (early.departureUncertaintyS > 0) {
          const slackS = (early.predictedDepartureS as number) - nowS;
          if (slackS < 3 * early.departureUncertaintyS) {
            expect(finishScore(late, w, ctx)).toBeGreaterThan(finishScore(early, w, ctx));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
