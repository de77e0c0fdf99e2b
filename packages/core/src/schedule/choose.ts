// Choosing: the work a car that asks gets, from a tenant's waiting items. One function for the
// simulator's late binding (decide.ts, over its in-memory queue) and the server's lease call
// (over the candidate rows it reads from PostgreSQL): filters, then scores, then fit the runs
// into what the car may take. Pure: the caller takes what it picks out of its queue.
import type { Vehicle, WorkItem } from "../types";
import type { ScheduleContext } from "./config";
import { fitRun, inferenceS, maxRunS, type Reason, workRejection } from "./filters";
import { type Holding, type HoldingLimits, mayHold, withLeases } from "./holding";
import { totalScore } from "./scores";

export interface Pick {
  item: WorkItem;
  /** Inferences of the item the car runs: all of a whole item, a run of a divisible one. */
  inferences: number;
  score: number;
}

export interface Choice {
  /** Best score first. */
  picks: Pick[];
  /** Why nothing (more) was picked: the last filter's reason, or "no-work". */
  reason: Reason | "no-work";
}

export interface Want {
  /** Most items to pick. */
  count: number;
  /** Run seconds the picks may fill together; the car's own limits (maxRunS) when absent. */
  runS?: number;
  /**
   * What the car holds already and may hold (holding.ts), where the caller hands out leases: an
   * item is picked only while the car may hold it.
   */
  holding?: { held: Holding; limits: HoldingLimits };
}

/** Passing items compared by score before binding the best, at least. */
export const CANDIDATES_PER_DECISION = 4;

/**
 * The items the car should run now, best first. Looks at the first `ctx.config.maxScan` items,
 * or twice the count asked where that is more (queue order: the caller's priority and arrival
 * order; a call for many tasks reads as many candidates), keeps those every work filter passes
 * until it has max(count, CANDIDATES_PER_DECISION) of them, ranks them by score (ties keep queue
 * order) and binds runs while the run budget and the car's hold allow. The car filters are the
 * caller's to ask first (carRejection), once per call rather than per item.
 */
export function choose(
  v: Vehicle,
  items: Iterable<WorkItem>,
  ctx: ScheduleContext,
  want: Want = { count: 1 },
): Choice {
  const enough = Math.max(want.count, CANDIDATES_PER_DECISION);
  const scanLimit = Math.max(ctx.config.maxScan, 2 * want.count);
  const passed: { item: WorkItem; score: number; order: number }[] = [];
  let reason: Reason | "no-work" = "no-work";
  let scanned = 0;
  for (const item of items) {
    if (++scanned > scanLimit) break;
    const rejection = workRejection(v, item, ctx);
    if (rejection !== null) {
      reason = rejection;
      continue;
    }
    passed.push({ item, score: totalScore(v, item, ctx), order: passed.length });
    if (passed.length >= enough) break;
  }
  passed.sort((a, b) => b.score - a.score || a.order - b.order);

  const picks: Pick[] = [];
  let budgetS = want.runS ?? maxRunS(v, ctx);
  let held = want.holding?.held;
  for (const { item, score } of passed) {
    if (picks.length >= want.count) break;
    const perS = inferenceS(v, item, ctx);
    if (held !== undefined && want.holding && !mayHold(held, perS, want.holding.limits)) continue;
    const inferences = Math.min(fitRun(v, item, ctx), runsWithin(item, budgetS, perS));
    if (inferences <= 0) continue;
    picks.push({ item, inferences, score });
    budgetS -= inferences * perS;
    if (held !== undefined) held = withLeases(held, inferences * perS);
  }
  return { picks, reason };
}

/** Inferences of the item that fit `budgetS`: a run of a divisible item, else all or none. */
function runsWithin(item: WorkItem, budgetS: number, perS: number): number {
  const fit = Math.floor(budgetS / perS);
  if (!item.divisible) return fit >= item.inferences ? item.inferences : 0;
  return fit;
}
