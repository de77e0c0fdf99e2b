// The planner's parameters and how they become a simulator scenario: a partial scenario merged
// over core's default (parseScenario), so everything not set here keeps its default.
import type { SimResult } from "@nightshift/core/sim/simulate";
import { parseStartDate } from "@nightshift/time-zones/sim-offsets";

export const HARDWARE_IDS = [
  "fsd-hw3",
  "drive-orin",
  "fsd-hw4",
  "drive-thor",
  "ai5-class",
] as const;
export type HardwareId = (typeof HARDWARE_IDS)[number];

export interface PlanParams {
  vehicles: number;
  hours: number;
  seed: number;
  /** The UTC date the run starts on (YYYY-MM-DD): the regions' clocks, daylight saving included. */
  startDate: string;
  /** Owners who lend their car's computer, 0..1. */
  optInShare: number;
  /** Chance a car with a home charger is plugged in when it parks at home, 0..1. */
  plugInProbability: number;
  /** Owners' reserve range, percent of charge. */
  reserveMinPct: number;
  reserveMaxPct: number;
  /** Weights of each in-car computer in the fleet. */
  hardwareMix: Record<HardwareId, number>;
}

export const MAX_VEHICLES = 1_000_000;

function totalWeight(p: PlanParams): number {
  return HARDWARE_IDS.reduce((sum, h) => sum + p.hardwareMix[h], 0);
}

export function scenarioOverrides(p: PlanParams): Record<string, unknown> {
  return {
    name: "console planner",
    participation: {
      optInShare: p.optInShare,
      homePlugInProbability: p.plugInProbability,
      reservePct: { min: p.reserveMinPct, max: p.reserveMaxPct },
    },
    // The scenario takes shares in 0..1 (weights, normalised by the simulator); the form takes
    // any relative numbers.
    hardwareMix: HARDWARE_IDS.map((hardwareId) => ({
      hardwareId,
      share: p.hardwareMix[hardwareId] / totalWeight(p),
    })),
  };
}

/** Problems with the parameters, each naming its field; empty when they are fine. */
export function checkParams(p: PlanParams): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(p.vehicles) || p.vehicles < 1 || p.vehicles > MAX_VEHICLES)
    problems.push(`Fleet size: a whole number from 1 to ${MAX_VEHICLES.toLocaleString("en-US")}`);
  if (!(p.hours >= 1 && p.hours <= 168)) problems.push("Hours: from 1 to 168");
  if (!Number.isInteger(p.seed) || p.seed < 0) problems.push("Seed: a whole number, 0 or more");
  if (!isStartDate(p.startDate)) problems.push("Start date: a date from 1970 to 2199");
  if (!(p.optInShare >= 0 && p.optInShare <= 1)) problems.push("Participation: from 0% to 100%");
  if (!(p.plugInProbability >= 0 && p.plugInProbability <= 1))
    problems.push("Plug-in rate: from 0% to 100%");
  if (!(p.reserveMinPct >= 0 && p.reserveMaxPct <= 100 && p.reserveMinPct <= p.reserveMaxPct))
    problems.push("Reserve: 0–100%, the minimum no more than the maximum");
  if (HARDWARE_IDS.some((h) => !(p.hardwareMix[h] >= 0)))
    problems.push("Hardware mix: every share is 0 or more");
  else if (!(totalWeight(p) > 0)) problems.push("Hardware mix: at least one share above 0");
  return problems;
}

function isStartDate(date: string): boolean {
  try {
    parseStartDate(date);
    return true;
  } catch {
    return false;
  }
}

export type PlanRequest = { params: PlanParams };
export type PlanMessage =
  | { type: "progress"; share: number }
  | { type: "done"; result: SimResult; elapsedMs: number }
  | { type: "error"; message: string };
