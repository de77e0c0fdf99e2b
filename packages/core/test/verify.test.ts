import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRng } from "../src/random";
import type { Reputation } from "../src/types";
import {
  DEFAULT_VERIFICATION,
  TOLERANCE_CPU,
  TOLERANCE_CROSS_BACKEND,
  afterResult,
  afterValidResults,
  checkCanary,
  decideQuorum,
  decideRefusals,
  distinctPlacement,
  groupQuorum,
  judgedBy,
  isTrusted,
  outputsAgree,
  quorumFor,
  releaseQuarantine,
  replicasFor,
  shouldIssueCanary,
  spotCheckRate,
  validatedReplicas,
  type QuorumOutcome,
  type Refusal,
  type ReplicaResult,
  type Tolerance,
  type VerificationConfig,
} from "../src/verify";
import { arbOutput, arbReputation, arbTolerance } from "./arbitraries";

const cfg = DEFAULT_VERIFICATION;
const tol = TOLERANCE_CROSS_BACKEND;

/** A replica on car `v<id>` of owner `o<id>` unless told otherwise, from a trusted car. */
const rr = (
  id: string,
  output: number[],
  vehicleId = `v${id}`,
  ownerId = `o${id}`,
  trusted = true,
): ReplicaResult => ({
  replicaId: id,
  vehicleId,
  ownerId,
  output,
  trusted,
});
/** The same from a car nobody trusts yet. */
const untrusted = (id: string, output: number[]): ReplicaResult =>
  rr(id, output, `v${id}`, `o${id}`, false);

const rep = (over: Partial<Reputation> = {}): Reputation => ({
  validResults: 0,
  invalidResults: 0,
  consecutiveValid: 0,
  quarantined: false,
  ...over,
});

const TRUTH = [0.25, -1.5, 3];
const NEAR = [0.2503, -1.4998, 3.001]; // WebGPU-style drift, inside TOLERANCE_CROSS_BACKEND
const LIE = [0, 0, 0];

describe("outputsAgree", () => {
  it("treats two empty outputs as agreeing and a length mismatch as not", () => {
    expect(outputsAgree([], [], tol)).toBe(true);
    expect(outputsAgree([], [0], tol)).toBe(false);
    expect(outputsAgree([1, 2], [1, 2, 3], tol)).toBe(false);
  });

  it("accepts typed arrays and last-bit drift, rejects a real difference", () => {
    expect(outputsAgree(Float32Array.from(TRUTH), NEAR, tol)).toBe(true);
    expect(outputsAgree(TRUTH, NEAR, { abs: 0, rel: 0 })).toBe(false);
    expect(outputsAgree(TRUTH, LIE, tol)).toBe(false);
  });

  it("agrees exactly at the tolerance and not beyond it", () => {
    expect(outputsAgree([1], [1.5], { abs: 0.5, rel: 0 })).toBe(true);
    expect(outputsAgree([1], [1.5000001], { abs: 0.5, rel: 0 })).toBe(false);
    // rel scales with the larger magnitude: |2 − 4| = 2 = 0.5 · 4
    expect(outputsAgree([2], [4], { abs: 0, rel: 0.5 })).toBe(true);
    expect(outputsAgree([2], [4.0001], { abs: 0, rel: 0.5 })).toBe(false);
  });

  it("never lets NaN agree, nor an infinity with a finite value", () => {
    expect(outputsAgree([NaN], [NaN], tol)).toBe(false);
    expect(outputsAgree([NaN], [0], tol)).toBe(false);
    expect(outputsAgree([1, NaN], [1, 0], { abs: 1e9, rel: 1 })).toBe(false);
    // with rel > 0 the bound itself is infinite; the difference must still fail
    expect(outputsAgree([Infinity], [1], { abs: 1, rel: 1 })).toBe(false);
    expect(outputsAgree([-1], [-Infinity], { abs: 1, rel: 1 })).toBe(false);
    expect(outputsAgree([Infinity], [-Infinity], { abs: 1, rel: 1 })).toBe(false);
    expect(outputsAgree([Infinity, -Infinity], [Infinity, -Infinity], tol)).toBe(true);
  });

  it("is symmetric on any values and reflexive on finite ones", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double(), fc.double())), arbTolerance, (pairs, t) => {
        const a = pairs.map(([x]) => x);
        const b = pairs.map(([, y]) => y);
        expect(outputsAgree(a, b, t)).toBe(outputsAgree(b, a, t));
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true })),
        arbTolerance,
        (a, t) => {
          expect(outputsAgree(a, [...a], t)).toBe(true);
        },
      ),
    );
  });

  it("breaks when one element moves by more than the tolerance", () => {
    fc.assert(
      fc.property(arbOutput(1, 64), arbTolerance, fc.nat(), fc.boolean(), (a, t, k, up) => {
        const i = k % a.length;
        const x = a[i] as number;
        // |d|(1 − rel) > abs + rel·|x| guarantees |d| > abs + rel·max(|x|, |x + d|)
        const d = (2 * (t.abs + t.rel * Math.abs(x))) / (1 - t.rel);
        const b = [...a];
        b[i] = up ? x + d : x - d;
        expect(outputsAgree(a, b, t)).toBe(false);
        // and noise well inside the tolerance on every element keeps agreement
        const c = a.map((y) => y + (up ? 1 : -1) * 0.25 * (t.abs + t.rel * Math.abs(y)));
        expect(outputsAgree(a, c, t)).toBe(true);
      }),
    );
  });
});

describe("quorumFor", () => {
  it("needs one result alone, else the quorum or a strict majority, capped at maxReplicas", () => {
    expect([0, 1, 2, 3, 4, 5, 99].map((n) => quorumFor(n, cfg))).toEqual([1, 1, 2, 2, 3, 3, 3]);
    expect(quorumFor(2, { ...cfg, quorum: 3 })).toBe(3);
    expect(quorumFor(2, { ...cfg, quorum: 9 })).toBe(cfg.maxReplicas);
  });
});

describe("decideQuorum", () => {
  it("accepts a single required replica (a trusted car) on its own, with support 1", () => {
    expect(decideQuorum([rr("a", TRUTH)], 1, tol, cfg)).toEqual({
      status: "valid",
      canonicalReplicaId: "a",
      agreeing: ["a"],
      disagreeing: [],
      support: 1,
    });
  });

  it("asks for the replicas still missing", () => {
    expect(decideQuorum([], 2, tol, cfg)).toEqual({ status: "pending", moreReplicas: 2 });
    expect(decideQuorum([], 3, tol, cfg)).toEqual({ status: "pending", moreReplicas: 3 });
    expect(decideQuorum([rr("a", TRUTH)], 2, tol, cfg)).toEqual({
      status: "pending",
      moreReplicas: 1,
    });
  });

  it("counts any number of untrusted strangers (owners nobody vouched for) as one owner", () => {
    const stranger = (id: string, output: number[]): ReplicaResult => ({
      ...rr(id, output, `v${id}`, `o${id}`, false),
      vouched: false,
    });
    // Four strangers agreeing on a lie: support 1, never a quorum, whatever the replicas asked.
    const sybils = ["s1", "s2", "s3", "s4"].map((id) => stranger(id, LIE));
    for (const required of [2, 3, 4]) {
      expect(decideQuorum(sybils, required, tol, cfg)).toEqual({
        status: "failed",
        disagreeing: ["s1", "s2", "s3", "s4"],
      });
      for (const n of [2, 3]) {
        expect(
          decideQuorum(sybils.slice(0, n), required, tol, judgedBy(required, cfg)).status,
        ).not.toBe("valid");
      }
    }
    // Nor can they outvote one vouched car: the lie's support is 1, the truth's too, until a
    // second vouched owner agrees with the truth.
    const withHonest = [sybils[0]!, rr("h", TRUTH, "vh", "oh", false), sybils[1]!];
    expect(decideQuorum(withHonest, 2, tol, judgedBy(2, cfg)).status).toBe("pending");
    const decided = decideQuorum(
      [...withHonest, rr("k", TRUTH, "vk", "ok", false)],
      2,
      tol,
      judgedBy(2, cfg),
    );
    expect(decided).toMatchObject({ status: "valid", agreeing: ["h", "k"], support: 2 });
    // A stranger who agrees with a vouched car counts once beside it; a trusted stranger counts
    // as its own owner.
    expect(
      decideQuorum(
        [stranger("s", TRUTH), rr("h", TRUTH, "vh", "oh", false)],
        2,
        tol,
        judgedBy(2, cfg),
      ),
    ).toMatchObject({ status: "valid", support: 2 });
    const trustedStranger = { ...stranger("t", TRUTH), trusted: true };
    expect(decideQuorum([trustedStranger, stranger("s", TRUTH)], 2, tol, cfg)).toMatchObject({
      status: "valid",
      support: 2,
    });
  });

  it("keeps one honest car and one cheater pending, and fails them when no replica is left", () => {
    const results = [rr("h", TRUTH), rr("c", LIE)];
    expect(decideQuorum(results, 2, tol, cfg)).toEqual({ status: "pending", moreReplicas: 1 });
    expect(decideQuorum(results, 2, tol, { ...cfg, maxReplicas: 2 })).toEqual({
      status: "failed",
      disagreeing: ["h", "c"],
    });
  });

  it("validates two honest cars over one cheater, wherever the cheater comes", () => {
    for (const results of [
      [rr("c", LIE), rr("h1", TRUTH), rr("h2", NEAR)],
      [rr("h1", TRUTH), rr("c", LIE), rr("h2", NEAR)],
    ]) {
      expect(decideQuorum(results, 2, tol, cfg)).toEqual({
        status: "valid",
        canonicalReplicaId: "h1",
        agreeing: ["h1", "h2"],
        disagreeing: ["c"],
        support: 2,
      });
    }
  });

  it("validates as soon as a quorum agrees, before the other requested replicas return", () => {
    const outcome = decideQuorum([rr("a", TRUTH), rr("b", NEAR)], 3, tol, cfg);
    expect(outcome.status).toBe("valid");
  });

  it("does not let one owner's cars, or one car twice, form a quorum", () => {
    const sameOwner = [rr("x1", LIE, "car1", "mallory"), rr("x2", LIE, "car2", "mallory")];
    expect(decideQuorum(sameOwner, 2, tol, cfg)).toEqual({ status: "pending", moreReplicas: 1 });
    const sameCar = [rr("x1", LIE, "car1", "o1"), rr("x2", LIE, "car1", "o2")];
    expect(decideQuorum(sameCar, 2, tol, cfg).status).toBe("pending");
    // two colluding replicas against one honest car: neither side has a quorum
    const vsHonest = [...sameOwner, rr("h", TRUTH)];
    expect(decideQuorum(vsHonest, 2, tol, cfg)).toEqual({ status: "pending", moreReplicas: 1 });
    // a second honest owner settles it against the colluders
    const settled = decideQuorum([...vsHonest, rr("h2", NEAR)], 2, tol, cfg);
    expect(settled).toMatchObject({
      status: "valid",
      canonicalReplicaId: "h",
      disagreeing: ["x1", "x2"],
    });
    // and an owner's colluding cars cannot fill a quorum of 3 with one honest helper
    expect(
      decideQuorum([rr("x1", LIE, "c1", "m"), rr("x2", LIE, "c2", "m"), rr("y", LIE)], 3, tol, {
        ...cfg,
        quorum: 3,
        maxReplicas: 6,
      }).status,
    ).toBe("pending");
  });

  it("compares with a group's first result, so small steps cannot chain a group far away", () => {
    const t = { abs: 1e-3, rel: 0 };
    const results = [rr("a", [0]), rr("b", [0.0009]), rr("c", [0.0018])];
    expect(decideQuorum(results, 2, t, cfg)).toMatchObject({
      status: "valid",
      agreeing: ["a", "b"],
      disagreeing: ["c"],
    });
  });

  it("ignores a repeated replica id", () => {
    expect(decideQuorum([rr("a", LIE), rr("a", LIE)], 2, tol, cfg)).toEqual({
      status: "pending",
      moreReplicas: 1,
    });
  });

  it("fails early when the replicas left cannot reach quorum", () => {
    const three = [rr("a", [1]), rr("b", [2]), rr("c", [3])];
    const q3 = { ...cfg, quorum: 3 };
    expect(decideQuorum(three, 3, tol, q3)).toEqual({
      status: "failed",
      disagreeing: ["a", "b", "c"],
    });
    expect(decideQuorum(three, 2, tol, cfg)).toEqual({ status: "pending", moreReplicas: 1 });
    expect(decideQuorum([...three, rr("d", [4])], 2, tol, cfg).status).toBe("failed");
  });

  it("breaks a tie between groups with quorum in favour of the earliest", () => {
    const results = [rr("c1", LIE), rr("h1", TRUTH), rr("c2", LIE), rr("h2", TRUTH)];
    expect(decideQuorum(results, 2, tol, cfg)).toMatchObject({
      status: "valid",
      canonicalReplicaId: "c1",
      agreeing: ["c1", "c2"],
    });
  });

  it("needs quorumUntrusted agreeing cars when none of them is trusted", () => {
    // Two colluders that nobody trusts agree on a lie: not enough.
    expect(decideQuorum([untrusted("c1", LIE), untrusted("c2", LIE)], 2, tol, cfg)).toEqual({
      status: "pending",
      moreReplicas: 1,
    });
    // A third untrusted car that agrees makes the quorum of three.
    expect(
      decideQuorum(
        [untrusted("a", TRUTH), untrusted("b", NEAR), untrusted("c", TRUTH)],
        2,
        tol,
        cfg,
      ),
    ).toMatchObject({ status: "valid", canonicalReplicaId: "a", support: 3 });
    // One trusted car in the group is enough for the ordinary quorum, whichever came first.
    expect(decideQuorum([untrusted("a", TRUTH), rr("b", NEAR)], 2, tol, cfg)).toMatchObject({
      status: "valid",
      agreeing: ["a", "b"],
      support: 2,
    });
    // An unreplicated task is one result, whoever ran it.
    expect(decideQuorum([untrusted("a", TRUTH)], 1, tol, cfg)).toMatchObject({ status: "valid" });
    expect(groupQuorum([{ trusted: false }], 2, { ...cfg, maxReplicas: 2 })).toBe(2);
  });

  it("judges a tenant's explicit replica count by its own quorum, trusted cars or not", () => {
    const pair = [untrusted("a", TRUTH), untrusted("b", NEAR)];
    expect(decideQuorum(pair, 2, tol, judgedBy(2, cfg))).toMatchObject({ status: "valid" });
    expect(decideQuorum(pair, 2, tol, judgedBy("auto", cfg)).status).toBe("pending");
    expect(judgedBy("auto", cfg)).toBe(cfg);
  });

  it("lets honest cars outvote a colluding pair, or fails the round, but never accepts the pair", () => {
    const pair = [untrusted("c1", LIE), untrusted("c2", LIE)];
    // The honest side with a trusted car validates at two and the colluders are invalid.
    expect(
      decideQuorum([...pair, untrusted("h1", TRUTH), rr("h2", TRUTH)], 2, tol, cfg),
    ).toMatchObject({ status: "valid", canonicalReplicaId: "h1", disagreeing: ["c1", "c2"] });
    // Two untrusted honest cars against the pair: neither side can reach three within four.
    expect(
      decideQuorum([...pair, untrusted("h1", TRUTH), untrusted("h2", TRUTH)], 2, tol, cfg).status,
    ).toBe("failed");
    // One honest car against the pair: one more result could still make the honest side valid
    // (a trusted car) and cannot make the pair's.
    expect(decideQuorum([...pair, untrusted("h1", TRUTH)], 2, tol, cfg)).toEqual({
      status: "pending",
      moreReplicas: 1,
    });
  });

  it("prefers the group with more support to an earlier one", () => {
    const q = { ...cfg, quorum: 2, maxReplicas: 6 };
    const results = [
      rr("x1", LIE, "c1", "m"),
      rr("x2", LIE, "c2", "m"),
      rr("h1", TRUTH),
      rr("h2", TRUTH),
    ];
    expect(decideQuorum(results, 2, tol, q)).toMatchObject({
      status: "valid",
      canonicalReplicaId: "h1",
    });
  });
});

describe("validatedReplicas", () => {
  it("pays the agreeing replicas of a valid outcome and nobody otherwise", () => {
    const valid = decideQuorum([rr("c", LIE), rr("h1", TRUTH), rr("h2", NEAR)], 2, tol, cfg);
    expect(validatedReplicas(valid)).toEqual(["h1", "h2"]);
    expect(validatedReplicas({ status: "pending", moreReplicas: 1 })).toEqual([]);
    expect(validatedReplicas({ status: "failed", disagreeing: ["a", "b"] })).toEqual([]);
  });
});

describe("distinctPlacement", () => {
  it("requires distinct cars and distinct owners", () => {
    expect(distinctPlacement([])).toBe(true);
    expect(
      distinctPlacement([
        { vehicleId: "v1", ownerId: "o1" },
        { vehicleId: "v2", ownerId: "o2" },
      ]),
    ).toBe(true);
    expect(
      distinctPlacement([
        { vehicleId: "v1", ownerId: "o1" },
        { vehicleId: "v1", ownerId: "o2" },
      ]),
    ).toBe(false);
    expect(
      distinctPlacement([
        { vehicleId: "v1", ownerId: "o1" },
        { vehicleId: "v2", ownerId: "o1" },
      ]),
    ).toBe(false);
  });
});

describe("isTrusted and replicasFor", () => {
  const trusted = rep({ validResults: 50, consecutiveValid: cfg.trustAfterConsecutiveValid });

  it("trusts after the configured run of valid results, never in quarantine", () => {
    expect(isTrusted(rep({ consecutiveValid: cfg.trustAfterConsecutiveValid - 1 }), cfg)).toBe(
      false,
    );
    expect(isTrusted(trusted, cfg)).toBe(true);
    expect(isTrusted({ ...trusted, quarantined: true }, cfg)).toBe(false);
  });

  it("takes a number as given, clamped to 1..maxReplicas", () => {
    const rng = createRng(1);
    expect(replicasFor(3, trusted, cfg, rng)).toBe(3);
    expect(replicasFor(1, rep(), cfg, rng)).toBe(1);
    expect(replicasFor(0, rep(), cfg, rng)).toBe(1);
    expect(replicasFor(99, rep(), cfg, rng)).toBe(cfg.maxReplicas);
    expect(replicasFor(2.7, rep(), cfg, rng)).toBe(2);
    expect(() => replicasFor(NaN, rep(), cfg, rng)).toThrow(RangeError);
  });

  it("replicates an untrusted or quarantined car's work to the quorum", () => {
    const rng = createRng(2);
    expect(replicasFor("auto", rep(), cfg, rng)).toBe(2);
    expect(replicasFor("auto", rep(), { ...cfg, quorum: 3 }, rng)).toBe(3);
    expect(replicasFor("auto", { ...trusted, quarantined: true }, cfg, rng)).toBe(2);
  });

  it("checks new trust often and old trust at the configured rate", () => {
    const run = (n: number) => rep({ validResults: n, consecutiveValid: n });
    expect(spotCheckRate(run(10), cfg)).toBe(0.5);
    expect(spotCheckRate(run(20), cfg)).toBe(0.25);
    expect(spotCheckRate(run(50), cfg)).toBeCloseTo(0.1, 12);
    expect(spotCheckRate(run(5000), cfg)).toBe(cfg.trustedSpotCheckRate);
    expect(spotCheckRate(run(10), { ...cfg, spotCheckNewTrust: 2 })).toBe(1);
    // Never more often as the run grows.
    for (let n = 10; n < 200; n++)
      expect(spotCheckRate(run(n + 1), cfg)).toBeLessThanOrEqual(spotCheckRate(run(n), cfg));
  });

  it("runs a trusted car alone, except for spot checks at the configured rate", () => {
    const off = { ...cfg, trustedSpotCheckRate: 0, spotCheckNewTrust: 0 };
    expect(replicasFor("auto", trusted, off, createRng(3))).toBe(1);
    expect(replicasFor("auto", trusted, { ...cfg, trustedSpotCheckRate: 1 }, createRng(3))).toBe(2);
    const rng = createRng(20_250_601);
    let checks = 0;
    const draws = 10_000;
    const oldTrust = rep({ validResults: 5000, consecutiveValid: 5000 });
    for (let i = 0; i < draws; i++) {
      const n = replicasFor("auto", oldTrust, cfg, rng);
      expect([1, 2]).toContain(n);
      if (n === 2) checks++;
    }
    // sd of the share is sqrt(0.1 · 0.9 / 10 000) = 0.003; ±0.015 is five of them
    expect(checks / draws).toBeGreaterThan(cfg.trustedSpotCheckRate - 0.015);
    expect(checks / draws).toBeLessThan(cfg.trustedSpotCheckRate + 0.015);
  });
});

describe("afterResult and releaseQuarantine", () => {
  it("counts a valid result and extends the run, without touching the input", () => {
    const before = Object.freeze(rep({ validResults: 4, consecutiveValid: 2 }));
    expect(afterResult(before, true, cfg)).toEqual(rep({ validResults: 5, consecutiveValid: 3 }));
    expect(before).toEqual(rep({ validResults: 4, consecutiveValid: 2 }));
  });

  it("zeroes the run on an invalid result, so a trusted car loses its trust at once", () => {
    const trusted = rep({ validResults: 100, consecutiveValid: 40 });
    const after = afterResult(trusted, false, cfg);
    expect(after).toEqual(rep({ validResults: 100, invalidResults: 1, consecutiveValid: 0 }));
    expect(isTrusted(after, cfg)).toBe(false);
  });

  it("quarantines a young car by its invalid count", () => {
    let r = rep({ validResults: 5 });
    for (let i = 1; i < cfg.quarantineAfterInvalid; i++) {
      r = afterResult(r, false, cfg);
      expect(r.quarantined).toBe(false);
    }
    expect(afterResult(r, false, cfg).quarantined).toBe(true);
  });

  it("judges a car with history by its invalid share", () => {
    // 3 invalid out of 103: a count that would quarantine a new car, a share that does not
    expect(afterResult(rep({ validResults: 100, invalidResults: 2 }), false, cfg).quarantined).toBe(
      false,
    );
    // exactly 10% of 20 does not exceed the share; 15% does
    expect(afterResult(rep({ validResults: 18, invalidResults: 1 }), false, cfg).quarantined).toBe(
      false,
    );
    expect(afterResult(rep({ validResults: 17, invalidResults: 2 }), false, cfg).quarantined).toBe(
      true,
    );
    expect(afterResult(rep({ validResults: 80, invalidResults: 10 }), false, cfg).quarantined).toBe(
      true,
    );
  });

  it("keeps a quarantined car quarantined through valid results until released", () => {
    let r = rep({ validResults: 1, invalidResults: 3, quarantined: true });
    for (let i = 0; i < 50; i++) r = afterResult(r, true, cfg);
    expect(r.quarantined).toBe(true);
    const released = releaseQuarantine(r);
    expect(released).toEqual(rep({ validResults: 51, invalidResults: 0, consecutiveValid: 0 }));
    expect(r.quarantined).toBe(true);
    expect(isTrusted(released, cfg)).toBe(false);
  });

  it("never un-quarantines, whatever the results", () => {
    fc.assert(
      fc.property(arbReputation, fc.array(fc.boolean(), { maxLength: 60 }), (start, verdicts) => {
        let r = start;
        let wasQuarantined = r.quarantined;
        for (const valid of verdicts) {
          const next = afterResult(r, valid, cfg);
          expect(next.validResults + next.invalidResults).toBe(
            r.validResults + r.invalidResults + 1,
          );
          if (wasQuarantined) expect(next.quarantined).toBe(true);
          if (valid) expect(next.quarantined).toBe(r.quarantined);
          wasQuarantined = next.quarantined;
          r = next;
        }
      }),
    );
  });
});

describe("canaries", () => {
  it("are issued at the configured rate", () => {
    const rng = createRng(7);
    let issued = 0;
    for (let i = 0; i < 10_000; i++) if (shouldIssueCanary(rng, cfg)) issued++;
    expect(issued / 10_000).toBeGreaterThan(cfg.canaryRate - 0.007);
    expect(issued / 10_000).toBeLessThan(cfg.canaryRate + 0.007);
    expect(shouldIssueCanary(createRng(7), { ...cfg, canaryRate: 0 })).toBe(false);
  });

  it("pass within tolerance of the known answer, and a failed one counts as invalid", () => {
    expect(checkCanary(NEAR, TRUTH, tol)).toBe(true);
    expect(checkCanary(NEAR, TRUTH, TOLERANCE_CPU)).toBe(false);
    expect(checkCanary(LIE, TRUTH, tol)).toBe(false);
    expect(checkCanary([...TRUTH, 0], TRUTH, tol)).toBe(false);
    const trusted = rep({ validResults: 30, consecutiveValid: 30 });
    expect(afterResult(trusted, checkCanary(LIE, TRUTH, tol), cfg).consecutiveValid).toBe(0);
  });
});

// ---- properties of the quorum ----

/** Cars v0..v5; car i belongs to owner o(i mod 3), so owners o0..o2 have two cars each. */
const carOwner = (car: number) => ({ vehicleId: `v${car}`, ownerId: `o${car % 3}` });

/** Outputs from up to three clusters far apart, each value within a quarter tolerance of its centre. */
const arbClustered = (t: Tolerance) =>
  fc
    .array(
      fc.record({
        cluster: fc.integer({ min: 0, max: 2 }),
        car: fc.integer({ min: 0, max: 5 }),
        noise: fc.double({ min: -0.25, max: 0.25, noNaN: true }),
      }),
      { maxLength: 6 },
    )
    .map((draws) =>
      draws.map(({ cluster, car, noise }, i) => {
        const centre = [cluster * 100, 1 - cluster];
        return {
          cluster,
          result: rr(
            `r${i}`,
            centre.map((c) => c + noise * (t.abs + t.rel * Math.abs(c))),
            carOwner(car).vehicleId,
            carOwner(car).ownerId,
          ),
        };
      }),
    );

const arbConfig: fc.Arbitrary<VerificationConfig> = fc
  .record({ quorum: fc.integer({ min: 2, max: 3 }), extra: fc.integer({ min: 0, max: 3 }) })
  .map(({ quorum, extra }) => ({ ...cfg, quorum, maxReplicas: quorum + extra }));

const idsOf = (o: QuorumOutcome) =>
  o.status === "pending" ? [] : [...(o.status === "valid" ? o.agreeing : []), ...o.disagreeing];

describe("decideQuorum properties", () => {
  it("does not depend on the order of results, except which group wins a tie", () => {
    fc.assert(
      fc.property(
        arbConfig,
        fc.integer({ min: 1, max: 4 }),
        arbClustered(TOLERANCE_CPU).chain((rs) =>
          fc.tuple(
            fc.constant(rs),
            fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length }),
          ),
        ),
        (c, required, [ordered, shuffled]) => {
          const a = decideQuorum(
            ordered.map((x) => x.result),
            required,
            TOLERANCE_CPU,
            c,
          );
          const b = decideQuorum(
            shuffled.map((x) => x.result),
            required,
            TOLERANCE_CPU,
            c,
          );
          expect(b.status).toBe(a.status);
          if (a.status === "pending" && b.status === "pending")
            expect(b.moreReplicas).toBe(a.moreReplicas);
          if (a.status === "failed") expect(new Set(idsOf(b))).toEqual(new Set(idsOf(a)));
          if (a.status === "valid" && b.status === "valid") {
            expect(b.support).toBe(a.support);
            // A naive oracle: with one owner per car, a cluster's support is its distinct owners.
            const support = [0, 1, 2].map(
              (k) =>
                new Set(ordered.filter((x) => x.cluster === k).map((x) => x.result.ownerId)).size,
            );
            const top = Math.max(...support);
            expect(a.support).toBe(top);
            const tie = support.filter((s) => s === top).length > 1;
            if (!tie) {
              expect(new Set(b.agreeing)).toEqual(new Set(a.agreeing));
              expect(new Set(b.disagreeing)).toEqual(new Set(a.disagreeing));
              expect(a.agreeing).toContain(b.canonicalReplicaId);
            }
          }
        },
      ),
    );
  });

  it("never makes a cheater canonical while cheaters are fewer than the quorum", () => {
    const arbScenario = fc
      .record({
        c: arbConfig,
        t: arbTolerance,
        truth: arbOutput(1, 16),
        honest: fc.integer({ min: 0, max: 4 }),
        cheaters: fc.integer({ min: 0, max: 2 }),
        colluding: fc.boolean(),
      })
      .chain((s) =>
        fc.record({
          s: fc.constant(s),
          // colluders share one lie; others each make their own, of any length, NaN included
          lies: fc.array(
            fc.oneof(fc.array(fc.double()), arbOutput(s.truth.length, s.truth.length)),
            { minLength: s.cheaters, maxLength: s.cheaters },
          ),
          noise: fc.array(
            fc.array(fc.double({ min: -0.25, max: 0.25, noNaN: true }), {
              minLength: s.truth.length,
              maxLength: s.truth.length,
            }),
            { minLength: s.honest, maxLength: s.honest },
          ),
          order: fc.shuffledSubarray(
            Array.from({ length: s.honest + s.cheaters }, (_, i) => i),
            { minLength: s.honest + s.cheaters, maxLength: s.honest + s.cheaters },
          ),
        }),
      );
    fc.assert(
      fc.property(arbScenario, ({ s, lies, noise, order }) => {
        const { c, t, truth } = s;
        fc.pre(s.cheaters < c.quorum);
        const honest = noise.map((n, i) =>
          rr(
            `h${i}`,
            truth.map((x, k) => x + (n[k] as number) * (t.abs + t.rel * Math.abs(x))),
          ),
        );
        const cheaters = lies.map((lie, i) =>
          rr(`c${i}`, s.colluding ? (lies[0] as number[]) : lie),
        );
        // a "cheater" whose output agrees with an honest one is numerically honest: not this case
        fc.pre(cheaters.every((ch) => honest.every((h) => !outputsAgree(ch.output, h.output, t))));
        const all = [...honest, ...cheaters];
        const results = order.map((i) => all[i] as ReplicaResult);
        const outcome = decideQuorum(results, c.quorum, t, c);
        if (s.honest >= c.quorum) {
          expect(outcome.status).toBe("valid");
        }
        if (outcome.status === "valid") {
          expect(outcome.canonicalReplicaId).toMatch(/^h/);
          expect(new Set(outcome.agreeing)).toEqual(new Set(honest.map((h) => h.replicaId)));
          for (const ch of cheaters) expect(outcome.disagreeing).toContain(ch.replicaId);
        }
      }),
    );
  });

  it("never accepts the answer of cars nobody trusts while they are fewer than quorumUntrusted", () => {
    const arbScenario = fc.record({
      c: arbConfig,
      truth: arbOutput(1, 8),
      honest: fc.array(fc.boolean(), { maxLength: 4 }),
      colluders: fc.integer({ min: 0, max: DEFAULT_VERIFICATION.quorumUntrusted - 1 }),
      required: fc.integer({ min: 2, max: 4 }),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(arbScenario, ({ c, truth, honest, colluders, required, seed }) => {
        // With fewer replicas allowed than quorumUntrusted, the quorum is what can be had.
        fc.pre(c.maxReplicas >= c.quorumUntrusted);
        const lie = truth.map((x) => x + 1 + Math.abs(x));
        const all = [
          ...honest.map((trusted, i) => rr(`h${i}`, truth, `vh${i}`, `oh${i}`, trusted)),
          ...Array.from({ length: colluders }, (_, i) => untrusted(`c${i}`, lie)),
        ];
        const rng = createRng(seed);
        const results = all
          .map((r) => ({ r, k: rng.next() }))
          .sort((a, b) => a.k - b.k)
          .map(({ r }) => r);
        const outcome = decideQuorum(results, required, TOLERANCE_CPU, c);
        if (outcome.status === "valid") expect(outcome.canonicalReplicaId).toMatch(/^h/);
      }),
    );
  });

  it("pays only replicas whose output agrees with the canonical one", () => {
    const palette = [TRUTH, NEAR, LIE, [0, 0, 0.5], [1, 2]];
    const arbResults = fc.array(
      fc.record({
        out: fc.constantFrom(...palette),
        car: fc.integer({ min: 0, max: 5 }),
        owner: fc.integer({ min: 0, max: 3 }),
      }),
      { maxLength: 7 },
    );
    fc.assert(
      fc.property(arbResults, arbConfig, fc.integer({ min: 1, max: 4 }), (draws, c, required) => {
        const results = draws.map((d, i) => rr(`r${i}`, d.out, `v${d.car}`, `o${d.owner}`));
        const outcome = decideQuorum(results, required, tol, c);
        const paid = validatedReplicas(outcome);
        if (outcome.status !== "valid") {
          expect(paid).toEqual([]);
          return;
        }
        const byId = new Map(results.map((r) => [r.replicaId, r]));
        const canonical = byId.get(outcome.canonicalReplicaId) as ReplicaResult;
        expect(paid).toEqual(outcome.agreeing);
        expect(paid).toContain(canonical.replicaId);
        expect(outcome.support).toBeGreaterThanOrEqual(quorumFor(required, c));
        for (const id of paid) {
          expect(outputsAgree((byId.get(id) as ReplicaResult).output, canonical.output, tol)).toBe(
            true,
          );
          expect(outcome.disagreeing).not.toContain(id);
        }
        expect(paid.length + outcome.disagreeing.length).toBe(results.length);
      }),
    );
  });
});

describe("afterValidResults", () => {
  it("equals that many valid results one by one (property)", () => {
    fc.assert(
      fc.property(arbReputation, fc.integer({ min: 0, max: 50 }), (rep, n) => {
        let oneByOne = rep;
        for (let i = 0; i < n; i++) oneByOne = afterResult(oneByOne, true, DEFAULT_VERIFICATION);
        expect(afterValidResults(rep, n)).toEqual(oneByOne);
      }),
    );
  });
});

describe("decideRefusals", () => {
  /** A refusal by a car of owner `o<owner>`, trusted or not. */
  const refusal = (owner: number, trusted: boolean): Refusal => ({ ownerId: `o${owner}`, trusted });

  it("never fails a task on refusals of cars nobody trusts, however many owners they have", () => {
    const crowd = Array.from({ length: 50 }, (_, i) => refusal(i, false));
    expect(decideRefusals(crowd, cfg)).toEqual({ fails: false, owners: 50, trustedOwners: 0 });
  });

  it("fails it once two owners' cars refused it, one of them trusted", () => {
    expect(decideRefusals([refusal(1, true)], cfg)).toMatchObject({ fails: false, owners: 1 });
    expect(decideRefusals([refusal(1, false), refusal(2, true)], cfg)).toEqual({
      fails: true,
      owners: 2,
      trustedOwners: 1,
    });
    expect(decideRefusals([refusal(1, true), refusal(2, true)], cfg)).toEqual({
      fails: true,
      owners: 2,
      trustedOwners: 2,
    });
    // Two cars of one owner are one owner's word, trusted or not.
    expect(decideRefusals([refusal(1, true), refusal(1, false)], cfg)).toEqual({
      fails: false,
      owners: 1,
      trustedOwners: 1,
    });
    expect(decideRefusals([], cfg)).toEqual({ fails: false, owners: 0, trustedOwners: 0 });
  });

  it("asks for as many owners as configured", () => {
    const three = { ...cfg, refusalOwners: 3 };
    const two = [refusal(1, true), refusal(2, false)];
    expect(decideRefusals(two, three).fails).toBe(false);
    expect(decideRefusals([...two, refusal(3, false)], three).fails).toBe(true);
  });

  it("fails exactly when enough distinct owners refused and one refusing car is trusted (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ owner: fc.nat(6), trusted: fc.boolean() }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        (drawn, refusalOwners) => {
          const refusals = drawn.map((d) => refusal(d.owner, d.trusted));
          const c = { ...cfg, refusalOwners };
          const owners = new Set(drawn.map((d) => d.owner)).size;
          const trusted = drawn.some((d) => d.trusted);
          const outcome = decideRefusals(refusals, c);
          expect(outcome.owners).toBe(owners);
          expect(outcome.fails).toBe(owners >= refusalOwners && trusted);
          // Order does not matter, and more refusals never undo a failure.
          expect(decideRefusals([...refusals].reverse(), c)).toEqual(outcome);
          if (outcome.fails)
            expect(decideRefusals([...refusals, refusal(0, false)], c).fails).toBe(true);
        },
      ),
    );
  });
});
