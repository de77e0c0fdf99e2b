// Batch placement: a queue onto a set of idle cars at once, as the simulator does each round.
// For each item in fair-share order, sample a few free cars, filter them, score the ones that
// pass and bind the best (Sparrow's batch sampling: a round costs O(items), not O(items × cars)).
// A car's own filters run at most once per round.
import { nextTenant } from "../tenants";
import type { Rng } from "../random";
import type { Vehicle, WorkItem } from "../types";
import type { ScheduleContext } from "./config";
import type { TenantState } from "./decide";
import { carRejection, planRun, workRejection } from "./filters";
import type { WorkQueue } from "./queue";
import { totalScore } from "./scores";

export interface Placement<V extends Vehicle = Vehicle> {
  vehicle: V;
  item: WorkItem;
  inferences: number;
}

/** Probing rounds before an item is set aside for this round: K, then 4K, then 16K cars. */
const PROBE_GROWTH = [1, 4, 16];

/**
 * Places queued work onto `cars`, consuming what it binds from the queue. Each car gets at most
 * one item. Returns the bindings; the caller starts them and updates its usage.
 */
export function place<V extends Vehicle>(
  queue: WorkQueue,
  cars: readonly V[],
  tenants: TenantState,
  ctx: ScheduleContext,
  rng: Rng,
): Placement<V>[] {
  const free: V[] = cars.slice();
  const carOk = new Map<V, boolean>();
  const usage = new Map(tenants.usage);
  const setAside = new Set<string>();
  const placements: Placement<V>[] = [];
  const stuckTenants = new Set<string>();
  const open = (id: string) => queue.hasWork(id) && !stuckTenants.has(id);

  while (free.length > 0) {
    const tenantId = nextTenant(tenants.tenants, usage, tenants.entitlements, open);
    if (tenantId === null) break;
    const item = firstOpenItem(queue, tenantId, setAside, ctx.config.maxScan);
    if (!item) {
      stuckTenants.add(tenantId);
      continue;
    }
    const slot = bestCar(item, free, carOk, ctx, rng);
    if (slot < 0) {
      setAside.add(item.id);
      continue;
    }
    const vehicle = free[slot] as V;
    const inferences = planRun(vehicle, item, ctx);
    queue.consume(item, inferences);
    usage.set(tenantId, (usage.get(tenantId) ?? 0) + 1);
    placements.push({ vehicle, item, inferences });
    // Swap-remove the bound car from the free list.
    free[slot] = free[free.length - 1] as V;
    free.pop();
  }
  return placements;
}

function firstOpenItem(
  queue: WorkQueue,
  tenantId: string,
  setAside: ReadonlySet<string>,
  maxScan: number,
): WorkItem | null {
  let scanned = 0;
  for (const item of queue.items(tenantId)) {
    if (!setAside.has(item.id)) return item;
    if (++scanned >= maxScan) break;
  }
  return null;
}

/** Index in `free` of the best-scoring sampled car that passes the work filters, or −1. */
function bestCar<V extends Vehicle>(
  item: WorkItem,
  free: readonly V[],
  carOk: Map<V, boolean>,
  ctx: ScheduleContext,
  rng: Rng,
): number {
  for (const growth of PROBE_GROWTH) {
    const probes = ctx.config.probesPerItem * growth;
    let best = -1;
    let bestScore = -Infinity;
    if (probes >= free.length) {
      for (let i = 0; i < free.length; i++) [best, bestScore] = consider(i, best, bestScore);
      return best;
    }
    for (let p = 0; p < probes; p++) {
      [best, bestScore] = consider(rng.int(0, free.length - 1), best, bestScore);
    }
    if (best >= 0) return best;
  }
  return -1;

  function consider(i: number, best: number, bestScore: number): [number, number] {
    const v = free[i] as V;
    let ok = carOk.get(v);
    if (ok === undefined) carOk.set(v, (ok = carRejection(v, ctx) === null));
    if (!ok) return [best, bestScore];
    if (workRejection(v, item, ctx) !== null || planRun(v, item, ctx) === 0) return [best, bestScore];
    const score = totalScore(v, item, ctx);
    return score > bestScore ? [i, score] : [best, bestScore];
  }
}
