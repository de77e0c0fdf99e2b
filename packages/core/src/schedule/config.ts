import { DEFAULT_COST_CONFIG, type CostConfig } from "../energy";
import type { Region } from "../types";

export interface ScoreWeights {
  cost: number;
  carbon: number;
  finish: number;
  reputation: number;
  locality: number;
}

export interface ScheduleConfig {
  /** Work must end at least this long before the predicted departure. */
  safetyMarginS: number;
  /** Share of a car's departure-prediction spread added to the margin: z of a one-sided normal. */
  departureZ: number;
  /** Share of peak TOPS that inference actually sustains (0..1). */
  sustainedTopsShare: number;
  /** The longest run a car is given at once, so that fair share and reclaim can act between runs. */
  maxRunS: number;
  /** The shortest run worth starting (model load and warm-up are not free). */
  minRunS: number;
  /** Late binding: how many queued items of the chosen tenant are looked at before giving up. */
  maxScan: number;
  /** Batch placement: cars sampled per item (Sparrow's batch sampling). */
  probesPerItem: number;
  weights: ScoreWeights;
  /**
   * A car not heard from for this long is offline, on the scheduling clock (a server on a
   * compressed clock scales its wall-clock timeout).
   */
  offlineAfterS: number;
  deferral: DeferralConfig;
  /** Prices and intensities at which the cost and carbon scores reach 0. */
  costCeilingUsdPerKWh: number;
  carbonCeilingGPerKWh: number;
  cost: CostConfig;
}

/** When work whose objective is "cheapest" or "cleanest" waits for a better window (defer.ts). */
export interface DeferralConfig {
  /** The window must be at least this much cheaper (or cleaner) than now, as a share (0..1). */
  minSavingShare: number;
  /** How far ahead a window is looked for, s: work waits no longer than this. */
  horizonS: number;
}

export const DEFAULT_SCHEDULE_CONFIG: ScheduleConfig = {
  safetyMarginS: 10 * 60,
  // z = 1.2816 keeps P(departure after finish) ≥ 90% under a normal prediction error.
  departureZ: 1.2816,
  // Inference on accelerators typically reaches 20–40% of dense peak; assume the middle.
  sustainedTopsShare: 0.3,
  maxRunS: 2 * 3600,
  minRunS: 60,
  maxScan: 64,
  // Sparrow probes d = 2 workers per task; a few more buy better scores for little.
  probesPerItem: 4,
  weights: { cost: 0.3, carbon: 0.15, finish: 0.3, reputation: 0.15, locality: 0.1 },
  // Three missed heartbeats at the agents' 30 s.
  offlineAfterS: 90,
  // A tenth saved is worth a wait; evcc plans charging over the next day's tariff in the same way.
  deferral: { minSavingShare: 0.1, horizonS: 12 * 3600 },
  costCeilingUsdPerKWh: 0.6,
  carbonCeilingGPerKWh: 800,
  cost: DEFAULT_COST_CONFIG,
};

/** What every scheduling decision is made against. */
export interface ScheduleContext {
  nowS: number;
  regions: ReadonlyMap<string, Region>;
  config: ScheduleConfig;
}

export function regionOf(ctx: ScheduleContext, regionId: string): Region {
  const region = ctx.regions.get(regionId);
  if (!region) throw new Error(`unknown region "${regionId}"`);
  return region;
}
