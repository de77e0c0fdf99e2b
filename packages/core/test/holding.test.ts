// What a car may hold: the promises behind the lease cap and renewal, for any limits and any mix
// of runs, from a tiny model's nanoseconds to runs longer than a lease lifetime.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Holding,
  type HoldingLimits,
  leasesLeft,
  longestLifeS,
  mayHold,
  NOTHING_HELD,
  renewUntilS,
  withLeases,
} from "../src/schedule/holding";
import { arbHeldLeases, arbHoldingLimits, arbRunS } from "./arbitraries";

// fast-check prints the seed and path of any failure; replay with fc.assert(prop, { seed, path }).

const LIMITS: HoldingLimits = { leaseTtlS: 120, maxLeases: 128, maxLifetimes: 3 };

/** What a car takes from `offered` runs, one by one, skipping those that do not fit (as a lease call does). */
function take(offered: readonly number[], limits: HoldingLimits, from: Holding = NOTHING_HELD) {
  let held = from;
  const taken: number[] = [];
  for (const runS of offered) {
    if (!mayHold(held, runS, limits)) continue;
    held = withLeases(held, runS);
    taken.push(runS);
  }
  return { held, taken };
}

describe("mayHold: what a car may take", () => {
  it("takes what fits one lease lifetime of runs: ten of 11 s in 120 s", () => {
    expect(take(Array(50).fill(11), LIMITS).taken).toHaveLength(10);
  });

  it("takes at most the count cap of runs that take nanoseconds", () => {
    expect(take(Array(1000).fill(3e-11), LIMITS).taken).toHaveLength(128);
  });

  it("takes one task longer than a lifetime when it holds nothing, and then no more", () => {
    expect(take([500, 1, 500], LIMITS).taken).toEqual([500]);
  });

  it("a car that holds nothing may take any one task", () => {
    fc.assert(
      fc.property(arbHoldingLimits, arbRunS, (limits, runS) => mayHold(NOTHING_HELD, runS, limits)),
    );
  });

  it("never holds more than the count cap, nor more than a lifetime of runs beyond its first", () => {
    fc.assert(
      fc.property(arbHoldingLimits, fc.array(arbRunS, { maxLength: 400 }), (limits, offered) => {
        const { held, taken } = take(offered, limits);
        expect(held.leases).toBeLessThanOrEqual(limits.maxLeases);
        if (held.leases > 1) expect(held.runS).toBeLessThanOrEqual(limits.leaseTtlS);
        // A call that offers anything gives at least one task.
        if (offered.length > 0) expect(taken.length).toBeGreaterThan(0);
      }),
    );
  });

  it("leasesLeft is how many more of one run a car may take: none once it is full", () => {
    fc.assert(
      fc.property(
        arbHoldingLimits,
        fc.array(arbRunS, { maxLength: 400 }),
        arbRunS,
        (limits, offered, runS) => {
          const { held } = take(offered, limits);
          const left = leasesLeft(held, runS, limits);
          expect(take(Array(limits.maxLeases).fill(runS), limits, held).taken).toHaveLength(left);
          expect(mayHold(held, runS, limits)).toBe(left > 0);
        },
      ),
    );
  });
});

describe("renewUntilS: what a renewal extends", () => {
  it("extends every lease of a car that holds what it may, through its first lifetime", () => {
    fc.assert(
      fc.property(
        arbHoldingLimits,
        fc.array(arbRunS, { maxLength: 300 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (limits, offered, share) => {
          const { taken } = take(offered, limits);
          const nowS = share * limits.leaseTtlS;
          const until = renewUntilS(
            taken.map((runS) => ({ leasedAtS: 0, runS })),
            nowS,
            limits,
          );
          expect(until.every((u) => u !== null && u > nowS)).toBe(true);
        },
      ),
    );
  });

  it("extends at most one lifetime from now, never past a lease's longest life", () => {
    fc.assert(
      fc.property(
        arbHoldingLimits,
        arbHeldLeases(),
        fc.integer({ min: 0, max: 6 * 3600 }),
        (limits, leases, nowS) => {
          renewUntilS(leases, nowS, limits).forEach((until, i) => {
            if (until === null) return;
            const lease = leases[i]!;
            expect(until).toBeGreaterThan(nowS);
            expect(until).toBeLessThanOrEqual(nowS + limits.leaseTtlS);
            expect(until).toBeLessThanOrEqual(lease.leasedAtS + longestLifeS(lease.runS, limits));
          });
        },
      ),
    );
  });

  it("keeps only the oldest leases, those that fit what the car may hold", () => {
    fc.assert(
      fc.property(arbHoldingLimits, arbHeldLeases(), (limits, drawn) => {
        // Every lease in its first lifetime at 0: what the car may hold alone decides.
        const leases = drawn.map((l) => ({ ...l, leasedAtS: -(-l.leasedAtS % limits.leaseTtlS) }));
        const until = renewUntilS(leases, 0, limits);
        const order = leases
          .map((lease, i) => ({ lease, kept: until[i] !== null }))
          .sort((a, b) => a.lease.leasedAtS - b.lease.leasedAtS);
        const kept = order.filter((o) => o.kept).length;
        // A prefix in age order ...
        expect(order.slice(0, kept).every((o) => o.kept)).toBe(true);
        // ... that the car could have taken, and not one lease more.
        const prefix = order
          .slice(0, kept)
          .reduce((h, o) => withLeases(h, o.lease.runS), NOTHING_HELD);
        expect(prefix.leases).toBeLessThanOrEqual(limits.maxLeases);
        if (prefix.leases > 1) expect(prefix.runS).toBeLessThanOrEqual(limits.leaseTtlS);
        const next = order[kept];
        if (next) expect(mayHold(prefix, next.lease.runS, limits)).toBe(false);
      }),
    );
  });

  it("lets a lease renewed again and again run out within its longest life", () => {
    fc.assert(
      fc.property(
        arbHoldingLimits,
        fc.array(arbRunS, { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0.05, max: 0.95, noNaN: true }),
        (limits, offered, step) => {
          const { taken } = take(offered, limits);
          const leases = taken.map((runS) => ({
            leasedAtS: 0,
            runS,
            expiresAtS: limits.leaseTtlS,
          }));
          const stepS = step * limits.leaseTtlS;
          const lastS = Math.max(...leases.map((l) => longestLifeS(l.runS, limits)));
          // The car renews everything it still holds every `stepS`, before each lease runs out.
          for (let nowS = stepS; nowS <= lastS + limits.leaseTtlS; nowS += stepS) {
            const live = leases.filter((l) => l.expiresAtS > nowS);
            renewUntilS(live, nowS, limits).forEach((until, i) => {
              if (until !== null) live[i]!.expiresAtS = until;
            });
          }
          for (const lease of leases) {
            expect(lease.expiresAtS).toBeLessThanOrEqual(longestLifeS(lease.runS, limits));
          }
        },
      ),
    );
  });

  it("counts a lease the car does not name: it takes room until it runs out", () => {
    // Ten runs of 11 s fill 120 s; an eleventh, newer, is not renewed while they are held.
    const leases = [
      ...Array.from({ length: 10 }, (_, i) => ({ leasedAtS: i, runS: 11 })),
      { leasedAtS: 20, runS: 11 },
    ];
    const until = renewUntilS(leases, 30, LIMITS);
    expect(until.slice(0, 10)).toEqual(Array(10).fill(150));
    expect(until[10]).toBeNull();
  });

  it("gives a run longer than a lifetime as many lifetimes of its own length", () => {
    expect(longestLifeS(500, LIMITS)).toBe(1500);
    expect(renewUntilS([{ leasedAtS: 0, runS: 500 }], 1400, LIMITS)).toEqual([1500]);
    expect(renewUntilS([{ leasedAtS: 0, runS: 500 }], 1500, LIMITS)).toEqual([null]);
  });
});
