// Late binding: a car asks for work and gets the best it can run now, taken from the queue. The same filters and scores
// as batch placement; the tenant is chosen by fair share first, then the item within the tenant.
import { type Entitlement, nextTenant } from "../tenants";
import type { Tenant, Vehicle, WorkItem } from "../types";
import type { ScheduleContext } from "./config";
import { carRejection, fitRun, type Reason, workRejection } from "./filters";
import type { WorkQueue } from "./queue";
import { totalScore } from "./scores";

/** Who shares the fleet, what each runs now, and what each is entitled to. */
export interface TenantState {
  tenants: readonly Tenant[];
  /** Cars each tenant's work occupies now. */
  usage: ReadonlyMap<string, number>;
  entitlements: Map<string, Entitlement>;
}

export type Decision =
  | { item: WorkItem; inferences: number; score: number }
  | { item: null; reason: Reason | "no-work" };

/** Passing items of one tenant compared by score before binding the best. */
const CANDIDATES_PER_DECISION = 4;

export function decide(
  v: Vehicle,
  queue: WorkQueue,
  tenants: TenantState,
  ctx: ScheduleContext,
): Decision {
  // Filter: may this car run anything at all?
  const carReason = carRejection(v, ctx);
  if (carReason !== null) return { item: null, reason: carReason };

  let lastReason: Reason | "no-work" = "no-work";
  const tried: string[] = [];
  const open = (id: string) => queue.hasWork(id) && !tried.includes(id);
  for (;;) {
    const tenantId = nextTenant(tenants.tenants, tenants.usage, tenants.entitlements, open);
    if (tenantId === null) return { item: null, reason: lastReason };
    tried.push(tenantId);

    // Filter and score the tenant's first items; bind the best.
    let best: WorkItem | null = null;
    let bestScore = -Infinity;
    let passed = 0;
    let scanned = 0;
    for (const item of queue.items(tenantId)) {
      if (++scanned > ctx.config.maxScan) break;
      const reason = workRejection(v, item, ctx);
      if (reason !== null) {
        lastReason = reason;
        continue;
      }
      const score = totalScore(v, item, ctx);
      if (score > bestScore) [best, bestScore] = [item, score];
      if (++passed >= CANDIDATES_PER_DECISION) break;
    }
    if (best) {
      // Bind: take the run out of the queue.
      const inferences = fitRun(v, best, ctx);
      if (inferences > 0) {
        queue.consume(best, inferences);
        return { item: best, inferences, score: bestScore };
      }
    }
  }
}
