import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRng } from "../src/random";
import { DEFAULT_SCHEDULE_CONFIG } from "../src/schedule/config";
import { decide } from "../src/schedule/decide";
import { carRejection, workRejection } from "../src/schedule/filters";
import { place } from "../src/schedule/place";
import { WorkQueue } from "../src/schedule/queue";
import type { Tenant, Vehicle, WorkItem } from "../src/types";
import { arbFleet, arbNowS, arbRegionSet, arbWorkItem } from "./arbitraries";
import { car, ctxAt, HOUR_S, tenant, tenantState, work } from "./fixtures";

// fast-check prints the seed and path of any failure; replay with fc.assert(prop, { seed, path }).

const cfg = DEFAULT_SCHEDULE_CONFIG;
const T0 = 12 * HOUR_S;
const ctx = ctxAt(T0);
const TWO = [tenant("t1", { quotaShare: 0.5 }), tenant("t2", { quotaShare: 0.5 })];

function queueOf(items: readonly WorkItem[]): WorkQueue {
  const q = new WorkQueue();
  for (const w of items) q.push(w);
  return q;
}

/** Entitlements for `capacity` cars with each tenant's demand read from the queue. */
function stateFor(tenants: readonly Tenant[], q: WorkQueue, capacity: number, usage = new Map<string, number>()) {
  return tenantState(tenants, capacity, new Map(tenants.map((t) => [t.id, q.demand(t.id)])), usage);
}

describe("decide", () => {
  it("gives no work to a car a filter rejects, with the reason", () => {
    const q = queueOf([work()]);
    const s = stateFor(TWO, q, 10);
    const cases: [Vehicle, string][] = [
      [car({ state: "driving" }), "driving"],
      [car({ reputation: { ...car().reputation, quarantined: true } }), "quarantined"],
      [car({}, { optedIn: false }), "opted-out"],
      [car({}, { allowedHours: { startHour: 22, endHour: 6 } }), "outside-allowed-hours"],
      [car({ predictedDepartureS: T0 + 60 }), "departs-too-soon"],
      [car({ battery: { ...car().battery, socPct: 20 } }, { minDepartureChargePct: 10 }), "low-energy"],
    ];
    for (const [v, reason] of cases) expect(decide(v, q, s, ctx)).toEqual({ item: null, reason });
    expect(q.size).toBe(1);
    expect(q.items("t1").next().value?.inferences).toBe(10);
  });

  it("says no-work for an empty queue", () => {
    expect(decide(car(), new WorkQueue(), stateFor(TWO, new WorkQueue(), 10), ctx)).toEqual({
      item: null,
      reason: "no-work",
    });
  });

  it("serves the tenant furthest below its entitlement", () => {
    const items = () => [work({ id: "a", tenantId: "t1" }), work({ id: "b", tenantId: "t2" })];
    // Both ask for 10 and are entitled to 5 of 10 cars: one runs 4 (80 %), the other 1 (20 %).
    const demand = new Map([["t1", 10], ["t2", 10]]);
    const d1 = decide(car(), queueOf(items()), tenantState(TWO, 10, demand, new Map([["t1", 4], ["t2", 1]])), ctx);
    expect(d1.item?.tenantId).toBe("t2");
    const d2 = decide(car(), queueOf(items()), tenantState(TWO, 10, demand, new Map([["t1", 1], ["t2", 4]])), ctx);
    expect(d2.item?.tenantId).toBe("t1");
    // 0 of 2 (0 %) before 1 of 8 (12.5 %), though the second runs fewer cars.
    const uneven = [tenant("t1", { quotaShare: 0.8 }), tenant("t2", { quotaShare: 0.2 })];
    const d3 = decide(car(), queueOf(items()), tenantState(uneven, 10, demand, new Map([["t1", 1]])), ctx);
    expect(d3.item?.tenantId).toBe("t2");
  });

  it("serves a tenant below its guaranteed whole cars before borrowers with fractional shares", () => {
    // 8 cars: t3 is guaranteed 5 (63 % quota) and runs 4; t0, t1 and t2 have no quota and borrow
    // the rest, 0.75, 0.75 and 1.5 cars. By ratio alone t0 (0 of 0.75) would come first.
    const tenants = [
      tenant("t0"),
      tenant("t1"),
      tenant("t2", { weight: 2 }),
      tenant("t3", { quotaShare: 0.63 }),
    ];
    const demand = new Map([["t0", 1], ["t1", 1], ["t2", 2], ["t3", 5]]);
    const state = tenantState(tenants, 8, demand, new Map([["t3", 4]]));
    expect(state.entitlements.get("t0")?.entitled).toBeCloseTo(0.75, 9);
    const q = queueOf(tenants.map((t) => work({ id: `w-${t.id}`, tenantId: t.id })));
    expect(decide(car(), q, state, ctx).item?.tenantId).toBe("t3");
    // At its guarantee, fair share again: the borrower furthest below its entitlement.
    const after = tenantState(tenants, 8, demand, new Map([["t3", 5]]));
    expect(decide(car(), q, after, ctx).item?.tenantId).toBe("t2");
  });

  it("gives a paused tenant nothing", () => {
    const paused = [tenant("t1", { quotaShare: 0.9, paused: true }), tenant("t2", { quotaShare: 0.1 })];
    const only = queueOf([work({ id: "a", tenantId: "t1" })]);
    expect(decide(car(), only, stateFor(paused, only, 10), ctx)).toEqual({ item: null, reason: "no-work" });
    expect(only.size).toBe(1);
    const both = queueOf([work({ id: "a", tenantId: "t1" }), work({ id: "b", tenantId: "t2" })]);
    expect(decide(car(), both, stateFor(paused, both, 10), ctx).item?.id).toBe("b");
  });

  it("takes what it binds out of the queue: part of a divisible item, all of a whole one", () => {
    const big = work({ id: "big", inferences: 100_000 });
    const q = queueOf([big]);
    const d = decide(car(), q, stateFor(TWO, q, 10), ctx);
    expect(d).toMatchObject({ item: big, inferences: cfg.maxRunS });
    expect(q.holds(big)).toBe(true);
    expect(big.inferences).toBe(100_000 - cfg.maxRunS);

    const whole = work({ id: "whole", divisible: false, inferences: 50 });
    const q2 = queueOf([whole]);
    expect(decide(car(), q2, stateFor(TWO, q2, 10), ctx)).toMatchObject({ item: whole, inferences: 50 });
    expect(q2.holds(whole)).toBe(false);
    expect(q2.size).toBe(0);
  });

  it("skips an item the car cannot fit for the next one", () => {
    const huge = work({ id: "huge", priority: 9, model: { id: "llm", memoryGB: 140, teraOpsPerInference: 150 } });
    const tooLong = work({ id: "long", priority: 8, divisible: false, inferences: cfg.maxRunS + 1 });
    const fits = work({ id: "fits", priority: 0 });
    const q = queueOf([huge, tooLong, fits]);
    expect(decide(car(), q, stateFor(TWO, q, 10), ctx).item?.id).toBe("fits");
    expect(q.holds(huge) && q.holds(tooLong)).toBe(true);
    // Nothing left that fits: the last reason found.
    expect(decide(car(), q, stateFor(TWO, q, 10), ctx)).toEqual({ item: null, reason: "low-energy" });
  });

  it("moves on to the next tenant when none of the first one's items fit", () => {
    const q = queueOf([
      work({ id: "a", tenantId: "t1", excludeOwnerIds: ["owner-1"] }),
      work({ id: "b", tenantId: "t2" }),
    ]);
    const d = decide(car(), q, { ...stateFor(TWO, q, 10), usage: new Map([["t2", 3]]) }, ctx);
    expect(d.item?.id).toBe("b");
  });

  it("binds the best-scoring of the passing items", () => {
    const q = queueOf([work({ id: "remote", dataRegionId: "r-east" }), work({ id: "local", dataRegionId: "r-west" })]);
    expect(decide(car(), q, stateFor(TWO, q, 10), ctx).item?.id).toBe("local");
  });
});

describe("place: examples", () => {
  it("returns nothing for an empty fleet and leaves the queue alone", () => {
    const w = work();
    const q = queueOf([w]);
    expect(place(q, [], stateFor(TWO, q, 0), ctx, createRng(1))).toEqual([]);
    expect(q.holds(w)).toBe(true);
    expect(w.inferences).toBe(10);
  });

  it("returns nothing for an empty queue", () => {
    const q = new WorkQueue();
    expect(place(q, [car(), car({ id: "car-2" })], stateFor(TWO, q, 2), ctx, createRng(1))).toEqual([]);
  });

  it("spreads a divisible item over cars, one run each, and sets aside what fits no car", () => {
    const big = work({ id: "big", inferences: 20_000 });
    const huge = work({ id: "huge", priority: 5, model: { id: "llm", memoryGB: 140, teraOpsPerInference: 150 } });
    const q = queueOf([huge, big]);
    const cars = [car({ id: "a" }), car({ id: "b", ownerId: "o2" }), car({ id: "c", state: "driving" })];
    const out = place(q, cars, stateFor(TWO, q, 3), ctx, createRng(7));
    expect(out.map((p) => p.vehicle.id).sort()).toEqual(["a", "b"]);
    expect(out.every((p) => p.item === big && p.inferences === cfg.maxRunS)).toBe(true);
    expect(big.inferences).toBe(20_000 - 2 * cfg.maxRunS);
    expect(q.holds(huge)).toBe(true);
  });

  it("never puts a replica on a car or owner that holds another", () => {
    const cars = [car({ id: "a", ownerId: "o1" }), car({ id: "b", ownerId: "o1" }), car({ id: "c", ownerId: "o2" })];
    const r = work({ id: "r2", divisible: false, excludeVehicleIds: ["c"], excludeOwnerIds: ["o1"] });
    const q = queueOf([r]);
    expect(place(q, cars, stateFor(TWO, q, 3), ctx, createRng(3))).toEqual([]);
    const r3 = work({ id: "r3", divisible: false, excludeVehicleIds: ["a"], excludeOwnerIds: [] });
    const q3 = queueOf([r3]);
    const out = place(q3, cars, stateFor(TWO, q3, 3), ctx, createRng(3));
    expect(out).toHaveLength(1);
    expect(out[0]?.vehicle.id).not.toBe("a");
  });
});

// ---- properties ----

const TENANT_IDS = ["t1", "t2", "t3"];

/** A queue's worth of items with unique ids; replicas name cars of arbFleet ("v0"…) and owners. */
const arbItems = fc.uniqueArray(
  fc.record({
    w: arbWorkItem(),
    tenantId: fc.constantFrom(...TENANT_IDS),
    excludeVehicleIds: fc.subarray(["v0", "v1", "v2", "v3", "v4", "v5"], { maxLength: 3 }),
  }),
  { selector: (r) => r.w.id, maxLength: 30 },
).map((rows) => rows.map(({ w, tenantId, excludeVehicleIds }) => ({ ...w, tenantId, excludeVehicleIds })));

const arbScene = fc.record({
  regions: arbRegionSet,
  cars: arbFleet(24),
  items: arbItems,
  nowS: arbNowS,
  quotas: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 3, maxLength: 3 }),
  seed: fc.integer(),
});

const clone = (items: readonly WorkItem[]): WorkItem[] => items.map((w) => ({ ...w }));
const tenantsOf = (quotas: readonly number[]) =>
  TENANT_IDS.map((id, i) => tenant(id, { quotaShare: (quotas[i] as number) / 30 }));

describe("place: properties", () => {
  it("binds each car at most once, only where every filter passes, and keeps the queue's books", () => {
    let placed = 0;
    fc.assert(
      fc.property(arbScene, ({ regions, cars, items, nowS, quotas, seed }) => {
        const c = ctxAt(nowS, regions);
        const before = new Map(items.map((w) => [w.id, { ...w }]));
        const q = queueOf(items);
        const tenants = tenantsOf(quotas);
        const out = place(q, cars, stateFor(tenants, q, cars.length), c, createRng(seed));
        placed += out.length;

        const seen = new Set<string>();
        const taken = new Map<string, number>();
        for (const p of out) {
          expect(seen.has(p.vehicle.id)).toBe(false);
          seen.add(p.vehicle.id);
          const w = before.get(p.item.id) as WorkItem;
          expect(carRejection(p.vehicle, c)).toBeNull();
          // The filters as they stood before this round took anything from the item.
          expect(workRejection(p.vehicle, w, c)).toBeNull();
          expect(w.excludeVehicleIds).not.toContain(p.vehicle.id);
          expect(w.excludeOwnerIds).not.toContain(p.vehicle.ownerId);
          expect(p.inferences).toBeGreaterThan(0);
          if (!w.divisible) expect(p.inferences).toBe(w.inferences);
          else if (w.maxRunInferences !== undefined) expect(p.inferences).toBeLessThanOrEqual(w.maxRunInferences);
          taken.set(w.id, (taken.get(w.id) ?? 0) + p.inferences);
        }
        // What left the queue is what was bound.
        for (const [id, w] of before) {
          const t = taken.get(id) ?? 0;
          const queued = [...q.items(w.tenantId)].find((x) => x.id === id);
          if (t === 0) expect(queued?.inferences).toBe(w.inferences);
          else if (queued) expect(queued.inferences + t).toBe(w.inferences);
          else expect(t).toBe(w.inferences);
        }
        expect(q.size).toBe([...before.keys()].filter((id) => !taken.has(id) || taken.get(id) !== before.get(id)?.inferences).length);
      }),
      { numRuns: 300 },
    );
    expect(placed).toBeGreaterThan(100);
  });

  it("decide binds only work that passes every filter, and takes it from the queue", () => {
    let bound = 0;
    fc.assert(
      fc.property(arbScene, fc.nat(23), ({ regions, cars, items, nowS, quotas }, k) => {
        const v = cars[k % Math.max(1, cars.length)];
        if (v === undefined) return;
        const c = ctxAt(nowS, regions);
        const before = new Map(items.map((w) => [w.id, { ...w }]));
        const q = queueOf(items);
        const d = decide(v, q, stateFor(tenantsOf(quotas), q, cars.length), c);
        if (d.item === null) {
          expect(q.size).toBe(items.length);
          return;
        }
        bound++;
        const w = before.get(d.item.id) as WorkItem;
        expect(carRejection(v, c)).toBeNull();
        expect(workRejection(v, w, c)).toBeNull();
        expect(d.inferences).toBeGreaterThan(0);
        expect(d.inferences).toBeLessThanOrEqual(w.inferences);
        if (d.inferences === w.inferences) expect(q.holds(d.item)).toBe(false);
        else expect(d.item.inferences).toBe(w.inferences - d.inferences);
      }),
      { numRuns: 300 },
    );
    expect(bound).toBeGreaterThan(10);
  });

  it("places the same way from the same seed", () => {
    fc.assert(
      fc.property(arbScene, ({ regions, cars, items, nowS, quotas, seed }) => {
        const run = () => {
          const q = queueOf(clone(items));
          const out = place(q, cars, stateFor(tenantsOf(quotas), q, cars.length), ctxAt(nowS, regions), createRng(seed));
          return out.map((p) => [p.vehicle.id, p.item.id, p.inferences]);
        };
        expect(run()).toEqual(run());
      }),
      { numRuns: 100 },
    );
  });

  it("gives each tenant with enough work at least ⌊min(demand, quota × capacity)⌋ cars under contention", () => {
    // Every car can run every item, and there is more work than cars: placements are decided by
    // fair share alone.
    const arbContention = fc.record({
      n: fc.integer({ min: 1, max: 40 }),
      tenants: fc.array(
        fc.record({ quota: fc.integer({ min: 0, max: 100 }), weight: fc.integer({ min: 1, max: 4 }), demand: fc.integer({ min: 0, max: 50 }) }),
        { minLength: 1, maxLength: 6 },
      ),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(arbContention, ({ n, tenants: rows, seed }) => {
        const quotaSum = rows.reduce((s, r) => s + r.quota, 0);
        const tenants = rows.map((r, i) =>
          tenant(`t${i}`, { quotaShare: quotaSum > 100 ? r.quota / quotaSum : r.quota / 100, weight: r.weight }),
        );
        const items = rows.flatMap((r, i) =>
          Array.from({ length: r.demand }, (_, k) => work({ id: `t${i}-${k}`, tenantId: `t${i}`, divisible: false })),
        );
        const cars = Array.from({ length: n }, (_, k) => car({ id: `c${k}`, ownerId: `o${k}` }));
        const q = queueOf(items);
        const state = stateFor(tenants, q, n);
        const out = place(q, cars, state, ctx, createRng(seed));
        expect(out).toHaveLength(Math.min(n, items.length));
        for (const t of tenants) {
          const got = out.filter((p) => p.item.tenantId === t.id).length;
          const demand = rows[Number(t.id.slice(1))]?.demand ?? 0;
          const owed = Math.floor(Math.min(demand, t.quotaShare * n) + 1e-9);
          expect(got, `${t.id} of ${JSON.stringify(tenants)}`).toBeGreaterThanOrEqual(owed);
        }
      }),
      { numRuns: 300 },
    );
  });
});
