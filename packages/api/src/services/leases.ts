// Ending leases: every way a lease can end without a result (the car departs or releases, the
// sweeper expires it, an operator quarantines the car, a tenant cancels the job) goes through
// `endLeases`, which hands the work unit back in the same statement.
import type { LeaseStatus } from "@nightshift/db/schema";
import type { SQL } from "drizzle-orm";
import { type Executor, rows } from "./db";
import { endLeasesSql } from "./transitions";

export interface EndedLease {
  id: string;
  carId: string;
  workUnitId: number;
}

/**
 * Ends the active leases matching `where` (an SQL condition on `leases`) with `status` and
 * `reason`. Their units reopen when their task still needs results, else they are cancelled;
 * with `cancelUnits` they are cancelled whatever the task needs (a cancelled job). Only leases
 * still active are touched, so running it twice, or on several instances at once, ends each
 * lease once.
 */
export async function endLeases(
  ex: Executor,
  where: SQL,
  status: Exclude<LeaseStatus, "active" | "submitted">,
  reason: string,
  now: Date,
  cancelUnits = false,
): Promise<EndedLease[]> {
  const ended = await rows<{ id: string; car_id: string; work_unit_id: string }>(
    ex,
    endLeasesSql(where, status, reason, now, cancelUnits),
  );
  return ended.map((r) => ({ id: r.id, carId: r.car_id, workUnitId: Number(r.work_unit_id) }));
}
