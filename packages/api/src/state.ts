// What one server instance keeps in memory: short-lived caches of rarely changing rows and of
// the fleet's capacity and tenant shares behind lease decisions, and the rate limiter. Every
// instance keeps its own; the database stays the only source of truth.
import { hardwareById } from "@nightshift/core/hardware";
import {
  demandSlots,
  entitlements,
  type Entitlement,
  meanSustainedTops,
} from "@nightshift/core/tenants";
import type { Tenant } from "@nightshift/core/types";
import { models, regions, tenants } from "@nightshift/db/schema";
import { sql } from "drizzle-orm";
import { Cached } from "./cache";
import type { ApiConfig } from "./config";
import type { ApiDeps, Caller } from "./context";
import { type ModelRow, type RegionRow, toTenant } from "./services/convert";
import { type Executor, rows } from "./services/db";
import { isEligible, onlineCars, scheduleContext } from "./services/eligibility";
import { RateLimiter } from "./rate-limit";

/** Tenants, their shares of the fleet now, and their work: what a lease decision needs. */
export interface ShareSnapshot {
  tenants: Tenant[];
  /** Cars eligible now (at least 1: the car asking is one). */
  capacity: number;
  entitlements: Map<string, Entitlement>;
  /**
   * Cars holding each tenant's leases (core counts capacity and usage in cars, whatever number
   * of tasks a car runs); this instance adds the cars it gives work to between loads.
   */
  usage: Map<string, number>;
}

export interface ApiState {
  limiter: RateLimiter;
  /** Resolved credentials by token hash, with when the entry lapses (monotonic ms). */
  callers: Map<string, { caller: Caller; untilMs: number }>;
  regions: Cached<Map<string, RegionRow>>;
  models: Cached<Map<string, ModelRow>>;
  shares: Cached<ShareSnapshot>;
  /** Drops every cached row after an operator changes tenants, regions or models. */
  invalidate(): void;
  /** Forgets resolved credentials (a key revoked, a session ended). */
  forgetCallers(): void;
}

/**
 * The slots the tenants hold now, as core counts them: one per car holding a tenant's active
 * leases, whatever number it holds, at the highest priority among them and stamped with the
 * latest of them, in seconds since the epoch (what a preemption of that car loses least of).
 */
export const RUNNING_SLOTS = sql`
  SELECT wu.tenant_id, l.car_id, max(wu.priority)::int AS priority,
         extract(epoch FROM max(l.leased_at))::float8 AS leased_at_s
    FROM leases l JOIN work_units wu ON wu.id = l.work_unit_id
   WHERE l.status = 'active'
   GROUP BY wu.tenant_id, l.car_id`;

/** Open units walked per slot of capacity, per tenant, when reading demand (see readShares). */
const OPEN_UNITS_PER_SLOT = 64;

/** A ShareSnapshot as read, with what reclaiming reads beside it. */
export interface SharesRead {
  snapshot: ShareSnapshot;
  /** Cars each tenant's open units could keep busy (core's demandSlots; only tenants with some). */
  waiting: Map<string, number>;
  /** The cars eligible now (the capacity, less the stand-in of 1 for an empty fleet). */
  eligibleCarIds: string[];
}

/**
 * Tenants, the fleet's capacity (cars eligible now), each tenant's demand and usage, and core's
 * entitlements from them: what the lease path (through the cache) and reclaiming decide on.
 */
export async function readShares(
  ex: Executor,
  now: Date,
  regionRows: ReadonlyMap<string, RegionRow>,
  config: ApiConfig,
): Promise<SharesRead> {
  const [tenantRows, holding, online] = await Promise.all([
    ex.select().from(tenants),
    rows<{ tenant_id: string; cars: number }>(
      ex,
      sql`SELECT s.tenant_id, count(*)::int AS cars FROM (${RUNNING_SLOTS}) s GROUP BY s.tenant_id`,
    ),
    onlineCars(ex, now, config),
  ]);
  const ctx = scheduleContext(now, regionRows, config);
  const eligible = online.filter((c) => isEligible(c, ctx, config));
  const capacity = Math.max(1, eligible.length);
  // Demand as core counts it (demandSlots): the cars holding a tenant's leases, plus each job's
  // open units as the cars they could keep busy, in runs of maxRunS on a mean car of the fleet
  // online. Entitlements read demand only up to the capacity, so each tenant's claim index is
  // walked for a bounded number of open units, not every unit ever made: a walk that stops
  // short counts at least the capacity unless each unit is under maxRunS ÷ OPEN_UNITS_PER_SLOT
  // of a mean car's time (then it counts what it saw).
  const sched = config.schedule;
  const meanTops = meanSustainedTops(
    online.map((c) => hardwareById(c.hardwareId).peakTops),
    sched.sustainedTopsShare,
  );
  const open = await rows<{ tenant_id: string; units: number; tera_ops: number }>(
    ex,
    sql`SELECT t.id AS tenant_id, o.units, m.tera_ops_per_inference AS tera_ops
          FROM tenants t
          CROSS JOIN LATERAL (
            SELECT w.job_id, count(*)::int AS units
              FROM (SELECT wu.job_id FROM work_units wu
                     WHERE wu.tenant_id = t.id AND wu.status = 'open'
                     LIMIT ${Math.ceil(capacity) * OPEN_UNITS_PER_SLOT}) w
             GROUP BY w.job_id) o
          JOIN jobs j ON j.id = o.job_id
          JOIN models m ON m.id = j.model_id`,
  );
  const waiting = new Map<string, number>();
  for (const o of open) {
    const slots = demandSlots((o.units * o.tera_ops) / meanTops, sched.maxRunS);
    waiting.set(o.tenant_id, (waiting.get(o.tenant_id) ?? 0) + slots);
  }
  const usage = new Map(holding.map((h) => [h.tenant_id, h.cars]));
  const demand = new Map(
    tenantRows.map((t) => [t.id, (usage.get(t.id) ?? 0) + (waiting.get(t.id) ?? 0)]),
  );
  const list = tenantRows.map(toTenant);
  return {
    snapshot: {
      tenants: list,
      capacity,
      entitlements: entitlements(capacity, list, demand),
      usage,
    },
    waiting,
    eligibleCarIds: eligible.map((c) => c.id),
  };
}

const states = new WeakMap<ApiDeps, ApiState>();

export function stateOf(deps: ApiDeps): ApiState {
  let state = states.get(deps);
  if (!state) states.set(deps, (state = createState(deps)));
  return state;
}

/** Real elapsed time for cache ages, whatever clock the deps carry. */
export const monotonicMs = (): number => performance.now();

function createState(deps: ApiDeps): ApiState {
  const ttl = () => deps.config.capacityCacheS * 1000;
  const regionCache = new Cached(ttl, async () => {
    const list = await deps.db.select().from(regions);
    return new Map(list.map((r) => [r.id, r]));
  });
  const modelCache = new Cached(ttl, async () => {
    const list = await deps.db.select().from(models);
    return new Map(list.map((m) => [m.id, m]));
  });
  const shareCache = new Cached(ttl, async () => {
    const regionRows = await regionCache.get(monotonicMs());
    return (await readShares(deps.db, deps.now(), regionRows, deps.config)).snapshot;
  });
  const callers = new Map<string, { caller: Caller; untilMs: number }>();
  return {
    limiter: new RateLimiter(),
    callers,
    forgetCallers: () => callers.clear(),
    regions: regionCache,
    models: modelCache,
    shares: shareCache,
    invalidate() {
      regionCache.invalidate();
      modelCache.invalidate();
      shareCache.invalidate();
    },
  };
}
