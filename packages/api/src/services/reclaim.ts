// Reclaiming borrowed capacity (Kueue's preemption): when a tenant below its guarantee has work
// waiting and no car is free for it, the sweep preempts borrowed work in the order core's
// `preemptions` gives (lowest priority first, the tenant furthest above its entitlement first,
// the most recently leased car first). A preempted lease ends 'preempted', its unit opens again
// for another car (never the same owner: leases (task_id, owner_id) is unique), and the car
// finds it lost at its next renew; a late submit of it is refused like any ended lease.
import { preemptions, type RunningSlot } from "@nightshift/core/tenants";
import { sql } from "drizzle-orm";
import type { ApiDeps } from "../context";
import { monotonicMs, readShares, RUNNING_SLOTS, stateOf } from "../state";
import { inTx, rows, textArray, uuidArray } from "./db";
import { endLeases } from "./leases";

/** The lease status, and end reason, of a lease reclaimed for another tenant. */
export const PREEMPTED = "preempted";

/**
 * One reclaimer at a time across instances, for the length of its transaction; an instance that
 * finds it taken skips this sweep's turn (the one holding it decides from the same rows). The
 * two-key form, second key 1: apart from the migrator's one-key lock and lease's car locks (0).
 */
const RECLAIM_LOCK = sql`SELECT pg_try_advisory_xact_lock(hashtext('nightshift.reclaim'), 1) AS got`;

export interface ReclaimResult {
  /** Leases ended 'preempted' by this sweep. */
  preemptedLeases: number;
  /** Cars those leases were on (core's slots). */
  preemptedCars: number;
}

/** A car holding one tenant's active leases: one of core's running slots. */
interface SlotRow {
  tenant_id: string;
  car_id: string;
  priority: number;
  leased_at_s: number;
}

/**
 * Preempts borrowed work for tenants below their guarantee, if any is due: reads the tenants'
 * shares as the lease path does (`readShares`), the slots they hold (one per car holding a
 * tenant's active leases), the open units waiting per tenant and the free cars (eligible now and
 * holding nothing: each serves one slot of need before anything is preempted), asks core which
 * slots to take, and ends every active lease of the victim tenant on each chosen car. Safe on
 * several instances at once: one decides at a time (RECLAIM_LOCK), reading what the one before
 * it committed; leases another transaction holds (a submit) are skipped, and only leases still
 * active end, each once.
 */
export async function reclaimForGuarantees(deps: ApiDeps): Promise<ReclaimResult> {
  const now = deps.now();
  const state = stateOf(deps);
  const regionRows = await state.regions.get(monotonicMs());
  const out = await inTx(deps.db, async (tx) => {
    const [lock] = await rows<{ got: boolean }>(tx, RECLAIM_LOCK);
    if (!lock?.got) return { preemptedLeases: 0, preemptedCars: 0 };
    const [shares, held] = await Promise.all([
      readShares(tx, now, regionRows, deps.config),
      rows<SlotRow>(tx, RUNNING_SLOTS),
    ]);
    const busy = new Set(held.map((s) => s.car_id));
    const freeCars = shares.eligibleCarIds.filter((id) => !busy.has(id)).length;
    // Slots leased at the same instant are taken in car order, whatever order the rows came in.
    held.sort((a, b) => (a.car_id < b.car_id ? -1 : a.car_id > b.car_id ? 1 : 0));
    const slots: RunningSlot<SlotRow>[] = held.map((s) => ({
      tenantId: s.tenant_id,
      priority: s.priority,
      startedS: s.leased_at_s,
      ref: s,
    }));
    const { tenants, entitlements } = shares.snapshot;
    const victims = preemptions(tenants, slots, entitlements, {
      // The cars a tenant's open units could keep busy (core's demandSlots) bound what it needs.
      waiting: (tenantId) => shares.waiting.get(tenantId) ?? 0,
      freeSlots: freeCars,
    }).map((v) => v.ref);
    if (victims.length === 0) return { preemptedLeases: 0, preemptedCars: 0 };
    const ended = await endLeases(
      tx,
      sql`leases.id IN (
            SELECT l.id FROM leases l
              JOIN work_units wu ON wu.id = l.work_unit_id
              JOIN unnest(${uuidArray(victims.map((v) => v.car_id))},
                          ${textArray(victims.map((v) => v.tenant_id))}) AS v(car_id, tenant_id)
                ON v.car_id = l.car_id AND v.tenant_id = wu.tenant_id
             WHERE l.status = 'active'
               FOR UPDATE OF l SKIP LOCKED)`,
      PREEMPTED,
      PREEMPTED,
      now,
    );
    return {
      preemptedLeases: ended.length,
      preemptedCars: new Set(ended.map((l) => l.carId)).size,
    };
  });
  // This instance's lease decisions see the freed cars and the needy's turn at once; other
  // instances within their cache's few seconds.
  if (out.preemptedLeases > 0) state.shares.invalidate();
  return out;
}
