// What a car may hold: no more work than the server estimates it can run within one lease
// lifetime, and a lease renewed only while the car could still be running it. The run figures
// are the server's (hardware.ts `estimatedRunS`: the car's hardware class as enrolled and the
// model's cost), never the car's own: what a car reports (its charger, its departure, its
// charge) can lower what one lease call gives it (filters.ts `maxRunS`), never raise what it
// holds. One rule for taking and for renewing: the leases a car may keep are the oldest ones it
// could have taken under it.

export interface HoldingLimits {
  /** How long a lease lasts unrenewed, s: a car holds what it can run in one such lifetime. */
  leaseTtlS: number;
  /**
   * Most leases a car holds, however short their runs: a model that runs in microseconds would
   * otherwise let one car hold every open task (each task costs a car more than its run).
   */
  maxLeases: number;
  /**
   * How long a lease may live in all, renewals included, in lifetimes, or in its own estimated
   * runs where one run is longer than a lifetime (at least 1).
   */
  maxLifetimes: number;
}

/** What a car holds: its leases and the server's estimate of their runs together, s. */
export interface Holding {
  leases: number;
  runS: number;
}

export const NOTHING_HELD: Holding = Object.freeze({ leases: 0, runS: 0 });

/**
 * Whether a car that holds `held` may take one more task whose run the server estimates at
 * `runS` seconds: while what it holds fits one lease lifetime and the count cap. A car that holds
 * nothing may always take one task, however long (the call's run budget still decides whether
 * its energy and departure allow it).
 */
export function mayHold(held: Holding, runS: number, limits: HoldingLimits): boolean {
  if (held.leases === 0) return true;
  return held.leases < limits.maxLeases && held.runS + runS <= limits.leaseTtlS;
}

/** `held` and `count` more leases of `runS` each. */
export function withLeases(held: Holding, runS: number, count = 1): Holding {
  return { leases: held.leases + count, runS: held.runS + runS * count };
}

/**
 * How many more tasks of `runS` each a car that holds `held` may take (mayHold, task by task):
 * with the cheapest run it can be given, the most one call can give it.
 */
export function leasesLeft(held: Holding, runS: number, limits: HoldingLimits): number {
  let left = 0;
  for (let h = held; left < limits.maxLeases && mayHold(h, runS, limits); h = withLeases(h, runS)) {
    left++;
  }
  return left;
}

/**
 * The longest a lease of `runS` may live, s, from when it was leased: `maxLifetimes` lifetimes,
 * or as many runs where one run is longer. A car that runs at the server's estimate finishes all
 * it holds within its first lifetime (mayHold); the rest is room for a car slower than its
 * class, or a result waiting for the server to be reachable.
 */
export function longestLifeS(runS: number, limits: HoldingLimits): number {
  return limits.maxLifetimes * Math.max(limits.leaseTtlS, runS);
}

/** A lease a car holds, as renewal sees it. */
export interface HeldLease {
  /** When it was leased, s, on the same clock as `nowS`. */
  leasedAtS: number;
  /** The server's estimate of its run on the car, s. */
  runS: number;
}

/**
 * Until when each of a car's leases may be renewed now (s), or null where it may not: what
 * renewal extends is only what the car could be running. The car's leases, oldest first, are kept
 * while they fit what it could have taken (mayHold), so a car that holds more than it can run in
 * one lifetime keeps renewing only its oldest; and none is extended past its longest life. A
 * lease not renewed runs out at its expiry and its work goes back to the queue.
 *
 * `leases` are all the leases the car holds (in any order), those it asks to renew or not: a
 * lease it leaves to run out still takes room until it does. The answer is in the same order.
 */
export function renewUntilS(
  leases: readonly HeldLease[],
  nowS: number,
  limits: HoldingLimits,
): (number | null)[] {
  const oldestFirst = leases
    .map((lease, index) => ({ lease, index }))
    .sort((a, b) => a.lease.leasedAtS - b.lease.leasedAtS || a.index - b.index);
  const until: (number | null)[] = leases.map(() => null);
  let held = NOTHING_HELD;
  for (const { lease, index } of oldestFirst) {
    if (!mayHold(held, lease.runS, limits)) break;
    held = withLeases(held, lease.runS);
    const untilS = Math.min(
      nowS + limits.leaseTtlS,
      lease.leasedAtS + longestLifeS(lease.runS, limits),
    );
    until[index] = untilS > nowS ? untilS : null;
  }
  return until;
}
