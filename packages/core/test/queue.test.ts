import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WorkQueue } from "../src/schedule/queue";
import type { WorkItem } from "../src/types";
import { work } from "./fixtures";

// fast-check prints the seed and path of any failure; replay with fc.assert(prop, { seed, path }).

const ids = (q: WorkQueue, tenantId: string) => [...q.items(tenantId)].map((w) => w.id);
/** A divisible item keeps ⌈inferences / 10⌉ cars busy; a whole one, one car. */
const slotsOf = (w: WorkItem) => (w.divisible ? Math.ceil(w.inferences / 10) : 1);

describe("WorkQueue", () => {
  it("yields a tenant's items by priority, then in arrival order", () => {
    const q = new WorkQueue();
    q.push(work({ id: "a", priority: 0 }));
    q.push(work({ id: "b", priority: 2 }));
    q.push(work({ id: "c", priority: 0 }));
    q.push(work({ id: "d", priority: 1 }));
    q.push(work({ id: "e", priority: 2 }));
    expect(ids(q, "t1")).toEqual(["b", "e", "d", "a", "c"]);
    expect(q.size).toBe(5);
    expect(q.pending("t1")).toBe(5);
  });

  it("keeps tenants apart", () => {
    const q = new WorkQueue();
    q.push(work({ id: "a", tenantId: "t1" }));
    q.push(work({ id: "b", tenantId: "t2", priority: 5 }));
    q.push(work({ id: "c", tenantId: "t1" }));
    expect(ids(q, "t1")).toEqual(["a", "c"]);
    expect(ids(q, "t2")).toEqual(["b"]);
    expect(ids(q, "t3")).toEqual([]);
    q.consume(q.items("t1").next().value as WorkItem, 10);
    expect(ids(q, "t2")).toEqual(["b"]);
    expect(q.pending("t2")).toBe(1);
    expect(q.hasWork("t2")).toBe(true);
    expect(q.hasWork("t3")).toBe(false);
    expect(q.tenantIds().sort()).toEqual(["t1", "t2"]);
  });

  it("consume of part of a divisible item keeps its place with the remainder", () => {
    const q = new WorkQueue(slotsOf);
    const a = work({ id: "a", inferences: 100 });
    q.push(a);
    q.push(work({ id: "b" }));
    q.consume(a, 30);
    expect(a.inferences).toBe(70);
    expect(ids(q, "t1")).toEqual(["a", "b"]);
    expect(q.holds(a)).toBe(true);
    expect(q.size).toBe(2);
    expect(q.demand("t1")).toBe(7 + 1);
  });

  it("consume of all of an item, or of any of a whole one, removes it", () => {
    const q = new WorkQueue(slotsOf);
    const a = work({ id: "a", inferences: 100 });
    const b = work({ id: "b", inferences: 100, divisible: false });
    q.push(a);
    q.push(b);
    q.consume(b, 1);
    expect(q.holds(b)).toBe(false);
    q.consume(a, 100);
    expect(q.holds(a)).toBe(false);
    expect(q.size).toBe(0);
    expect(q.pending("t1")).toBe(0);
    expect(q.demand("t1")).toBe(0);
    expect(q.hasWork("t1")).toBe(false);
    expect(ids(q, "t1")).toEqual([]);
  });

  it("consume of nothing is a no-op; of an item not queued, an error", () => {
    const q = new WorkQueue();
    const a = work({ id: "a" });
    q.push(a);
    q.consume(a, 0);
    expect(q.holds(a)).toBe(true);
    expect(() => q.consume(work({ id: "zz" }), 1)).toThrow(/not queued/);
  });

  it("grow adds inferences back to a waiting divisible item", () => {
    const q = new WorkQueue(slotsOf);
    const a = work({ id: "a", inferences: 10 });
    q.push(a);
    q.grow(a, 25);
    expect(a.inferences).toBe(35);
    expect(q.demand("t1")).toBe(4);
    expect(() => q.grow(work({ id: "zz" }), 1)).toThrow(/not queued/);
    const whole = work({ id: "w", divisible: false });
    q.push(whole);
    expect(() => q.grow(whole, 1)).toThrow(/not divisible/);
  });

  it("keeps demand through slotsOf", () => {
    const q = new WorkQueue(slotsOf);
    q.push(work({ id: "a", inferences: 95 })); // 10
    q.push(work({ id: "b", inferences: 5 })); // 1
    q.push(work({ id: "c", divisible: false, inferences: 1000 })); // 1
    q.push(work({ id: "d", tenantId: "t2", inferences: 20 })); // 2
    expect(q.demand("t1")).toBe(12);
    expect(q.demand("t2")).toBe(2);
    expect(q.demand("t3")).toBe(0);
    expect(new WorkQueue().demand("t1")).toBe(0);
  });

  it("remove drops an item wherever it stands, even one with no inferences left", () => {
    const q = new WorkQueue(slotsOf);
    const a = work({ id: "a" });
    const b = work({ id: "b", inferences: 0 });
    const c = work({ id: "c" });
    for (const w of [a, b, c]) q.push(w);
    q.remove(a);
    q.remove(b);
    expect(ids(q, "t1")).toEqual(["c"]);
    expect(q.holds(b)).toBe(false);
    expect(q.size).toBe(1);
    expect(q.demand("t1")).toBe(1);
  });

  it("refuses an id that is already queued, and takes it again once it has left", () => {
    const q = new WorkQueue();
    const a = work({ id: "a" });
    const b = work({ id: "b" });
    q.push(a);
    expect(() => q.push(work({ id: "a" }))).toThrow(/already queued/);
    q.push(b);
    q.push(work({ id: "c" }));
    q.remove(b); // behind the head: its slot stays in the lane
    const again = work({ id: "b", inferences: 3 });
    q.push(again);
    expect(ids(q, "t1")).toEqual(["a", "c", "b"]);
    expect([...q.items("t1")][2]).toBe(again);
    q.remove(a);
    q.push(a); // the same object again
    expect(ids(q, "t1")).toEqual(["c", "b", "a"]);
    expect(q.size).toBe(3);
  });

  it("keeps order across many items consumed from the front (compaction)", () => {
    const q = new WorkQueue();
    const items = Array.from({ length: 3000 }, (_, i) => work({ id: `w${i}`, priority: i % 2 }));
    for (const w of items) q.push(w);
    for (let i = 0; i < 2600; i++) q.consume(items[i] as WorkItem, 10);
    const left = items.slice(2600);
    expect(ids(q, "t1")).toEqual([...left.filter((w) => w.priority === 1), ...left.filter((w) => w.priority === 0)].map((w) => w.id));
    expect(q.size).toBe(400);
  });
});

// ---- model-based: WorkQueue against a plain array ----

interface Entry {
  item: WorkItem;
  /** What the reference believes the item holds. */
  inferences: number;
  seq: number;
}

interface Model {
  entries: Entry[];
  seq: number;
}

const TENANTS = ["t1", "t2", "t3"];
/** A small pool of ids, so that ids come back after their item has left. */
const ID_POOL = 5;

function expectAgree(m: Model, q: WorkQueue): void {
  expect(q.size).toBe(m.entries.length);
  for (const t of TENANTS) {
    const mine = m.entries
      .filter((e) => e.item.tenantId === t)
      .sort((a, b) => b.item.priority - a.item.priority || a.seq - b.seq);
    const theirs = [...q.items(t)];
    expect(theirs.map((w) => w.id)).toEqual(mine.map((e) => e.item.id));
    theirs.forEach((w, i) => expect(w).toBe(mine[i]?.item));
    for (const e of mine) expect(e.item.inferences).toBe(e.inferences);
    expect(q.pending(t)).toBe(mine.length);
    expect(q.hasWork(t)).toBe(mine.length > 0);
    expect(q.demand(t)).toBe(mine.reduce((s, e) => s + slotsOf({ ...e.item, inferences: e.inferences }), 0));
  }
  for (const e of m.entries) expect(q.holds(e.item)).toBe(true);
}

const pick = (m: Model, k: number): Entry | undefined => m.entries[k % Math.max(1, m.entries.length)];

class Push implements fc.Command<Model, WorkQueue> {
  constructor(
    readonly id: number,
    readonly tenantId: string,
    readonly priority: number,
    readonly divisible: boolean,
    readonly inferences: number,
  ) {}
  check = () => true;
  run(m: Model, q: WorkQueue): void {
    const item = work({
      id: `i${this.id}`,
      tenantId: this.tenantId,
      priority: this.priority,
      divisible: this.divisible,
      inferences: this.inferences,
    });
    if (m.entries.some((e) => e.item.id === item.id)) {
      expect(() => q.push(item)).toThrow(/already queued/);
    } else {
      q.push(item);
      m.entries.push({ item, inferences: item.inferences, seq: m.seq++ });
    }
    expectAgree(m, q);
  }
  toString = () => `push(i${this.id}, ${this.tenantId}, p${this.priority}, ${this.divisible ? "div" : "whole"}, ${this.inferences})`;
}

class Consume implements fc.Command<Model, WorkQueue> {
  constructor(
    readonly k: number,
    readonly amount: number,
  ) {}
  check = (m: Readonly<Model>) => m.entries.length > 0;
  run(m: Model, q: WorkQueue): void {
    const e = pick(m, this.k) as Entry;
    q.consume(e.item, this.amount);
    if (this.amount > 0) {
      if (e.item.divisible && this.amount < e.inferences) e.inferences -= this.amount;
      else m.entries.splice(m.entries.indexOf(e), 1);
    }
    expectAgree(m, q);
  }
  toString = () => `consume(#${this.k}, ${this.amount})`;
}

class Grow implements fc.Command<Model, WorkQueue> {
  constructor(
    readonly k: number,
    readonly amount: number,
  ) {}
  check = (m: Readonly<Model>) => m.entries.length > 0;
  run(m: Model, q: WorkQueue): void {
    const e = pick(m, this.k) as Entry;
    if (!e.item.divisible) {
      expect(() => q.grow(e.item, this.amount)).toThrow(/not divisible/);
    } else {
      q.grow(e.item, this.amount);
      e.inferences += this.amount;
    }
    expectAgree(m, q);
  }
  toString = () => `grow(#${this.k}, ${this.amount})`;
}

class Remove implements fc.Command<Model, WorkQueue> {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => m.entries.length > 0;
  run(m: Model, q: WorkQueue): void {
    const e = pick(m, this.k) as Entry;
    q.remove(e.item);
    m.entries.splice(m.entries.indexOf(e), 1);
    expect(q.holds(e.item)).toBe(false);
    expectAgree(m, q);
  }
  toString = () => `remove(#${this.k})`;
}

describe("WorkQueue: model-based", () => {
  const commands = [
    fc
      .tuple(
        fc.integer({ min: 0, max: ID_POOL - 1 }),
        fc.constantFrom("t1", "t1", "t2"), // t3 stays empty
        fc.integer({ min: 0, max: 1 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 40 }),
      )
      .map(([id, t, p, d, n]) => new Push(id, t, p, d, n)),
    fc.tuple(fc.nat(), fc.integer({ min: -1, max: 45 })).map(([k, n]) => new Consume(k, n)),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 30 })).map(([k, n]) => new Grow(k, n)),
    fc.nat().map((k) => new Remove(k)),
  ];

  it("agrees with a naive array on push, consume, grow, remove, items, size, pending and demand", () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 80 }), (cmds) => {
        fc.modelRun(() => ({ model: { entries: [], seq: 0 }, real: new WorkQueue(slotsOf) }), cmds);
      }),
      { numRuns: 1000 },
    );
  });
});
