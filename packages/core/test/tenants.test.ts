import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  demandSlots,
  type Entitlement,
  entitlements,
  meanSustainedTops,
  nextTenant,
  preemptions,
  quotaScale,
  reclaim,
  reclaimDue,
  type RunningSlot,
} from "../src/tenants";
import type { Tenant } from "../src/types";
import { arbRunning, arbTenantScenario } from "./arbitraries";
import { tenant } from "./fixtures";

// fast-check prints the seed and path of any failure; replay with fc.assert(prop, { seed, path }).

const eps = (capacity: number): number => 1e-7 * Math.max(1, capacity);
const get = (m: Map<string, Entitlement>, id: string): Entitlement => {
  const e = m.get(id);
  if (e === undefined) throw new Error(`no entitlement for ${id}`);
  return e;
};

/** The test's own reading of the rules, written from the brief, not from the implementation. */
function expected(capacity: number, tenants: readonly Tenant[], demand: ReadonlyMap<string, number>) {
  const shareSum = tenants.reduce((s, t) => s + t.quotaShare, 0);
  const scale = shareSum > 1 ? 1 / shareSum : 1;
  let quotaSum = 0;
  let lendable = 0;
  const per = new Map<string, { quota: number; demand: number; ceiling: number; idle: number; lendCap: number }>();
  for (const t of tenants) {
    const quota = t.quotaShare * scale * capacity;
    const d = t.paused ? 0 : (demand.get(t.id) ?? 0);
    const idle = quota - Math.min(d, quota);
    const lendCap = Math.min(idle, t.lendingLimitShare === null ? Infinity : t.lendingLimitShare * capacity);
    const ceiling = quota + (t.borrowingLimitShare === null ? Infinity : t.borrowingLimitShare * capacity);
    quotaSum += quota;
    lendable += lendCap;
    per.set(t.id, { quota, demand: d, ceiling, idle, lendCap });
  }
  const unowned = Math.max(0, capacity - quotaSum);
  return { per, unowned, pool: unowned + lendable };
}

const scenario = arbTenantScenario();

describe("entitlements: properties", () => {
  it("guarantees min(demand, scaled quota) to every unpaused tenant", () => {
    fc.assert(
      fc.property(scenario, ({ tenants, capacity, demand }) => {
        const ent = entitlements(capacity, tenants, demand);
        const { per } = expected(capacity, tenants, demand);
        for (const t of tenants) {
          const p = per.get(t.id)!;
          const e = get(ent, t.id);
          expect(e.guaranteed).toBeCloseTo(Math.min(p.demand, p.quota), 6);
          expect(e.entitled).toBeGreaterThanOrEqual(Math.min(p.demand, p.quota) - eps(capacity));
        }
      }),
    );
  });

  it("never hands out more than the fleet, nor more than a tenant asks for", () => {
    fc.assert(
      fc.property(scenario, ({ tenants, capacity, demand }) => {
        const ent = entitlements(capacity, tenants, demand);
        let sum = 0;
        for (const t of tenants) {
          const e = get(ent, t.id);
          sum += e.entitled;
          expect(e.entitled).toBeGreaterThanOrEqual(0);
          expect(e.entitled).toBeLessThanOrEqual((t.paused ? 0 : (demand.get(t.id) ?? 0)) + eps(capacity));
        }
        expect(sum).toBeLessThanOrEqual(capacity + eps(capacity));
      }),
    );
  });

  it("respects borrowing limits and reports borrowed = max(0, entitled − quota)", () => {
    fc.assert(
      fc.property(scenario, ({ tenants, capacity, demand }) => {
        const ent = entitlements(capacity, tenants, demand);
        const { per } = expected(capacity, tenants, demand);
        for (const t of tenants) {
          const p = per.get(t.id)!;
          const e = get(ent, t.id);
          expect(e.entitled).toBeLessThanOrEqual(p.ceiling + eps(capacity));
          expect(e.borrowed).toBeCloseTo(Math.max(0, e.entitled - p.quota), 6);
          if (t.borrowingLimitShare !== null) {
            expect(e.borrowed).toBeLessThanOrEqual(t.borrowingLimitShare * capacity + eps(capacity));
          }
        }
      }),
    );
  });

  it("respects lending limits, and what is borrowed is what is lent plus unowned capacity", () => {
    fc.assert(
      fc.property(scenario, ({ tenants, capacity, demand }) => {
        const ent = entitlements(capacity, tenants, demand);
        const { per, unowned } = expected(capacity, tenants, demand);
        let lent = 0;
        let borrowed = 0;
        for (const t of tenants) {
          const p = per.get(t.id)!;
          const e = get(ent, t.id);
          expect(e.lent).toBeGreaterThanOrEqual(0);
          expect(e.lent).toBeLessThanOrEqual(p.lendCap + eps(capacity));
          lent += e.lent;
          borrowed += e.borrowed;
        }
        // Borrowing takes unowned capacity first, so lenders lend only the rest.
        expect(lent).toBeCloseTo(Math.max(0, borrowed - unowned), 5);
      }),
    );
  });

  it("is work conserving: spare capacity means every unmet tenant is capped or the pool is spent", () => {
    fc.assert(
      fc.property(scenario, ({ tenants, capacity, demand }) => {
        const ent = entitlements(capacity, tenants, demand);
        const { per, pool } = expected(capacity, tenants, demand);
        const total = tenants.reduce((s, t) => s + get(ent, t.id).entitled, 0);
        if (total >= capacity - eps(capacity)) return;
        const extra = tenants.reduce((s, t) => s + get(ent, t.id).entitled - get(ent, t.id).guaranteed, 0);
        if (extra >= pool - eps(capacity)) return;
        for (const t of tenants) {
          const p = per.get(t.id)!;
          const e = get(ent, t.id);
          if (e.entitled < p.demand - eps(capacity)) {
            expect(e.entitled).toBeGreaterThanOrEqual(p.ceiling - eps(capacity));
          }
        }
      }),
    );
  });

  it("shares borrowing by weight: no tenant's borrowed/weight exceeds that of an unsaturated one", () => {
    fc.assert(
      fc.property(scenario, ({ tenants, capacity, demand }) => {
        const ent = entitlements(capacity, tenants, demand);
        const { per } = expected(capacity, tenants, demand);
        const rows = tenants.map((t) => {
          const p = per.get(t.id)!;
          const e = get(ent, t.id);
          const headroom = Math.max(0, Math.min(p.demand, p.ceiling) - e.guaranteed);
          return { extra: e.entitled - e.guaranteed, headroom, w: t.weight };
        });
        for (const i of rows) {
          if (i.extra >= i.headroom - eps(capacity)) continue; // saturated: its level may be lower
          for (const j of rows) {
            if (j.extra <= eps(capacity)) continue;
            expect(j.extra / j.w).toBeLessThanOrEqual(i.extra / i.w + eps(capacity) * 100);
          }
        }
      }),
    );
  });

  it("gives two uncapped equal-weight borrowers with unmet demand equal amounts", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        fc.integer({ min: 1, max: 500 }),
        (qa, qb, w, capacity) => {
          const tenants = [
            tenant("a", { quotaShare: qa, weight: w }),
            tenant("b", { quotaShare: qb, weight: w }),
            tenant("lender", { quotaShare: 1 - qa - qb }),
          ];
          const demand = new Map([["a", capacity * 2], ["b", capacity * 2], ["lender", 0]]);
          const ent = entitlements(capacity, tenants, demand);
          const a = get(ent, "a");
          const b = get(ent, "b");
          expect(a.borrowed).toBeCloseTo(b.borrowed, 6);
          expect(a.entitled + b.entitled).toBeCloseTo(capacity, 6);
        },
      ),
    );
  });

  it("gives paused tenants nothing", () => {
    fc.assert(
      fc.property(scenario, ({ tenants, capacity, demand }) => {
        const ent = entitlements(capacity, tenants, demand);
        for (const t of tenants.filter((x) => x.paused)) {
          const e = get(ent, t.id);
          expect([e.guaranteed, e.entitled, e.borrowed]).toEqual([0, 0, 0]);
        }
      }),
    );
  });

  it("is deterministic and does not depend on the order of tenants", () => {
    fc.assert(
      fc.property(scenario, ({ tenants, capacity, demand }) => {
        const a = entitlements(capacity, tenants, demand);
        expect(entitlements(capacity, tenants, demand)).toEqual(a);
        const b = entitlements(capacity, [...tenants].reverse(), demand);
        for (const t of tenants) {
          expect(get(b, t.id).entitled).toBeCloseTo(get(a, t.id).entitled, 6);
          expect(get(b, t.id).lent).toBeCloseTo(get(a, t.id).lent, 6);
        }
      }),
    );
  });
});

describe("entitlements: edges", () => {
  it("gives nothing from zero capacity", () => {
    const ent = entitlements(0, [tenant("a", { quotaShare: 0.5 }), tenant("b")], new Map([["a", 5], ["b", 5]]));
    for (const e of ent.values()) expect([e.guaranteed, e.entitled, e.borrowed, e.lent]).toEqual([0, 0, 0, 0]);
  });

  it("returns an empty map for no tenants", () => {
    expect(entitlements(10, [], new Map()).size).toBe(0);
  });

  it("lets one tenant take its quota plus the unowned rest, up to its borrowing limit", () => {
    const d = new Map([["a", 100]]);
    expect(get(entitlements(10, [tenant("a", { quotaShare: 0.5 })], d), "a")).toMatchObject({
      guaranteed: 5,
      entitled: 10,
      borrowed: 5,
      lent: 0,
    });
    const capped = get(entitlements(10, [tenant("a", { quotaShare: 0.5, borrowingLimitShare: 0.2 })], d), "a");
    expect(capped.entitled).toBeCloseTo(7, 9);
  });

  it("gives nothing and lends nothing when no one asks", () => {
    const ent = entitlements(10, [tenant("a", { quotaShare: 0.6 }), tenant("b", { quotaShare: 0.4 })], new Map());
    for (const e of ent.values()) expect([e.entitled, e.borrowed, e.lent]).toEqual([0, 0, 0]);
  });

  it("scales quotas that sum to more than 1", () => {
    const tenants = [tenant("a", { quotaShare: 0.9 }), tenant("b", { quotaShare: 0.6 })];
    expect(quotaScale(tenants)).toBeCloseTo(1 / 1.5, 12);
    const ent = entitlements(30, tenants, new Map([["a", 100], ["b", 100]]));
    expect(get(ent, "a").guaranteed).toBeCloseTo(18, 9);
    expect(get(ent, "b").guaranteed).toBeCloseTo(12, 9);
    expect(get(ent, "a").borrowed + get(ent, "b").borrowed).toBeCloseTo(0, 9);
  });

  it("lets a tenant with quota 0 borrow everything idle, within lending limits", () => {
    const borrower = tenant("zero", { quotaShare: 0 });
    const all = entitlements(10, [borrower, tenant("owner", { quotaShare: 1 })], new Map([["zero", 50]]));
    expect(get(all, "zero")).toMatchObject({ guaranteed: 0, entitled: 10, borrowed: 10 });
    expect(get(all, "owner").lent).toBe(10);
    const limited = entitlements(
      10,
      [borrower, tenant("owner", { quotaShare: 1, lendingLimitShare: 0.3 })],
      new Map([["zero", 50]]),
    );
    expect(get(limited, "zero").entitled).toBeCloseTo(3, 9);
    expect(get(limited, "owner").lent).toBeCloseTo(3, 9);
  });

  it("splits idle capacity by weight", () => {
    const tenants = [tenant("light", { weight: 1 }), tenant("heavy", { weight: 3 }), tenant("x", { quotaShare: 0.2 })];
    const ent = entitlements(10, tenants, new Map([["light", 100], ["heavy", 100], ["x", 2]]));
    expect(get(ent, "light").entitled).toBeCloseTo(2, 9);
    expect(get(ent, "heavy").entitled).toBeCloseTo(6, 9);
  });

  it("rejects duplicate tenant ids", () => {
    expect(() => entitlements(1, [tenant("a"), tenant("a")], new Map())).toThrow(/duplicate/);
  });
});

describe("nextTenant", () => {
  /** Naive reference: filter, sort, take the first. */
  function reference(
    tenants: readonly Tenant[],
    usage: ReadonlyMap<string, number>,
    ent: Map<string, Entitlement>,
    hasWork: (id: string) => boolean,
  ): string | null {
    const live = tenants.filter((t) => !t.paused && ent.has(t.id) && hasWork(t.id));
    const u = (t: Tenant) => usage.get(t.id) ?? 0;
    const tie = (a: Tenant, b: Tenant) => b.weight - a.weight || (a.id < b.id ? -1 : 1);
    const whole = (t: Tenant) => Math.floor(get(ent, t.id).guaranteed + 1e-9);
    const owed = live
      .filter((t) => u(t) < whole(t))
      .sort((a, b) => u(a) / whole(a) - u(b) / whole(b) || tie(a, b));
    if (owed[0]) return owed[0].id;
    const under = live
      .filter((t) => u(t) < get(ent, t.id).entitled)
      .sort((a, b) => u(a) / get(ent, a.id).entitled - u(b) / get(ent, b.id).entitled || tie(a, b));
    if (under[0]) return under[0].id;
    const spare = live
      .filter((t) => u(t) < (get(ent, t.id).ceiling ?? Infinity))
      .sort((a, b) => u(a) / a.weight - u(b) / b.weight || tie(a, b));
    return spare[0]?.id ?? null;
  }

  it("agrees with a naive reference", () => {
    fc.assert(
      fc.property(
        scenario.chain((s) =>
          fc
            .tuple(
              fc.array(fc.integer({ min: 0, max: Math.ceil(s.capacity) + 2 }), {
                minLength: s.tenants.length,
                maxLength: s.tenants.length,
              }),
              fc.array(fc.boolean(), { minLength: s.tenants.length, maxLength: s.tenants.length }),
            )
            .map(([us, work]) => ({ ...s, us, work })),
        ),
        ({ tenants, capacity, demand, us, work }) => {
          const ent = entitlements(capacity, tenants, demand);
          const usage = new Map(tenants.map((t, i) => [t.id, us[i] ?? 0]));
          const has = new Set(tenants.filter((_, i) => work[i]).map((t) => t.id));
          const hasWork = (id: string) => has.has(id);
          expect(nextTenant(tenants, usage, ent, hasWork)).toBe(reference(tenants, usage, ent, hasWork));
        },
      ),
    );
  });

  const two = [tenant("a", { quotaShare: 0.5, weight: 1 }), tenant("b", { quotaShare: 0.5, weight: 2 })];
  const ent = entitlements(10, two, new Map([["a", 10], ["b", 10]]));

  it("serves a tenant short of its whole guaranteed slots before a fractional borrower", () => {
    // 8 slots: "g" is guaranteed 5; three tenants without quota share the other 3 unevenly.
    const ts = [
      tenant("g", { quotaShare: 5 / 8, weight: 1 }),
      tenant("x", { quotaShare: 0, weight: 1 }),
      tenant("y", { quotaShare: 0, weight: 1 }),
      tenant("z", { quotaShare: 0, weight: 2 }),
    ];
    const e = entitlements(8, ts, new Map(ts.map((t) => [t.id, 8])));
    expect(e.get("g")?.guaranteed).toBeCloseTo(5);
    expect(nextTenant(ts, new Map([["g", 4]]), e, () => true)).toBe("g");
    expect(nextTenant(ts, new Map([["g", 5]]), e, () => true)).not.toBe("g");
  });

  it("picks the tenant furthest below its entitlement, ties to the larger weight", () => {
    expect(nextTenant(two, new Map([["a", 1], ["b", 3]]), ent, () => true)).toBe("a");
    expect(nextTenant(two, new Map([["a", 2], ["b", 2]]), ent, () => true)).toBe("b");
    expect(nextTenant(two, new Map([["a", 1], ["b", 3]]), ent, (id) => id === "b")).toBe("b");
  });

  it("falls back to usage/weight under the ceiling when entitlements are stale", () => {
    expect(nextTenant(two, new Map([["a", 5], ["b", 6]]), ent, () => true)).toBe("b");
    const capped = [two[0]!, { ...two[1]!, borrowingLimitShare: 0.1 }];
    const capEnt = entitlements(10, capped, new Map([["a", 10], ["b", 10]]));
    expect(nextTenant(capped, new Map([["a", 9], ["b", 6]]), capEnt, () => true)).toBe("a");
  });

  it("returns null without work, for paused tenants, and with no tenants", () => {
    expect(nextTenant(two, new Map(), ent, () => false)).toBeNull();
    expect(nextTenant(two.map((t) => ({ ...t, paused: true })), new Map(), ent, () => true)).toBeNull();
    expect(nextTenant([], new Map(), new Map(), () => true)).toBeNull();
  });
});

describe("reclaim", () => {
  // Running work sized from entitlements computed on a perturbed fleet, so that some tenants
  // run above, some at and some below what they are owed now.
  const withRunning = scenario.chain((s) =>
    fc
      .tuple(arbRunning(s.tenants.map((t) => t.id)), fc.double({ min: 0.5, max: 2, noNaN: true }))
      .map(([groups, drift]) => {
        const earlier = entitlements(s.capacity * drift, s.tenants, s.demand);
        const running = groups.map((g) => ({
          tenantId: g.tenantId,
          priority: g.priority,
          count: Math.round(g.fraction * (earlier.get(g.tenantId)?.entitled ?? 0)),
        }));
        return { ...s, running };
      }),
  );

  function usageOf(running: readonly { tenantId: string; count: number }[]): Map<string, number> {
    const u = new Map<string, number>();
    for (const r of running) u.set(r.tenantId, (u.get(r.tenantId) ?? 0) + r.count);
    return u;
  }

  it("takes only borrowed work, never below a victim's entitlement, lowest priority first, and frees what the needy lack", () => {
    fc.assert(
      fc.property(withRunning, ({ tenants, capacity, demand, running }) => {
        const ent = entitlements(capacity, tenants, demand);
        const victims = reclaim(tenants, running, ent);
        const usage = usageOf(running);
        const entitled = (id: string) =>
          tenants.find((t) => t.id === id)?.paused ? 0 : (ent.get(id)?.entitled ?? 0);
        let lack = 0;
        for (const t of tenants) {
          const l = get(ent, t.id).guaranteed - (usage.get(t.id) ?? 0);
          if (!t.paused && l > 1e-9) lack += Math.ceil(l - 1e-9);
        }
        let givable = 0;
        for (const [id, u] of usage) givable += Math.max(0, Math.floor(u - entitled(id) + 1e-9));

        const takenFrom = new Map<string, number>();
        let total = 0;
        for (const v of victims) {
          expect(Number.isInteger(v.count) && v.count > 0).toBe(true);
          const groupCount = running
            .filter((r) => r.tenantId === v.tenantId && r.priority === v.priority)
            .reduce((s, r) => s + r.count, 0);
          expect(v.count).toBeLessThanOrEqual(groupCount);
          takenFrom.set(v.tenantId, (takenFrom.get(v.tenantId) ?? 0) + v.count);
          total += v.count;
        }
        for (const [id, n] of takenFrom) {
          expect((usage.get(id) ?? 0) - n).toBeGreaterThanOrEqual(entitled(id) - 1e-9);
        }
        expect(total).toBe(Math.min(lack, givable));

        // Lowest priority first: work below the highest priority taken is gone, or its tenant
        // has given all it can.
        const maxTaken = Math.max(-Infinity, ...victims.map((v) => v.priority));
        for (const r of running) {
          if (r.priority >= maxTaken || r.count === 0) continue;
          const can = Math.max(0, Math.floor((usage.get(r.tenantId) ?? 0) - entitled(r.tenantId) + 1e-9));
          const tookHere = victims
            .filter((v) => v.tenantId === r.tenantId && v.priority === r.priority)
            .reduce((s, v) => s + v.count, 0);
          const groupCount = running
            .filter((x) => x.tenantId === r.tenantId && x.priority === r.priority)
            .reduce((s, x) => s + x.count, 0);
          expect(tookHere === groupCount || (takenFrom.get(r.tenantId) ?? 0) === can).toBe(true);
        }
      }),
      // About one case in ten has a needy tenant and a victim: draw more of them.
      { numRuns: 500 },
    );
  });

  it("takes borrowed capacity back when its lender's demand returns", () => {
    const tenants = [tenant("lender", { quotaShare: 0.5 }), tenant("borrower", { quotaShare: 0.5 })];
    const before = entitlements(10, tenants, new Map([["lender", 0], ["borrower", 10]]));
    expect(get(before, "borrower")).toMatchObject({ entitled: 10, borrowed: 5 });
    expect(get(before, "lender").lent).toBe(5);
    const running = [
      { tenantId: "borrower", priority: 5, count: 6 },
      { tenantId: "borrower", priority: 1, count: 4 },
    ];
    expect(reclaim(tenants, running, before)).toEqual([]);

    const after = entitlements(10, tenants, new Map([["lender", 3], ["borrower", 10]]));
    expect(get(after, "borrower").entitled).toBe(7);
    expect(reclaim(tenants, running, after)).toEqual([{ tenantId: "borrower", priority: 1, count: 3 }]);

    const all = entitlements(10, tenants, new Map([["lender", 8], ["borrower", 10]]));
    expect(reclaim(tenants, running, all)).toEqual([
      { tenantId: "borrower", priority: 1, count: 4 },
      { tenantId: "borrower", priority: 5, count: 1 },
    ]);
  });

  it("takes nothing from a tenant at its entitlement, and preempts paused tenants' work", () => {
    const tenants = [
      tenant("needy", { quotaShare: 0.5 }),
      tenant("full", { quotaShare: 0.5 }),
      tenant("off", { paused: true }),
    ];
    const ent = entitlements(10, tenants, new Map([["needy", 5], ["full", 5]]));
    const running = [
      { tenantId: "full", priority: 0, count: 5 },
      { tenantId: "off", priority: 9, count: 2 },
    ];
    expect(reclaim(tenants, running, ent)).toEqual([{ tenantId: "off", priority: 9, count: 2 }]);
  });

  it("treats a tenant paused since the entitlements were computed as entitled to nothing", () => {
    const tenants = [tenant("needy", { quotaShare: 0.5 }), tenant("other", { quotaShare: 0.5 })];
    const ent = entitlements(10, tenants, new Map([["needy", 5], ["other", 5]]));
    const running = [{ tenantId: "other", priority: 0, count: 5 }];
    expect(reclaim(tenants, running, ent)).toEqual([]);
    const paused = [tenants[0]!, { ...tenants[1]!, paused: true }];
    expect(reclaim(paused, running, ent)).toEqual([{ tenantId: "other", priority: 0, count: 5 }]);
  });

  it("rounds a fractional lack up to a whole slot and a victim's excess down", () => {
    const tenants = [tenant("needy", { quotaShare: 0.25 }), tenant("big", { quotaShare: 0.75 })];
    const ent = entitlements(10, tenants, new Map([["needy", 2.5], ["big", 100]]));
    expect(get(ent, "big").entitled).toBeCloseTo(7.5, 9);
    // big runs 8 > 7.5: it can give 0 whole slots without dropping below 7.5.
    expect(reclaim(tenants, [{ tenantId: "big", priority: 0, count: 8 }], ent)).toEqual([]);
    // needy holds 1 of 2.5: it lacks 1.5, so 2 slots; big at 10 can give 2.
    const running = [
      { tenantId: "needy", priority: 0, count: 1 },
      { tenantId: "big", priority: 0, count: 10 },
    ];
    expect(reclaim(tenants, running, ent)).toEqual([{ tenantId: "big", priority: 0, count: 2 }]);
  });
});

describe("preemptions: which running slots reclaiming takes back", () => {
  const tenants = [tenant("lender", { quotaShare: 0.5 }), tenant("borrower", { quotaShare: 0.5 })];
  /** The borrower holds all 10 slots; the lender's demand of 2 has come back. */
  const ent = entitlements(
    10,
    tenants,
    new Map([
      ["lender", 2],
      ["borrower", 10],
    ]),
  );
  const slot = (ref: string, priority: number, startedS: number): RunningSlot<string> => ({
    tenantId: "borrower",
    priority,
    startedS,
    ref,
  });
  /** Six high-priority slots started first, four low-priority ones after, two of them at once. */
  const slots = [
    ...[0, 1, 2, 3, 4, 5].map((i) => slot(`high-${i}`, 5, 100 + i)),
    slot("low-old", 1, 200),
    slot("low-tie-a", 1, 300),
    slot("low-tie-b", 1, 300),
    slot("low-mid", 1, 250),
  ];
  const refs = (out: RunningSlot<string>[]) => out.map((s) => s.ref);

  it("takes the lowest priority first and, within it, the most recently started (ties: the order given)", () => {
    expect(get(ent, "borrower").entitled).toBe(8);
    expect(refs(preemptions(tenants, slots, ent))).toEqual(["low-tie-a", "low-tie-b"]);
  });

  it("agrees with reclaim's groups", () => {
    const running = [
      { tenantId: "borrower", priority: 5, count: 6 },
      { tenantId: "borrower", priority: 1, count: 4 },
    ];
    const groups = reclaim(tenants, running, ent);
    const out = preemptions(tenants, slots, ent);
    expect(out).toHaveLength(groups.reduce((n, g) => n + g.count, 0));
    for (const g of groups) {
      expect(
        out.filter((s) => s.priority === g.priority && s.tenantId === g.tenantId),
      ).toHaveLength(g.count);
    }
  });

  it("preempts nothing for a tenant with no work waiting, and no more than its waiting work fills", () => {
    expect(preemptions(tenants, slots, ent, { waiting: () => 0 })).toEqual([]);
    expect(reclaimDue(tenants, new Map([["borrower", 10]]), ent, () => 0)).toBe(false);
    const one = (id: string) => (id === "lender" ? 1 : 0);
    expect(refs(preemptions(tenants, slots, ent, { waiting: one }))).toEqual(["low-tie-a"]);
  });

  it("lets free slots serve the needy first", () => {
    expect(refs(preemptions(tenants, slots, ent, { freeSlots: 1 }))).toEqual(["low-tie-a"]);
    expect(preemptions(tenants, slots, ent, { freeSlots: 2 })).toEqual([]);
  });

  it("preempts nothing for less than a whole slot of a guarantee", () => {
    const half = entitlements(
      10,
      tenants,
      new Map([
        ["lender", 0.5],
        ["borrower", 10],
      ]),
    );
    expect(get(half, "lender").guaranteed).toBe(0.5);
    expect(preemptions(tenants, slots, half)).toEqual([]);
  });

  const withSlots = arbTenantScenario().chain((s) =>
    (s.tenants.length === 0
      ? fc.constant([])
      : fc.array(
          fc.record({
            tenantId: fc.constantFrom(...s.tenants.map((t) => t.id)),
            priority: fc.integer({ min: 0, max: 3 }),
            startedS: fc.integer({ min: 0, max: 20 }),
          }),
          { maxLength: 40 },
        )
    ).map((drawn) => ({ ...s, slots: drawn.map((d, i) => ({ ...d, ref: i })) })),
  );

  it("takes reclaim's counts per group, each slot once, never one older than a slot it spares", () => {
    fc.assert(
      fc.property(withSlots, ({ tenants: ts, capacity, demand, slots: all }) => {
        const e = entitlements(capacity, ts, demand);
        const out = preemptions(ts, all, e);
        expect(new Set(out.map((s) => s.ref)).size).toBe(out.length);
        const usage = new Map<string, number>();
        for (const s of all) usage.set(s.tenantId, (usage.get(s.tenantId) ?? 0) + 1);
        if (!reclaimDue(ts, usage, e, () => Infinity)) {
          expect(out).toEqual([]);
          return;
        }
        const groups = new Map<string, { tenantId: string; priority: number; count: number }>();
        for (const s of all) {
          const key = `${s.priority}/${s.tenantId}`;
          const g = groups.get(key) ?? { tenantId: s.tenantId, priority: s.priority, count: 0 };
          g.count++;
          groups.set(key, g);
        }
        const victims = reclaim(ts, [...groups.values()], e);
        expect(out).toHaveLength(victims.reduce((n, v) => n + v.count, 0));
        const taken = new Set(out.map((s) => s.ref));
        for (const s of out) {
          const spared = all.filter(
            (x) => x.tenantId === s.tenantId && x.priority === s.priority && !taken.has(x.ref),
          );
          for (const x of spared) expect(x.startedS).toBeLessThanOrEqual(s.startedS);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("demandSlots: the cars a job's waiting work could keep busy", () => {
  it("is its car-seconds in runs of at most maxRunS, at least one car, none for no work", () => {
    expect(demandSlots(0, 7200)).toBe(0);
    expect(demandSlots(1, 7200)).toBe(1);
    expect(demandSlots(7200, 7200)).toBe(1);
    expect(demandSlots(7201, 7200)).toBe(2);
    expect(demandSlots(10 * 7200, 7200)).toBe(10);
    expect(demandSlots(Number.NaN, 7200)).toBe(0);
  });

  it("never asks for fewer cars for more work", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.integer({ min: 1, max: 86_400 }),
        (a, b, maxRunS) =>
          demandSlots(Math.min(a, b), maxRunS) <= demandSlots(Math.max(a, b), maxRunS),
      ),
    );
  });
});

describe("meanSustainedTops", () => {
  it("is the fleet's mean peak × share, the same in any order, the fallback for no cars", () => {
    expect(meanSustainedTops([100, 300], 0.5)).toBe(100);
    expect(meanSustainedTops([], 0.5)).toBe(250);
    expect(meanSustainedTops([], 0.5, 100)).toBe(50);
    const peaks = [254, 1000, 72, 144, 254.3];
    expect(meanSustainedTops([...peaks].reverse(), 0.35)).toBe(meanSustainedTops(peaks, 0.35));
  });
});
