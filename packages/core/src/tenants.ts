// Tenant quotas on a shared fleet, after Kueue's ClusterQueues in one cohort: each tenant is
// guaranteed its quota when it has the demand for it, lends the quota it leaves idle, borrows
// what others leave idle by weighted fair sharing, and gets its quota back by preempting the
// borrowed work of others.
//
// Capacity is one resource counted in slots (≥ 0, may be fractional: e.g. cars able to run
// work now). Shares (`…Share`) are fractions of the fleet; everything else here is in slots.

import type { Tenant } from "./types";

/** What one tenant should hold now, slots. */
export interface Entitlement {
  tenantId: string;
  /** min(demand, quota): held against any borrower; 0 when paused. */
  guaranteed: number;
  /** What the tenant should hold: guaranteed plus its fair part of idle capacity. ≤ demand. */
  entitled: number;
  /** max(0, entitled − quota). */
  borrowed: number;
  /** Part of its idle quota that others borrow now (≤ its lending limit). */
  lent: number;
  /**
   * Quota in slots, scaled down when quotas sum to more than 1. Always set by `entitlements`;
   * optional only so that hand-built entitlements (in tests) need not carry it.
   */
  quota?: number;
  /**
   * Most the tenant may hold: quota + borrowing limit, slots; Infinity when it has no limit.
   * Always set by `entitlements`; `nextTenant` reads a missing one as Infinity.
   */
  ceiling?: number;
}

/** Tolerance for float noise in slot arithmetic (a slot is ≥ 1e-3 of anything real). */
export const SLOT_EPSILON = 1e-9;

/** Stand-in for a weight that is not a positive finite number: such a tenant borrows last. */
const MIN_WEIGHT = 1e-6;

const nonNegative = (x: number): number => (Number.isFinite(x) && x > 0 ? x : 0);

/** A tenant's weight made safe to divide by. */
export function effectiveWeight(tenant: Tenant): number {
  const w = tenant.weight;
  return Number.isFinite(w) && w > 0 ? w : MIN_WEIGHT;
}

/**
 * Factor applied to every quota share: 1 when the shares sum to ≤ 1, else 1 / Σ shares, so
 * over-committed guarantees shrink proportionally and still fit the fleet. Paused tenants count:
 * they keep their quota (and lend it), they just do not use it.
 */
export function quotaScale(tenants: readonly Tenant[]): number {
  let sum = 0;
  for (const t of tenants) sum += clampShare(t.quotaShare);
  return sum > 1 ? 1 / sum : 1;
}

/** A tenant's quota in slots: its share (clamped to 0..1) × scale × capacity. */
export function quotaSlots(tenant: Tenant, capacity: number, scale = 1): number {
  return clampShare(tenant.quotaShare) * scale * nonNegative(capacity);
}

/** Most a tenant may borrow beyond its quota, slots; Infinity when unlimited. */
export function borrowingLimitSlots(tenant: Tenant, capacity: number): number {
  const l = tenant.borrowingLimitShare;
  return l === null ? Infinity : nonNegative(l) * nonNegative(capacity);
}

/** Most of its idle quota a tenant lends, slots; Infinity when it lends all of it. */
export function lendingLimitSlots(tenant: Tenant, capacity: number): number {
  const l = tenant.lendingLimitShare;
  return l === null ? Infinity : nonNegative(l) * nonNegative(capacity);
}

function clampShare(share: number): number {
  return Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
}

/**
 * Cars one job's waiting work could keep busy at once, for its tenant's demand: its car-seconds
 * (tasks × tera-ops ÷ a mean car's sustained TOPS) in runs of at most `maxRunS` each, since a
 * car runs one run at a time; at least one car for any work at all, none for none. A tenant's
 * demand is the cars holding its work plus this over its jobs' waiting work (the simulator's
 * queue and the server's open units both count it so).
 */
export function demandSlots(carS: number, maxRunS: number): number {
  if (!(carS > 0)) return 0;
  return Math.max(1, Math.ceil(carS / Math.max(1, maxRunS)));
}

/**
 * A mean car's sustained TOPS (peak × share) over a fleet, `fallbackPeakTops` × share for none;
 * summed in ascending order, so the same cars in any order give the same figure to the last bit.
 */
export function meanSustainedTops(
  peakTops: readonly number[],
  sustainedTopsShare: number,
  fallbackPeakTops = 500,
): number {
  if (peakTops.length === 0) return fallbackPeakTops * sustainedTopsShare;
  const sustained = peakTops.map((p) => p * sustainedTopsShare).sort((a, b) => a - b);
  return sustained.reduce((a, b) => a + b, 0) / sustained.length;
}

/**
 * How much of `capacity` each tenant should hold now, given what it asks for (`demand`, slots;
 * a missing entry is 0). Tenant ids must be unique (throws otherwise).
 *
 * 1. guaranteed = min(demand, quota); paused tenants get 0 and their whole quota is idle.
 * 2. The pool = each tenant's idle quota up to its lending limit, plus the capacity no quota
 *    covers (when quotas sum to < 1). Idle quota beyond a lending limit stays unused: it is the
 *    lender's reserve, as in Kueue.
 * 3. The pool is water-filled among tenants with unmet demand in proportion to weight, each
 *    capped by its demand and by quota + borrowing limit.
 * 4. Borrowing draws on the unowned capacity first (it costs nobody a reclaim later), then on
 *    the lenders in proportion to what each lends.
 */
export function entitlements(
  capacity: number,
  tenants: readonly Tenant[],
  demand: ReadonlyMap<string, number>,
): Map<string, Entitlement> {
  const cap = nonNegative(capacity);
  const scale = quotaScale(tenants);
  const n = tenants.length;
  const quota = new Array<number>(n);
  const guaranteed = new Array<number>(n);
  const lendable = new Array<number>(n);
  const headroom = new Array<number>(n);
  const ceiling = new Array<number>(n);
  const seen = new Set<string>();
  let quotaSum = 0;
  let lendableSum = 0;

  for (let i = 0; i < n; i++) {
    const t = tenants[i] as Tenant;
    if (seen.has(t.id)) throw new Error(`duplicate tenant id ${JSON.stringify(t.id)}`);
    seen.add(t.id);
    const q = quotaSlots(t, cap, scale);
    const d = t.paused ? 0 : nonNegative(demand.get(t.id) ?? 0);
    const g = Math.min(d, q);
    const c = q + borrowingLimitSlots(t, cap);
    quota[i] = q;
    guaranteed[i] = g;
    ceiling[i] = c;
    lendable[i] = Math.min(q - g, lendingLimitSlots(t, cap));
    // Only a tenant whose demand exceeds its quota borrows, so its guaranteed is its quota.
    headroom[i] = Math.max(0, Math.min(d, c) - g);
    quotaSum += q;
    lendableSum += lendable[i] as number;
  }

  const unowned = Math.max(0, cap - quotaSum);
  const extra = waterFill(tenants, headroom, unowned + lendableSum);

  let borrowedSum = 0;
  for (let i = 0; i < n; i++) borrowedSum += extra[i] as number;
  const fromLenders = Math.max(0, borrowedSum - unowned);
  const lentRatio = lendableSum > 0 ? Math.min(1, fromLenders / lendableSum) : 0;

  const out = new Map<string, Entitlement>();
  for (let i = 0; i < n; i++) {
    const t = tenants[i] as Tenant;
    const q = quota[i] as number;
    const entitled = (guaranteed[i] as number) + (extra[i] as number);
    out.set(t.id, {
      tenantId: t.id,
      guaranteed: guaranteed[i] as number,
      entitled,
      borrowed: Math.max(0, entitled - q),
      lent: (lendable[i] as number) * lentRatio,
      quota: q,
      ceiling: ceiling[i] as number,
    });
  }
  return out;
}

/**
 * Weighted max-min split of `pool` among tenants, tenant i taking at most headroom[i]: every
 * tenant gets min(headroom, weight × λ) for the one level λ that spends the pool (or everyone
 * gets its headroom when the pool covers it all).
 */
function waterFill(
  tenants: readonly Tenant[],
  headroom: readonly number[],
  pool: number,
): number[] {
  const n = tenants.length;
  const extra = new Array<number>(n).fill(0);
  const order: number[] = [];
  let want = 0;
  for (let i = 0; i < n; i++) {
    const h = headroom[i] as number;
    if (h > 0) {
      order.push(i);
      want += h;
    }
  }
  if (want <= pool) {
    for (const i of order) extra[i] = headroom[i] as number;
    return extra;
  }
  // Fill the tenants that saturate first (smallest headroom per weight); ties by id keep the
  // result independent of the order the tenants came in.
  const level = (i: number): number =>
    (headroom[i] as number) / effectiveWeight(tenants[i] as Tenant);
  order.sort(
    (a, b) => level(a) - level(b) || compareIds(tenants[a] as Tenant, tenants[b] as Tenant),
  );
  let left = pool;
  let weightLeft = 0;
  for (const i of order) weightLeft += effectiveWeight(tenants[i] as Tenant);
  let k = 0;
  for (; k < order.length; k++) {
    const i = order[k] as number;
    if (level(i) * weightLeft > left) break;
    extra[i] = headroom[i] as number;
    left -= headroom[i] as number;
    weightLeft -= effectiveWeight(tenants[i] as Tenant);
  }
  // Recompute the remaining weight rather than trust the running difference.
  let w = 0;
  for (let j = k; j < order.length; j++)
    w += effectiveWeight(tenants[order[j] as number] as Tenant);
  const lambda = w > 0 ? Math.max(0, left) / w : 0;
  for (let j = k; j < order.length; j++) {
    const i = order[j] as number;
    extra[i] = Math.min(headroom[i] as number, effectiveWeight(tenants[i] as Tenant) * lambda);
  }
  return extra;
}

function compareIds(a: Tenant, b: Tenant): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The tenant that should get the next free slot, or null when none should.
 *
 * First, among unpaused tenants with work that hold fewer than the whole slots their guarantee
 * promises (⌊guaranteed⌋): the smallest usage / ⌊guaranteed⌋. Without this step a borrower
 * entitled to 0.75 of a slot (usage 0, so 0 %) would win a whole slot before a tenant guaranteed
 * 5 that holds 4 (80 %), and under contention the guaranteed tenant would end below its quota.
 * Then, among tenants with work and usage < entitled: the smallest usage / entitled (ties:
 * larger weight, then smaller id). When none is below its entitlement (entitlements lag the
 * fleet), the smallest usage / weight among those with work and usage below their ceiling
 * (quota + borrowing limit). A tenant absent from `ent` is skipped: it has no entitlement until
 * `entitlements` is recomputed. `usage` is slots held now (missing = 0).
 *
 * One pass over the tenants and no allocation: this runs once per scheduling decision.
 */
export function nextTenant(
  tenants: readonly Tenant[],
  usage: ReadonlyMap<string, number>,
  ent: Map<string, Entitlement>,
  hasWork: (tenantId: string) => boolean,
): string | null {
  let owed: Tenant | null = null;
  let owedScore = Infinity;
  let best: Tenant | null = null;
  let bestScore = Infinity;
  let spare: Tenant | null = null;
  let spareScore = Infinity;
  for (let i = 0; i < tenants.length; i++) {
    const t = tenants[i] as Tenant;
    if (t.paused) continue;
    const e = ent.get(t.id);
    if (e === undefined) continue;
    const u = usage.get(t.id) ?? 0;
    const whole = Math.floor(e.guaranteed + SLOT_EPSILON);
    if (u < whole) {
      const score = u / whole;
      if (owed === null || score < owedScore || (score === owedScore && before(t, owed))) {
        if (!hasWork(t.id)) continue;
        owed = t;
        owedScore = score;
      }
    } else if (owed === null && u < e.entitled) {
      const score = u / e.entitled;
      if (best === null || score < bestScore || (score === bestScore && before(t, best))) {
        if (!hasWork(t.id)) continue;
        best = t;
        bestScore = score;
      }
    } else if (owed === null && best === null && u < (e.ceiling ?? Infinity)) {
      const score = u / effectiveWeight(t);
      if (spare === null || score < spareScore || (score === spareScore && before(t, spare))) {
        if (!hasWork(t.id)) continue;
        spare = t;
        spareScore = score;
      }
    }
  }
  return (owed ?? best ?? spare)?.id ?? null;
}

/** Tie-break: larger weight first, then smaller id. */
function before(a: Tenant, b: Tenant): boolean {
  const wa = effectiveWeight(a);
  const wb = effectiveWeight(b);
  return wa !== wb ? wa > wb : a.id < b.id;
}

/** Slots a tenant runs at one priority. */
export interface RunningGroup {
  tenantId: string;
  priority: number;
  count: number;
}

export interface ReclaimOptions {
  /**
   * Slots each tenant's waiting work could fill now (0: nothing waits; Infinity, the default:
   * any number, e.g. divisible work).
   */
  waiting?: (tenantId: string) => number;
  /** Slots idle now that waiting work can take without preempting anyone (default 0). */
  freeSlots?: number;
}

/** Whole slots in `x` (≥ 0; Infinity stays Infinity). */
const wholeSlots = (x: number): number =>
  x === Infinity ? Infinity : Math.floor(nonNegative(x) + SLOT_EPSILON);

/** A (tenant, priority) group's key. */
const groupKey = (tenantId: string, priority: number): string => `${priority}\u0000${tenantId}`;

function usageOf(running: readonly { tenantId: string; count: number }[]): Map<string, number> {
  const usage = new Map<string, number>();
  for (const r of running)
    usage.set(r.tenantId, (usage.get(r.tenantId) ?? 0) + nonNegative(r.count));
  return usage;
}

/**
 * Whether reclaiming is due: some unpaused tenant with work waiting holds at least one whole
 * slot less than its guarantee (a fraction of a slot is not worth a preemption: `nextTenant`
 * owes a tenant only the whole slots of its guarantee). `usage` is slots held now (missing = 0).
 */
export function reclaimDue(
  tenants: readonly Tenant[],
  usage: ReadonlyMap<string, number>,
  ent: Map<string, Entitlement>,
  waiting: (tenantId: string) => number,
): boolean {
  for (const t of tenants) {
    const e = ent.get(t.id);
    if (t.paused || e === undefined || !(waiting(t.id) > 0)) continue;
    if ((usage.get(t.id) ?? 0) + 1 <= e.guaranteed + SLOT_EPSILON) return true;
  }
  return false;
}

/** One slot of running work that reclaiming may take back: a car's run, with what it is. */
export interface RunningSlot<T> {
  tenantId: string;
  priority: number;
  /** When its work started, s: the most recent loses the least work when preempted. */
  startedS: number;
  /** What the caller preempts (a car, a lease): returned as given. */
  ref: T;
}

/**
 * The running slots to preempt now so that tenants below their guarantee get it back: nothing
 * unless reclaiming is due (`reclaimDue`), else `reclaim`'s victim groups (lowest priority
 * first, the tenant furthest above its entitlement first), each filled with its most recently
 * started slots (ties: the order given). Usage is counted from `slots`, one slot each. The one
 * decision of what to preempt, for the simulator and the server alike.
 */
export function preemptions<T>(
  tenants: readonly Tenant[],
  slots: readonly RunningSlot<T>[],
  ent: Map<string, Entitlement>,
  opts: ReclaimOptions = {},
): RunningSlot<T>[] {
  const waiting = opts.waiting ?? (() => Infinity);
  const byGroup = new Map<string, RunningSlot<T>[]>();
  const usage = new Map<string, number>();
  for (const s of slots) {
    usage.set(s.tenantId, (usage.get(s.tenantId) ?? 0) + 1);
    const key = groupKey(s.tenantId, s.priority);
    const group = byGroup.get(key);
    if (group) group.push(s);
    else byGroup.set(key, [s]);
  }
  if (!reclaimDue(tenants, usage, ent, waiting)) return [];
  const running: RunningGroup[] = [];
  for (const group of byGroup.values()) {
    const { tenantId, priority } = group[0] as RunningSlot<T>;
    running.push({ tenantId, priority, count: group.length });
  }
  const out: RunningSlot<T>[] = [];
  for (const victim of reclaim(tenants, running, ent, opts)) {
    const group = byGroup.get(groupKey(victim.tenantId, victim.priority)) ?? [];
    // Array.prototype.sort is stable: equal start times keep the order given.
    const recentFirst = [...group].sort((a, b) => b.startedS - a.startedS);
    out.push(...recentFirst.slice(0, victim.count));
  }
  return out;
}

/**
 * Running work to preempt so that tenants below their guaranteed share get it back, when no
 * slot is free. Works in whole slots: a needy tenant lacks ⌈guaranteed − usage⌉ slots; a
 * victim gives at most ⌊usage − entitled⌋, so it never drops below its own entitlement (a
 * tenant at or below its entitlement, the needy included, gives nothing). Victims are taken
 * lowest priority first across all tenants; within a priority, the tenant furthest above its
 * entitlement first, then by id. Paused tenants and tenants absent from `ent` are entitled to 0,
 * so all their work is preemptable. Returns one entry per (tenant, priority) with a count > 0;
 * the total is min(what the needy lack, what victims can give).
 *
 * With `opts.waiting`, a needy tenant lacks no more slots than its waiting work could fill (a
 * tenant with nothing waiting is owed nothing now, however far below its guarantee); with
 * `opts.freeSlots`, that many of the slots lacking are served by idle ones, not by preemption.
 */
export function reclaim(
  tenants: readonly Tenant[],
  running: readonly RunningGroup[],
  ent: Map<string, Entitlement>,
  opts: ReclaimOptions = {},
): RunningGroup[] {
  const usage = usageOf(running);
  const waiting = opts.waiting ?? (() => Infinity);

  let need = 0;
  for (const t of tenants) {
    const e = ent.get(t.id);
    if (t.paused || e === undefined) continue;
    const lack = e.guaranteed - (usage.get(t.id) ?? 0);
    if (lack > SLOT_EPSILON)
      need += Math.min(Math.ceil(lack - SLOT_EPSILON), wholeSlots(waiting(t.id)));
  }
  need = Math.max(0, need - wholeSlots(opts.freeSlots ?? 0));
  if (need === 0) return [];

  const paused = new Set<string>();
  for (const t of tenants) if (t.paused) paused.add(t.id);
  const entitledOf = (id: string): number => (paused.has(id) ? 0 : (ent.get(id)?.entitled ?? 0));
  // Whole slots each tenant can give without dropping below its entitlement.
  const givable = new Map<string, number>();
  for (const [id, u] of usage) {
    const g = Math.floor(u - entitledOf(id) + SLOT_EPSILON);
    if (g > 0) givable.set(id, g);
  }

  const candidates = running
    .map((r, index) => ({ r, index, over: (usage.get(r.tenantId) ?? 0) - entitledOf(r.tenantId) }))
    .filter((c) => givable.has(c.r.tenantId) && nonNegative(c.r.count) >= 1);
  candidates.sort(
    (a, b) =>
      a.r.priority - b.r.priority ||
      b.over - a.over ||
      (a.r.tenantId < b.r.tenantId ? -1 : a.r.tenantId > b.r.tenantId ? 1 : 0) ||
      a.index - b.index,
  );

  const taken = new Map<string, RunningGroup>();
  for (const { r } of candidates) {
    if (need === 0) break;
    const can = givable.get(r.tenantId) ?? 0;
    const take = Math.min(Math.floor(r.count), can, need);
    if (take <= 0) continue;
    givable.set(r.tenantId, can - take);
    need -= take;
    const key = groupKey(r.tenantId, r.priority);
    const prev = taken.get(key);
    if (prev) prev.count += take;
    else taken.set(key, { tenantId: r.tenantId, priority: r.priority, count: take });
  }
  return [...taken.values()];
}
