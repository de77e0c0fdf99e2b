// What one server instance keeps in memory: short-lived caches of rarely changing rows and of
// the fleet's capacity and tenant shares behind lease decisions, and the rate limiter. Every
// instance keeps its own; the database stays the only source of truth.
import { entitlements, type Entitlement } from "@nightshift/core/tenants";
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

/** A ShareSnapshot as read, with what reclaiming reads beside it. */
export interface SharesRead {
  snapshot: ShareSnapshot;
  /** Open units per tenant, counted up to the capacity (only the tenants with some). */
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
  // Demand: every waiting or running unit could occupy a car of its own. Entitlements read
  // demand only up to the capacity (min(demand, quota) and water-filling a pool ≤ capacity),
  // so open units are counted up to it: one bounded walk of the claim index per tenant, not
  // a scan of every unit ever made. Leased units are at most the active leases.
  const work = await rows<{ tenant_id: string; open: number; leased: number }>(
    ex,
    sql`SELECT t.id AS tenant_id,
               (SELECT count(*) FROM (SELECT 1 FROM work_units w
                                       WHERE w.tenant_id = t.id AND w.status = 'open'
                                       LIMIT ${Math.ceil(capacity)}) o)::int AS open,
               (SELECT count(*) FROM work_units w WHERE w.tenant_id = t.id AND w.status = 'leased')::int AS leased
          FROM tenants t`,
  );
  const demand = new Map(work.map((w) => [w.tenant_id, w.open + w.leased]));
  const waiting = new Map(work.filter((w) => w.open > 0).map((w) => [w.tenant_id, w.open]));
  const usage = new Map(holding.map((h) => [h.tenant_id, h.cars]));
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
