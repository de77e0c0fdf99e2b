// The pending work, kept per tenant and priority so that a decision looks at a handful of items,
// not the whole queue. Within a priority, items keep their arrival order.
import type { WorkItem } from "../types";

/** One push of an item: an id that leaves and comes back gets a new entry at the back. */
interface Entry {
  item: WorkItem;
  live: boolean;
}

interface Lane {
  priority: number;
  items: Entry[];
  head: number;
  /** Entries past the head that have left the queue: skipped, and swept out in bulk. */
  dead: number;
}

interface TenantLanes {
  /** Highest priority first. */
  lanes: Lane[];
  items: number;
  demand: number;
}

export class WorkQueue {
  private readonly tenants = new Map<string, TenantLanes>();
  /** The entries of the items waiting now, by id. */
  private readonly live = new Map<string, Entry>();
  private count = 0;

  /**
   * @param slotsOf how many cars an item could keep busy at once (its demand); 1 by default.
   */
  constructor(private readonly slotsOf: (item: WorkItem) => number = () => 1) {}

  get size(): number {
    return this.count;
  }

  push(item: WorkItem): void {
    if (this.live.has(item.id)) throw new Error(`item ${item.id} is already queued`);
    let tenant = this.tenants.get(item.tenantId);
    if (!tenant) this.tenants.set(item.tenantId, (tenant = { lanes: [], items: 0, demand: 0 }));
    let lane = tenant.lanes.find((l) => l.priority === item.priority);
    if (!lane) {
      lane = { priority: item.priority, items: [], head: 0, dead: 0 };
      tenant.lanes.push(lane);
      tenant.lanes.sort((a, b) => b.priority - a.priority);
    }
    const entry = { item, live: true };
    this.live.set(item.id, entry);
    lane.items.push(entry);
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
        const entry = lane.items[i] as Entry;
        if (entry.live) yield entry.item;
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
    const entry = this.live.get(item.id);
    if (!tenant || !entry) throw new Error(`item ${item.id} is not queued`);
    const before = this.slotsOf(item);
    if (item.divisible && inferences < item.inferences) {
      item.inferences -= inferences;
      tenant.demand += this.slotsOf(item) - before;
      return;
    }
    entry.live = false;
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
    // Infinity takes it whole even when no inferences are left (consume ignores a take of 0).
    this.consume(item, Infinity);
  }

  /**
   * Keeps a lane's scan short: the head skips entries that left, and when entries that left
   * behind live ones (items taken out of order) outnumber the live ones, they are swept out at
   * once, so iteration stays proportional to what waits (amortised O(1) per removal).
   */
  private compact(tenant: TenantLanes, priority: number): void {
    const lane = tenant.lanes.find((l) => l.priority === priority);
    if (!lane) return;
    lane.dead++;
    while (lane.head < lane.items.length && !(lane.items[lane.head] as Entry).live) {
      lane.head++;
      lane.dead--;
    }
    const waiting = lane.items.length - lane.head - lane.dead;
    if (lane.dead > 64 && lane.dead > waiting) {
      lane.items = lane.items.slice(lane.head).filter((e) => e.live);
      lane.head = 0;
      lane.dead = 0;
    } else if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
  }
}
