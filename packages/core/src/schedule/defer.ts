// Deferral: work that asks for the cheapest or cleanest power lets a car on dear or dirty grid
// power wait for a better window, as evcc plans a car's charging over the day's tariff, done here
// for compute. A car waits only when the window ahead is clearly better and the car's departure,
// its owner's hours and the work's deadline all leave room to run in it; else it runs now.
import { bestWindow, meanOver, type TimeWindow } from "../tariff";
import type { Objective, Region } from "../types";
import type { DeferralConfig } from "./config";

export interface DeferralQuery {
  nowS: number;
  /** How long the run takes, s. */
  runS: number;
  /** When the run must be over at the latest (departure, owner hours, deadline), s. */
  latestEndS: number;
  objective: Objective;
}

/**
 * The better window the work should wait for, or null when it should run now: its objective is
 * "soonest", no window fits, or none ahead is cheaper (cleaner) than now by the config's share.
 */
export function betterWindow(
  region: Region,
  q: DeferralQuery,
  config: DeferralConfig,
): TimeWindow | null {
  if (q.objective === "soonest" || !(q.runS > 0)) return null;
  const deadlineS = Math.min(q.latestEndS, q.nowS + config.horizonS);
  if (!Number.isFinite(deadlineS) || deadlineS - q.runS <= q.nowS) return null;
  const by = q.objective === "cheapest" ? "price" : "carbon";
  const window = bestWindow(region, { fromS: q.nowS, deadlineS, durationS: q.runS, by });
  if (window === null || window.startS <= q.nowS) return null;
  const nowMean = meanOver(region, q.nowS, q.nowS + q.runS, by);
  const windowMean = by === "price" ? window.meanPriceUsdPerKWh : window.meanCarbonGPerKWh;
  return windowMean <= nowMean * (1 - config.minSavingShare) ? window : null;
}
