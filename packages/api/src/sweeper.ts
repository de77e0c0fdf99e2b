// Requeues the work of leases that ran out: leases past their expiry, and every lease of a car
// that stopped heartbeating. Safe to run on several instances at once: each batch takes its
// leases with `FOR UPDATE SKIP LOCKED` (a lease another sweeper, or a submit, holds is left to
// it), and only leases still 'active' are ended, so a lease ends once whoever runs it.
import { sql } from "drizzle-orm";
import type { ApiDeps } from "./context";
import { inTx } from "./services/db";
import { endLeases } from "./services/leases";

const BATCH = 500;

export interface SweepResult {
  expiredLeases: number;
  /** Cars whose leases were ended because their heartbeats stopped. */
  silentCars: number;
}

export async function sweepExpired(deps: ApiDeps): Promise<SweepResult> {
  const now = deps.now();
  const since = new Date(now.getTime() - deps.config.heartbeatTimeoutS * 1000);
  let expiredLeases = 0;
  for (;;) {
    const ended = await inTx(deps.db, (tx) =>
      endLeases(
        tx,
        sql`leases.id IN (SELECT id FROM leases WHERE status = 'active' AND expires_at <= ${now}
                           ORDER BY expires_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)`,
        "expired",
        "expired",
        now,
      ),
    );
    expiredLeases += ended.length;
    if (ended.length < BATCH) break;
  }
  const silent = new Set<string>();
  for (;;) {
    const ended = await inTx(deps.db, (tx) =>
      endLeases(
        tx,
        sql`leases.id IN (SELECT l.id FROM leases l JOIN cars c ON c.id = l.car_id
                           WHERE l.status = 'active' AND (c.last_heartbeat_at IS NULL OR c.last_heartbeat_at < ${since})
                           LIMIT ${BATCH} FOR UPDATE OF l SKIP LOCKED)`,
        "expired",
        "silent",
        now,
      ),
    );
    for (const l of ended) silent.add(l.carId);
    expiredLeases += ended.length;
    if (ended.length < BATCH) break;
  }
  return { expiredLeases, silentCars: silent.size };
}
