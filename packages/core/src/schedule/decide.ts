// Late binding: a car asks for work and gets the best it can run now, taken from the queue. The
// tenant is chosen by fair share first, then the work within the tenant by choose.ts, the same
// function the server's lease call runs over its candidate rows.
import { type Entitlement, nextTenant } from "../tenants";
import type { Tenant, Vehicle, WorkItem } from "../types";
import { choose } from "./choose";
import type { ScheduleContext } from "./config";
import { carRejection, type Reason } from "./filters";
import type { WorkQueue } from "./queue";

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
    const { picks, reason } = choose(v, queue.items(tenantId), ctx);
    const pick = picks[0];
    if (pick === undefined) {
      lastReason = reason;
      continue;
    }
    // Bind: take the run out of the queue.
    queue.consume(pick.item, pick.inferences);
    return pick;
  }
}
