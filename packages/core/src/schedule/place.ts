// Batch placement: a queue onto a set of idle cars at once, as the simulator does each round.
// For each item in fair-share order, sample a few free cars, filter them, score the ones that
// pass and bind the best (Sparrow's batch sampling: a round costs O(items), not O(items × cars)).
// A car that fails its own filters leaves the round's pool when first sampled.
import type { Rng } from "../random";
import type { Vehicle, WorkItem } from "../types";
import type { ScheduleContext } from "./config";
import { nextTenant } from "../tenants";
import type { TenantState } from "./decide";
import { carRejection, fitRun, workRejection } from "./filters";
import type { WorkQueue } from "./queue";
import { totalScore } from "./scores";

export interface Placement<V extends Vehicle = Vehicle> {
  vehicle: V;
  item: WorkItem;
  inferences: number;
}

/** Probing rounds before an item is set aside for this round: K, then 4K cars. */
const PROBE_GROWTH = [1, 4];

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
    const slot = bestCar(item, free, ctx, rng);
    if (slot < 0) {
      setAside.add(item.id);
      continue;
    }
    const vehicle = free[slot] as V;
    const inferences = fitRun(vehicle, item, ctx);
    queue.consume(item, inferences);
    usage.set(tenantId, (usage.get(tenantId) ?? 0) + 1);
    placements.push({ vehicle, item, inferences });
    removeAt(free, slot);
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

/**
 * Index in `free` of the best-scoring sampled car that passes the work filters, or −1. A sampled
 * car that fails its own filters leaves `free` for the rest of the round, so the pool stays clean
 * as it drains.
 */
function bestCar<V extends Vehicle>(
  item: WorkItem,
  free: V[],
  ctx: ScheduleContext,
  rng: Rng,
): number {
  for (const growth of PROBE_GROWTH) {
    let best = -1;
    let bestScore = -Infinity;
    const probes = ctx.config.probesPerItem * growth;
    const scanAll = probes >= free.length;
    for (let p = 0, i = 0; scanAll ? i < free.length : p < probes && free.length > 0; p++) {
      const at = scanAll ? i : rng.int(0, free.length - 1);
      const v = free[at] as V;
      if (carRejection(v, ctx) !== null) {
        // The last car moves into this slot; follow it if it is the best so far.
        if (best === free.length - 1) best = at;
        removeAt(free, at);
        continue;
      }
      i++;
      if (workRejection(v, item, ctx) !== null || fitRun(v, item, ctx) === 0) continue;
      const score = totalScore(v, item, ctx);
      if (score > bestScore) [best, bestScore] = [at, score];
    }
    if (best >= 0) return best;
    if (scanAll) return -1;
  }
  return -1;
}

/** Swap-remove: order in the free list does not matter. */
function removeAt<T>(list: T[], at: number): void {
  list[at] = list[list.length - 1] as T;
  list.pop();
}
