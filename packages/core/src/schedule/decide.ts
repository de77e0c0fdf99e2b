// Late binding: a car asks for work and gets the best it can run now, taken from the queue. The same filters and scores
// as batch placement; the tenant is chosen by fair share first, then the item within the tenant.
import { type Entitlement, nextTenant, SLOT_EPSILON } from "../tenants";
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

/**
 * The tenant the next free car goes to: first one still short of the whole cars its guarantee
 * promises (⌊guaranteed⌋), then fair share (`nextTenant`). Fair share alone hands a whole car to a
 * borrower entitled to 0.75 of one (usage 0 = 0 %) before a tenant guaranteed 5 that runs 4
 * (80 %), so under contention a tenant ended below its quota. Shared by `decide` and `place`.
 */
export function chooseTenant(
  state: TenantState,
  usage: ReadonlyMap<string, number>,
  open: (tenantId: string) => boolean,
): string | null {
  return (
    nextTenant(state.tenants, usage, wholeGuarantees(state.entitlements), open) ??
    nextTenant(state.tenants, usage, state.entitlements, open)
  );
}

/** Entitlement maps are made afresh by `entitlements`, never changed: derive once per map. */
const wholeGuaranteeCache = new WeakMap<Map<string, Entitlement>, Map<string, Entitlement>>();

/** Each tenant entitled to ⌊guaranteed⌋ cars and nothing beyond (ceiling 0). */
function wholeGuarantees(ent: Map<string, Entitlement>): Map<string, Entitlement> {
  let whole = wholeGuaranteeCache.get(ent);
  if (!whole) {
    whole = new Map();
    for (const [id, e] of ent) {
      whole.set(id, { ...e, entitled: Math.floor(e.guaranteed + SLOT_EPSILON), borrowed: 0, ceiling: 0 });
    }
    wholeGuaranteeCache.set(ent, whole);
  }
  return whole;
}

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
    const tenantId = chooseTenant(tenants, tenants.usage, open);
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
