import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  NO_QUORUM_ERROR,
  questionedCars,
  reputationChanges,
  settle,
  type NewResult,
  type RoundResult,
  type SettleConfig,
  type StoredRound,
} from "../src/settle";
import type { Reputation } from "../src/types";
import { DEFAULT_VERIFICATION, afterResult } from "../src/verify";
import { arbSettleBatch } from "./arbitraries";

const cfg: SettleConfig = { verification: DEFAULT_VERIFICATION, maxTaskAttempts: 3 };
const NEW_CAR: Reputation = {
  validResults: 0,
  invalidResults: 0,
  consecutiveValid: 0,
  quarantined: false,
};
const TRUSTED: Reputation = { ...NEW_CAR, validResults: 50, consecutiveValid: 50 };

/** A new result for task `t`, open and replicated twice, from car `car` of owner `o-car`. */
function fresh(over: Partial<NewResult> = {}, task: Partial<NewResult["task"]> = {}): NewResult {
  return {
    resultId: "r-new",
    leaseId: "l-new",
    carId: "car",
    ownerId: "o-car",
    output: [1, 2],
    reputation: NEW_CAR,
    vouched: true,
    canary: false,
    unitAttempt: 0,
    leaseExpiresAtMs: 1_000_000,
    payoutOwedUsd: 0.25,
    tolerance: { abs: 1e-3, rel: 1e-3 },
    ...over,
    task: {
      id: "t",
      jobId: "j",
      status: "open",
      attempt: 0,
      replicasRequired: 2,
      replication: 2,
      ...task,
    },
  };
}

const earlier = (id: string, output: number[], over: Partial<RoundResult> = {}): RoundResult => ({
  resultId: `r-${id}`,
  leaseId: `l-${id}`,
  carId: `c-${id}`,
  ownerId: `o-${id}`,
  output,
  trusted: false,
  vouched: true,
  ...over,
});

const round = (over: Partial<StoredRound> = {}): Map<string, StoredRound> =>
  new Map([
    ["t", { results: [], outstanding: 2, openUnitIds: [], canonicalOutput: null, ...over }],
  ]);

describe("settle", () => {
  it("pays an unreplicated result alone and counts it toward nobody's reputation", () => {
    const s = settle([fresh({}, { replicasRequired: 1 })], new Map(), cfg);
    expect(s.verdicts).toEqual(["valid"]);
    expect(s.ledger).toEqual([
      { leaseId: "l-new", validated: true, payoutUsd: 0.25, settlesAtMs: null },
    ]);
    expect(s.validated).toMatchObject([
      { taskId: "t", support: 1, canonical: { resultId: "r-new" } },
    ]);
    expect(s.jobsValidated).toEqual([{ jobId: "j", validated: 1 }]);
    expect(s.judged.size).toBe(0);
  });

  it("holds the first replica pending and moves its open task to verifying", () => {
    const s = settle([fresh()], round(), cfg);
    expect(s.verdicts).toEqual(["pending"]);
    expect(s.pending).toEqual(["t"]);
    expect(s.ledger[0]).toMatchObject({ validated: false, payoutUsd: 0 });
    // The other replica is still out: nothing to add.
    expect(s.roundChanges).toEqual([]);
  });

  it("validates on agreement, pays both, cancels the units nobody took and judges both cars", () => {
    const s = settle(
      [fresh({}, { status: "verifying" })],
      round({ results: [earlier("a", [1, 2.0001])], outstanding: 1, openUnitIds: [7] }),
      cfg,
    );
    expect(s.verdicts).toEqual(["valid"]);
    expect(s.alsoPaid).toEqual(["l-a"]);
    expect(s.ledger[0]).toMatchObject({ validated: true, payoutUsd: 0.25 });
    expect(s.cancelUnits).toEqual([7]);
    expect(s.validated).toMatchObject([
      { canonical: { resultId: "r-a" }, support: 2, agreeing: 2 },
    ]);
    expect(s.judged).toEqual(
      new Map([
        ["c-a", [true]],
        ["car", [true]],
      ]),
    );
  });

  it("tops up a round whose replicas disagree, and retries it when no quorum can form", () => {
    const disagree = settle(
      [fresh({}, { status: "verifying" })],
      round({ results: [earlier("a", [5, 5])], outstanding: 1 }),
      cfg,
    );
    expect(disagree.verdicts).toEqual(["pending"]);
    expect(disagree.pending).toEqual([]);
    expect(disagree.roundChanges).toEqual([{ kind: "top-up", taskId: "t", attempt: 0, count: 1 }]);

    const three = [earlier("a", [5, 5]), earlier("b", [6, 6]), earlier("c", [7, 7])];
    const retry = settle(
      [fresh({}, { status: "verifying" })],
      round({ results: three, outstanding: 1 }),
      cfg,
    );
    expect(retry.verdicts).toEqual(["failed"]);
    expect(retry.roundChanges).toEqual([{ kind: "retry", taskId: "t", attempt: 1, units: 2 }]);

    const last = settle(
      [fresh({ unitAttempt: 2 }, { status: "verifying", attempt: 2 })],
      round({ results: three, outstanding: 1 }),
      cfg,
    );
    expect(last.roundChanges).toEqual([
      { kind: "fail", taskId: "t", jobId: "j", disagreeing: 4, error: NO_QUORUM_ERROR },
    ]);
  });

  it("answers a stale round's result and a failed task's result 'failed', paying nothing", () => {
    const s = settle(
      [
        fresh({ leaseId: "l1", unitAttempt: 0 }, { id: "t1", attempt: 1 }),
        fresh({ leaseId: "l2" }, { id: "t2", status: "failed" }),
      ],
      new Map(),
      cfg,
    );
    expect(s.verdicts).toEqual(["failed", "failed"]);
    expect(s.ledger.every((l) => !l.validated && l.payoutUsd === 0)).toBe(true);
  });

  it("compares a late replica with the answer: paid when it agrees, judged either way", () => {
    const valid = round({ canonicalOutput: [1, 2] });
    const agree = settle([fresh({}, { status: "valid" })], valid, cfg);
    expect(agree.verdicts).toEqual(["valid"]);
    expect(agree.ledger[0]).toMatchObject({ validated: true, settlesAtMs: null });
    const wrong = settle([fresh({ output: [3, 3] }, { status: "valid" })], valid, cfg);
    expect(wrong.verdicts).toEqual(["invalid"]);
    expect(wrong.judged.get("car")).toEqual([false]);
  });

  it("holds an agreeing canary's pay until its lease would have run out, and says 'pending'", () => {
    const valid = round({ canonicalOutput: [1, 2] });
    const agree = settle([fresh({ canary: true }, { status: "valid" })], valid, cfg);
    expect(agree.verdicts).toEqual(["pending"]);
    expect(agree.ledger[0]).toEqual({
      leaseId: "l-new",
      validated: false,
      payoutUsd: 0,
      settlesAtMs: 1_000_000,
    });
    const wrong = settle(
      [fresh({ canary: true, output: [0, 0] }, { status: "valid" })],
      valid,
      cfg,
    );
    expect(wrong.verdicts).toEqual(["pending"]);
    expect(wrong.ledger[0]?.settlesAtMs).toBeNull();
    expect(wrong.judged.get("car")).toEqual([false]);
  });

  it("needs a third agreeing car when nobody trusted agrees on 'auto'", () => {
    const s = settle(
      [fresh({}, { status: "verifying", replication: "auto" })],
      round({ results: [earlier("a", [1, 2])], outstanding: 1 }),
      cfg,
    );
    expect(s.verdicts).toEqual(["pending"]);
    const trusted = settle(
      [fresh({ reputation: TRUSTED }, { status: "verifying", replication: "auto" })],
      round({ results: [earlier("a", [1, 2])], outstanding: 1 }),
      cfg,
    );
    expect(trusted.verdicts).toEqual(["valid"]);
  });

  it("replays a batch exactly", () => {
    fc.assert(
      fc.property(arbSettleBatch, ({ results, rounds }) => {
        expect(settle(results, rounds, cfg)).toEqual(settle(results, rounds, cfg));
      }),
    );
  });

  it("never pays more than is owed, nor a result twice", () => {
    fc.assert(
      fc.property(arbSettleBatch, ({ results, rounds }) => {
        const s = settle(results, rounds, cfg);
        expect(s.ledger.map((l) => l.leaseId)).toEqual(results.map((r) => r.leaseId));
        s.ledger.forEach((l, i) => {
          const owed = (results[i] as NewResult).payoutOwedUsd;
          expect(l.payoutUsd === owed || l.payoutUsd === 0).toBe(true);
          expect(l.payoutUsd <= owed).toBe(true);
          // Paid now, paid later or not at all: never two of them.
          expect(l.validated && l.settlesAtMs !== null).toBe(false);
        });
        const paid = [...s.ledger.filter((l) => l.validated).map((l) => l.leaseId), ...s.alsoPaid];
        expect(new Set(paid).size).toBe(paid.length);
      }),
    );
  });

  it("pays only results of valid tasks that agree with their answer", () => {
    fc.assert(
      fc.property(arbSettleBatch, ({ results, rounds }) => {
        const s = settle(results, rounds, cfg);
        s.ledger.forEach((l, i) => {
          const verdict = s.verdicts[i];
          if (l.validated) expect(verdict).toBe("valid");
          if (verdict === "failed") expect(l.validated || l.settlesAtMs !== null).toBe(false);
        });
      }),
    );
  });

  it("never lets a canary's verdict tell its car it was checked", () => {
    fc.assert(
      fc.property(arbSettleBatch, ({ results, rounds }) => {
        const s = settle(results, rounds, cfg);
        results.forEach((r, i) => {
          if (r.canary) expect(s.verdicts[i]).toBe("pending");
        });
      }),
    );
  });

  it("decides each task at most once, and counts each validated task once toward its job", () => {
    fc.assert(
      fc.property(arbSettleBatch, ({ results, rounds }) => {
        const s = settle(results, rounds, cfg);
        const decided = [
          ...s.validated.map((v) => v.taskId),
          ...s.roundChanges.filter((c) => c.kind !== "top-up").map((c) => c.taskId),
        ];
        expect(new Set(decided).size).toBe(decided.length);
        const counted = s.jobsValidated.reduce((n, j) => n + j.validated, 0);
        expect(counted).toBe(s.validated.length);
        for (const id of s.pending) expect(decided).not.toContain(id);
      }),
    );
  });
});

describe("reputationChanges", () => {
  it("adds valid verdicts without a read, and replays a questioned car's stored record", () => {
    const judged = new Map([
      ["good", [true, true]],
      ["bad", [true, false]],
    ]);
    expect(questionedCars(judged)).toEqual(["bad"]);
    const stored = new Map([["bad", { ...NEW_CAR, invalidResults: 2, validResults: 3 }]]);
    const changes = reputationChanges(judged, stored, DEFAULT_VERIFICATION);
    expect(changes).toEqual([
      {
        carId: "good",
        relative: true,
        added: { validResults: 2, invalidResults: 0, consecutiveValid: 2 },
      },
      {
        carId: "bad",
        relative: false,
        // Three invalid results in its first 20 quarantine it.
        reputation: { validResults: 4, invalidResults: 3, consecutiveValid: 0, quarantined: true },
        newlyQuarantined: true,
      },
    ]);
  });

  it("leaves a questioned car it has no record of alone", () => {
    expect(reputationChanges(new Map([["x", [false]]]), new Map(), DEFAULT_VERIFICATION)).toEqual(
      [],
    );
  });

  it("replays verdicts as afterResult would one by one", () => {
    fc.assert(
      fc.property(
        fc.record({
          validResults: fc.nat(50),
          invalidResults: fc.nat(5),
          consecutiveValid: fc.nat(20),
          quarantined: fc.boolean(),
        }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        (before, goods) => {
          const [change] = reputationChanges(
            new Map([["c", goods]]),
            new Map([["c", before]]),
            DEFAULT_VERIFICATION,
          );
          const expected = goods.reduce((r, g) => afterResult(r, g, DEFAULT_VERIFICATION), before);
          if (change?.relative === false) {
            expect(change.reputation).toEqual(expected);
            expect(change.newlyQuarantined).toBe(expected.quarantined && !before.quarantined);
          } else {
            expect(goods.every((g) => g)).toBe(true);
            expect(change?.added.validResults).toBe(goods.length);
          }
        },
      ),
    );
  });
});
