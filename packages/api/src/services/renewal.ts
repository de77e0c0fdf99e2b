// What a renewal extends (node.renew, and a parked heartbeat that names leases): only the leases
// the car could be running, by core's holding rule over every lease it holds, and none past its
// longest life. A lease left out runs out at its expiry and the sweeper puts its work back.
import { estimatedRunS, hardwareById } from "@nightshift/core/hardware";
import { renewUntilS } from "@nightshift/core/schedule/holding";
import { wallS, worldS } from "@nightshift/core/time-scale";
import { holdingLimits } from "../config";
import type { ApiDeps } from "../context";
import { toS } from "./convert";
import { prepared, preparedRows } from "./db";

/**
 * Every lease car $1 holds at $2 (active, not run out), oldest first, with what the server
 * estimates its run from: the model's cost and the car's hardware class as enrolled.
 */
const HELD_LEASES = prepared(
  "renewal_held",
  `SELECT l.id, l.leased_at AS "leasedAt", m.tera_ops_per_inference AS "teraOps",
          c.hardware_id AS "hardwareId"
     FROM leases l
     JOIN cars c ON c.id = l.car_id
     JOIN work_units wu ON wu.id = l.work_unit_id
     JOIN jobs j ON j.id = wu.job_id
     JOIN models m ON m.id = j.model_id
    WHERE l.car_id = $1::uuid AND l.status = 'active' AND l.expires_at > $2::timestamptz
    ORDER BY l.leased_at, l.id`,
);

interface HeldRow {
  id: string;
  leasedAt: Date;
  teraOps: number;
  hardwareId: string;
}

export interface Renewals {
  /** The named leases to extend, each to its own expiry. */
  extend: { leaseId: string; expiresAt: Date }[];
  /** The named leases still the car's that are not extended: they run out as they stand. */
  notExtended: string[];
}

/** Which of `leaseIds` car `carId` may renew at `now`, and until when (core's renewUntilS). */
export async function renewals(
  deps: ApiDeps,
  carId: string,
  leaseIds: readonly string[],
  now: Date,
): Promise<Renewals> {
  const held = await preparedRows<HeldRow>(deps.db, HELD_LEASES, [carId, now]);
  const share = deps.config.schedule.sustainedTopsShare;
  // On the scheduling clock, where the runs are estimated (the identity in real time).
  const scale = deps.config.timeScale;
  const until = renewUntilS(
    held.map((l) => ({
      leasedAtS: worldS(scale, toS(l.leasedAt)),
      runS: estimatedRunS(hardwareById(l.hardwareId), l.teraOps, share),
    })),
    worldS(scale, toS(now)),
    holdingLimits(deps.config),
  );
  const named = new Set(leaseIds);
  const out: Renewals = { extend: [], notExtended: [] };
  held.forEach((lease, i) => {
    if (!named.has(lease.id)) return;
    const untilS = until[i];
    if (untilS === null || untilS === undefined) out.notExtended.push(lease.id);
    else {
      out.extend.push({
        leaseId: lease.id,
        expiresAt: new Date(Math.round(wallS(scale, untilS) * 1000)),
      });
    }
  });
  return out;
}
