// The pending work, kept per tenant and priority so that a decision looks at a handful of items,
// not the whole queue. Within a priority, items keep their arrival order.
import type { WorkItem } from "../types";

interface Lane {
  priority: number;
  items: WorkItem[];
  head: number;
}

interface TenantLanes {
  /** Highest priority first. */
  lanes: Lane[];
  items: number;
  demand: number;
}

export class WorkQueue {
  private readonly tenants = new Map<string, TenantLanes>();
  /** Ids of the items waiting now. */
  private readonly live = new Set<string>();
  private count = 0;

  /**
   * @param slotsOf how many cars an item could keep busy at once (its demand); 1 by default.
   */
  constructor(private readonly slotsOf: (item: WorkItem) => number = () => 1) {}

  get size(): number {
    return this.count;
  }

  push(item: WorkItem): void {
    let tenant = this.tenants.get(item.tenantId);
    if (!tenant) this.tenants.set(item.tenantId, (tenant = { lanes: [], items: 0, demand: 0 }));
    let lane = tenant.lanes.find((l) => l.priority === item.priority);
    if (!lane) {
      lane = { priority: item.priority, items: [], head: 0 };
      tenant.lanes.push(lane);
      tenant.lanes.sort((a, b) => b.priority - a.priority);
    }
    if (this.live.has(item.id)) throw new Error(`item ${item.id} is already queued`);
    this.live.add(item.id);
    lane.items.push(item);
    tenant.items++;
    tenant.demand += this.slotsOf(item);
    this.count++;
  }

  hasWork(tenantId: string): boolean {
    return (this.tenants.get(tenantId)?.items ?? 0) > 0;
  }

  /** Items waiting for a tenant. */
  pending(tenantId: string): number {
    return this.tenants.get(tenantId)?.items ?? 0;
  }

  /** Cars the tenant's waiting work could keep busy at once. */
  demand(tenantId: string): number {
    return this.tenants.get(tenantId)?.demand ?? 0;
  }

  tenantIds(): string[] {
    return [...this.tenants.keys()];
  }

  /** A tenant's waiting items, highest priority first, oldest first within a priority. */
  *items(tenantId: string): Generator<WorkItem> {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) return;
    for (const lane of tenant.lanes) {
      for (let i = lane.head; i < lane.items.length; i++) {
        const item = lane.items[i] as WorkItem;
        if (this.live.has(item.id)) yield item;
      }
    }
  }

  /**
   * Takes `inferences` of an item. A divisible item keeps its place with what remains; an item
   * taken whole leaves the queue.
   */
  consume(item: WorkItem, inferences: number): void {
    if (inferences <= 0) return;
    const tenant = this.tenants.get(item.tenantId);
    if (!tenant || !this.live.has(item.id)) throw new Error(`item ${item.id} is not queued`);
    const before = this.slotsOf(item);
    if (item.divisible && inferences < item.inferences) {
      item.inferences -= inferences;
      tenant.demand += this.slotsOf(item) - before;
      return;
    }
    this.live.delete(item.id);
    tenant.items--;
    tenant.demand -= before;
    this.count--;
    this.compact(tenant, item.priority);
  }

  /** Whether the item is waiting in the queue. */
  holds(item: WorkItem): boolean {
    return this.live.has(item.id);
  }

  /** Adds inferences back to a waiting divisible item (work handed back by a car). */
  grow(item: WorkItem, inferences: number): void {
    const tenant = this.tenants.get(item.tenantId);
    if (!tenant || !this.live.has(item.id)) throw new Error(`item ${item.id} is not queued`);
    if (!item.divisible) throw new Error(`item ${item.id} is not divisible`);
    const before = this.slotsOf(item);
    item.inferences += inferences;
    tenant.demand += this.slotsOf(item) - before;
  }

  /** Drops an item that is no longer wanted (a cancelled job). */
  remove(item: WorkItem): void {
    this.consume(item, item.inferences);
  }

  private compact(tenant: TenantLanes, priority: number): void {
    const lane = tenant.lanes.find((l) => l.priority === priority);
    if (!lane) return;
    while (lane.head < lane.items.length) {
      const head = lane.items[lane.head] as WorkItem;
      if (this.live.has(head.id)) break;
      lane.head++;
    }
    // Reclaim the array once most of it has been consumed.
    if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
  }
}
