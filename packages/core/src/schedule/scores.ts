// Scores: who should run this work. Each score is a small named function in [0, 1], higher is
// better; `totalScore` is their weighted sum. Scores rank cars that already passed every filter.
import { bestWindow, carbonAt, priceAt } from "../tariff";
import type { Vehicle, WorkItem } from "../types";
import { regionOf, type ScheduleContext } from "./config";
import { fitRun, inferenceS } from "./filters";

export type Score = (v: Vehicle, w: WorkItem, ctx: ScheduleContext) => number;

/** Cheaper energy scores higher: the grid price when plugged in, else recharge price plus wear. */
export const costScore: Score = (v, _w, ctx) =>
  1 - clamp01(marginalPriceUsdPerKWh(v, ctx) / ctx.config.costCeilingUsdPerKWh);

/** Cleaner energy scores higher: the grid's intensity now, or that of the recharge window. */
export const carbonScore: Score = (v, _w, ctx) => {
  const prices = regionNow(ctx, v.regionId);
  const carbon = v.pluggedIn ? prices.carbonGPerKWh : prices.rechargeCarbonGPerKWh;
  return 1 - clamp01(carbon / ctx.config.carbonCeilingGPerKWh);
};

/** Probability that the car is still parked when the run ends, under a normal departure error. */
export const finishScore: Score = (v, w, ctx) => {
  if (v.predictedDepartureS === null) return 1;
  const runS = fitRun(v, w, ctx) * inferenceS(v, w, ctx);
  const slackS = v.predictedDepartureS - (ctx.nowS + runS);
  if (v.departureUncertaintyS <= 0) return slackS >= 0 ? 1 : 0;
  return normalCdf(slackS / v.departureUncertaintyS);
};

/** Laplace-smoothed share of valid results: a new car starts at 0.5. */
export const reputationScore: Score = (v) => {
  const { validResults, invalidResults } = v.reputation;
  return (validResults + 1) / (validResults + invalidResults + 2);
};

/** Work whose input lives in the car's region avoids moving data across grid zones. */
export const localityScore: Score = (v, w) =>
  w.dataRegionId === null || w.dataRegionId === v.regionId ? 1 : 0;

export function totalScore(v: Vehicle, w: WorkItem, ctx: ScheduleContext): number {
  const wt = ctx.config.weights;
  return (
    wt.cost * costScore(v, w, ctx) +
    wt.carbon * carbonScore(v, w, ctx) +
    wt.finish * finishScore(v, w, ctx) +
    wt.reputation * reputationScore(v, w, ctx) +
    wt.locality * localityScore(v, w, ctx)
  );
}

export function marginalPriceUsdPerKWh(v: Vehicle, ctx: ScheduleContext): number {
  const prices = regionNow(ctx, v.regionId);
  return v.pluggedIn
    ? prices.priceUsdPerKWh
    : prices.rechargePriceUsdPerKWh + ctx.config.cost.batteryWearUsdPerKWh;
}

// ---- per-region figures at ctx.nowS ----

interface RegionNow {
  priceUsdPerKWh: number;
  carbonGPerKWh: number;
  /** The cheapest two-hour window of the next day: where stored energy is put back. */
  rechargePriceUsdPerKWh: number;
  rechargeCarbonGPerKWh: number;
}

const RECHARGE_WINDOW_S = 2 * 3600;
const RECHARGE_HORIZON_S = 24 * 3600;
/**
 * The recharge window moves slowly with time, so it is cached per region for a few minutes;
 * the price and carbon of the moment are read live. The simulator moves one context through
 * time, so the cache follows ctx.nowS rather than the context alone.
 */
const RECHARGE_CACHE_S = 300;
const regionCache = new WeakMap<
  ScheduleContext,
  Map<string, RegionNow & { nowS: number; bucket: number }>
>();

function regionNow(ctx: ScheduleContext, regionId: string): RegionNow {
  let byRegion = regionCache.get(ctx);
  if (!byRegion) regionCache.set(ctx, (byRegion = new Map()));
  let figures = byRegion.get(regionId);
  if (figures?.nowS === ctx.nowS) return figures;
  const region = regionOf(ctx, regionId);
  const bucket = Math.floor(ctx.nowS / RECHARGE_CACHE_S);
  if (figures?.bucket !== bucket) {
    const window = bestWindow(region, {
      fromS: ctx.nowS,
      deadlineS: ctx.nowS + RECHARGE_HORIZON_S,
      durationS: RECHARGE_WINDOW_S,
      by: "price",
    });
    figures = {
      nowS: Number.NaN,
      bucket,
      priceUsdPerKWh: 0,
      carbonGPerKWh: 0,
      rechargePriceUsdPerKWh: window?.meanPriceUsdPerKWh ?? priceAt(region, ctx.nowS),
      rechargeCarbonGPerKWh: window?.meanCarbonGPerKWh ?? carbonAt(region, ctx.nowS),
    };
    byRegion.set(regionId, figures);
  }
  figures = figures as RegionNow & { nowS: number; bucket: number };
  figures.nowS = ctx.nowS;
  figures.priceUsdPerKWh = priceAt(region, ctx.nowS);
  figures.carbonGPerKWh = carbonAt(region, ctx.nowS);
  return figures;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
