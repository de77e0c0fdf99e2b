// Verification of results computed by cars: numeric agreement, quorum over replicas, canaries
// and reputation (adaptive replication).
//
// The policy is BOINC's adaptive replication
// (https://github.com/BOINC/boinc/wiki/AdaptiveReplication): a host's run of consecutive valid
// results decides whether it is trusted; a job sent to a trusted host is not replicated except
// for a random spot check; one invalid result zeroes the run, so trust is slow to earn and quick
// to lose. Results from the same car or the same owner count once toward a quorum, the rule BOINC
// calls "one result per user per workunit". Beyond BOINC: replicas from cars nobody trusts yet
// need one more agreeing car (quorumUntrusted), which colluders cannot supply; owners nobody
// vouched for (made by a public enrollment code) may all be one person, so until a car of theirs
// has earned trust they count as one owner together; and a car caught once has its unchecked
// answers checked again by other cars.
import type { Rng } from "./random";
import type { Reputation } from "./types";

/** Two values agree when |a − b| ≤ abs + rel · max(|a|, |b|). */
export interface Tolerance {
  abs: number;
  rel: number;
}

/**
 * For comparing cars on different backends (WebGPU against WASM/CPU). onnxruntime's own web tests
 * compare WebGPU outputs at 1e-3 absolute (see the product brief); the relative part is our
 * allowance for large logits, where the last bits of a float32 are worth more than 1e-3.
 */
export const TOLERANCE_CROSS_BACKEND: Tolerance = { abs: 1e-3, rel: 1e-3 };

/** For cars that all ran the same CPU/WASM build: onnxruntime's web tests use 1e-4 absolute. */
export const TOLERANCE_CPU: Tolerance = { abs: 1e-4, rel: 1e-4 };

/**
 * Whether two outputs agree element by element. Lengths must match (two empty outputs agree).
 * NaN agrees with nothing, not even NaN; an infinity agrees only with the same infinity; two
 * finite values so far apart that their difference overflows do not agree.
 */
export function outputsAgree(a: ArrayLike<number>, b: ArrayLike<number>, tol: Tolerance): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  const { abs, rel } = tol;
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x === y) continue; // the common case; also equal infinities
    const diff = Math.abs(x - y);
    // diff is NaN when either is NaN and Infinity when one is infinite: neither may pass, even
    // though `Infinity <= abs + rel * Infinity` would.
    if (!(diff < Infinity)) return false;
    if (diff > abs + rel * Math.max(Math.abs(x), Math.abs(y))) return false;
  }
  return true;
}

export interface VerificationConfig {
  /** Independent agreeing results (distinct cars and owners) that make replicated work valid. */
  quorum: number;
  /** Most results ever collected for one task before it fails. */
  maxReplicas: number;
  /** Share of tasks issued as canaries (known answer), 0..1. */
  canaryRate: number;
  /** Consecutive valid results after which a car is trusted and runs work unreplicated. */
  trustAfterConsecutiveValid: number;
  /** Probability that a trusted car's task is replicated anyway, 0..1, once trust is old. */
  trustedSpotCheckRate: number;
  /** The same when trust has just been earned, 0..1 (see spotCheckRate). */
  spotCheckNewTrust: number;
  /** Invalid results that quarantine a car while it has fewer than minResultsForShare results. */
  quarantineAfterInvalid: number;
  /** Share of invalid results (0..1) above which a car with enough history is quarantined. */
  quarantineInvalidShare: number;
  /** Results a car needs before its invalid share, rather than its invalid count, judges it. */
  minResultsForShare: number;
  /**
   * Independent agreeing results a replicated task needs when none of them comes from a trusted
   * car (at least the quorum). Cars that nobody trusts yet and that agree on a wrong answer are
   * colluding; one more independent car must agree before their answer is accepted.
   */
  quorumUntrusted: number;
  /**
   * How far back (seconds) a car's unchecked answers (those it gave alone, as a trusted car) are
   * run again on other cars when it gives an invalid result.
   */
  recheckWindowS: number;
  /**
   * Distinct owners whose cars must refuse a task's input (node.fail "bad-input"), a trusted car
   * among them, before the task fails (decideRefusals).
   */
  refusalOwners: number;
}

export const DEFAULT_VERIFICATION: VerificationConfig = {
  // BOINC's adaptive replication replicates an untrusted host's job to 2 (app.target_nresults=2)
  // and accepts 2 agreeing results.
  quorum: 2,
  // Two agreeing out of at most four: one bad result costs one extra replica, two cost two.
  // Beyond that the work itself (or cross-backend determinism) is suspect, BOINC's
  // "too many success results without consensus".
  maxReplicas: 4,
  // A canary is a task no tenant pays for; 2% keeps it, plus spot checks, inside the 5–10% of
  // compute BOINC targets for verification overhead under adaptive replication.
  canaryRate: 0.02,
  // BOINC: a host with fewer than 10 consecutive valid results is not trusted.
  trustAfterConsecutiveValid: 10,
  // BOINC replicates a trusted host's job with probability 1/CV, which is 0.1 at the threshold
  // and falls towards 0. We hold it at 0.05: a car trusted for a long time is still checked (a
  // lie it tells is caught within about 20 tasks, then its unchecked answers are run again), and
  // a trusted fleet's overhead, this plus canaries, stays inside BOINC's 10% target (at 0.1 it
  // sat on it).
  trustedSpotCheckRate: 0.05,
  // Half of a newly trusted car's tasks are checked, falling to 0.05 at a run of 100 checked
  // results. A sleeper's run stops growing when it starts
  // lying, so it stays near 0.5 and is caught within a few tasks (unchecked lies are then run
  // again: recheckWindowS).
  spotCheckNewTrust: 0.5,
  // A new car returning 3 invalid results in its first 20 is broken or cheating.
  quarantineAfterInvalid: 3,
  // Past 20 results, more than 1 in 10 invalid quarantines. An honest car's false-invalid rate
  // (numeric drift past tolerance) is far below this.
  quarantineInvalidShare: 0.1,
  minResultsForShare: 20,
  // Colluders are never trusted: they agree with honest cars on nothing, so they never build a
  // run of valid results. Two of them on one task (about 1 task in 2,500 at 2% of the fleet)
  // would make a quorum of 2; they cannot make a quorum of 3 without a third colluder, and a
  // trusted honest car in the group shows the answer is not theirs alone.
  quorumUntrusted: 3,
  // A day: the window canaries are drawn from too. A sleeper (honest until trusted, lying
  // after) is caught by a spot check or a canary within tens of tasks, far inside it.
  recheckWindowS: 24 * 3600,
  // One car may be broken itself, however long its record: a second owner's car must agree.
  refusalOwners: 2,
};

export interface ReplicaResult {
  replicaId: string;
  vehicleId: string;
  ownerId: string;
  output: ArrayLike<number>;
  /** Whether the car is trusted (isTrusted) as its result is judged. */
  trusted: boolean;
  /**
   * Whether an operator stands behind the car's owner; false for owners a public enrollment code
   * made, which anyone can have any number of. Absent: vouched.
   */
  vouched?: boolean;
}

/**
 * The owner a result counts for in a quorum: its own, except that every untrusted car of an
 * owner nobody vouched for counts for one shared stranger. Any number of identities from a public
 * code then add at most one to a group's support, so they never make a quorum alone and never
 * outvote a vouched or trusted car; a stranger's car that agrees with those earns trust, and
 * then its answers count as its owner's own.
 */
const STRANGERS = "(strangers)";
function quorumOwner(r: ReplicaResult): string {
  return r.vouched === false && !r.trusted ? STRANGERS : r.ownerId;
}

export type QuorumOutcome =
  | {
      status: "valid";
      /** The replica whose output is the answer: the first of the winning group. */
      canonicalReplicaId: string;
      /** Replicas whose output agrees with the canonical one (canonical included), in order. */
      agreeing: string[];
      /** Every other replica: its result is invalid. */
      disagreeing: string[];
      /**
       * Independent results in the winning group (distinct cars and owners). 1 means nobody
       * checked the answer (a trusted car ran alone): pay it, but do not count it toward the car's
       * reputation.
       */
      support: number;
    }
  | {
      status: "pending";
      /** Further results needed at least, those already in flight included; ≥ 1. */
      moreReplicas: number;
    }
  | {
      status: "failed";
      /** Every replica: no group reached quorum, so none of them is validated. */
      disagreeing: string[];
    };

/**
 * Agreeing independent results needed for a task issued to `requiredReplicas` cars: one for an
 * unreplicated task, else the configured quorum or a strict majority of the replicas asked for,
 * whichever is larger, never more than maxReplicas.
 */
export function quorumFor(requiredReplicas: number, cfg: VerificationConfig): number {
  const required = clampReplicas(requiredReplicas, cfg);
  if (required <= 1) return 1;
  return Math.min(cfg.maxReplicas, Math.max(cfg.quorum, Math.floor(required / 2) + 1));
}

/**
 * Agreeing independent results a group of replicas needs: the task's quorum (quorumFor) when one
 * of the group's cars is trusted or the task is unreplicated, else quorumUntrusted (never more
 * than maxReplicas).
 */
export function groupQuorum(
  group: readonly Pick<ReplicaResult, "trusted">[],
  requiredReplicas: number,
  cfg: VerificationConfig,
): number {
  const needed = quorumFor(requiredReplicas, cfg);
  if (needed <= 1 || group.some((r) => r.trusted)) return needed;
  return Math.min(cfg.maxReplicas, Math.max(needed, cfg.quorumUntrusted));
}

/**
 * Decide a task from the results in so far. Results are grouped by agreement with each group's
 * first result (its representative), in arrival order. A group's support is the largest number
 * of its results on pairwise distinct cars and owners (untrusted strangers count as one owner:
 * quorumOwner), so an owner's several cars (or one car reporting twice) count once: no owner,
 * and no crowd of strangers, makes a quorum alone. A group is valid once its support
 * reaches groupQuorum(): the task's quorum with a trusted car among it, quorumUntrusted without.
 * Of the valid groups the one with the most support wins, ties to the group formed first.
 *
 * Otherwise the task is pending, asking for as many more results as would let the best group
 * reach the task's quorum if they came from trusted cars (at least one), and bring the total to
 * requiredReplicas; or failed when even maxReplicas results in all could not make any group
 * valid. A repeated replicaId is ignored after its first result.
 *
 * Once valid, stop issuing replicas: a later batch could form a larger group and change the answer.
 */
export function decideQuorum(
  results: readonly ReplicaResult[],
  requiredReplicas: number,
  tol: Tolerance,
  cfg: VerificationConfig,
): QuorumOutcome {
  const unique = dedupeById(results);
  const required = clampReplicas(requiredReplicas, cfg);

  const groups: ReplicaResult[][] = [];
  for (const r of unique) {
    const home = groups.find((g) => outputsAgree((g[0] as ReplicaResult).output, r.output, tol));
    if (home) home.push(r);
    else groups.push([r]);
  }

  let best: ReplicaResult[] | undefined;
  let bestSupport = 0;
  let mostSupport = 0;
  for (const g of groups) {
    const s = independentSupport(g);
    mostSupport = Math.max(mostSupport, s);
    if (s >= groupQuorum(g, required, cfg) && s > bestSupport) {
      best = g;
      bestSupport = s;
    }
  }

  if (best) {
    const agreeing = new Set(best.map((r) => r.replicaId));
    return {
      status: "valid",
      canonicalReplicaId: (best[0] as ReplicaResult).replicaId,
      agreeing: best.map((r) => r.replicaId),
      disagreeing: unique.filter((r) => !agreeing.has(r.replicaId)).map((r) => r.replicaId),
      support: bestSupport,
    };
  }

  // Asked for hopefully: the next results may come from trusted cars, which make any group's
  // quorum the task's. One more result at least: a group short only of a trusted car needs one.
  const toQuorum = Math.max(1, quorumFor(required, cfg) - mostSupport);
  const budget = cfg.maxReplicas - unique.length;
  if (toQuorum > budget) {
    return { status: "failed", disagreeing: unique.map((r) => r.replicaId) };
  }
  return {
    status: "pending",
    moreReplicas: Math.min(budget, Math.max(toQuorum, required - unique.length)),
  };
}

/**
 * The configuration a task's results are judged by. "auto" (the platform's adaptive replication)
 * asks cars nobody trusts for quorumUntrusted agreeing results; a tenant's explicit replica count
 * is judged by the quorum it implies, trusted cars or not: the tenant chose the replicas it pays
 * for.
 */
export function judgedBy(requested: number | "auto", cfg: VerificationConfig): VerificationConfig {
  return requested === "auto" ? cfg : { ...cfg, quorumUntrusted: 0 };
}

/** Replica ids that get paid: the agreeing replicas of a valid outcome, nobody otherwise. */
export function validatedReplicas(outcome: QuorumOutcome): string[] {
  return outcome.status === "valid" ? [...outcome.agreeing] : [];
}

/** All cars distinct and all owners distinct: the placement rule for replicas of one task. */
export function distinctPlacement(
  replicas: readonly { vehicleId: string; ownerId: string }[],
): boolean {
  const vehicles = new Set(replicas.map((r) => r.vehicleId));
  const owners = new Set(replicas.map((r) => r.ownerId));
  return vehicles.size === replicas.length && owners.size === replicas.length;
}

export function isTrusted(rep: Reputation, cfg: VerificationConfig): boolean {
  return !rep.quarantined && rep.consecutiveValid >= cfg.trustAfterConsecutiveValid;
}

/** A car that refused a task's input (node.fail "bad-input"). */
export interface Refusal {
  ownerId: string;
  /** Whether the car is trusted (isTrusted) as the refusals are judged. */
  trusted: boolean;
}

export interface RefusalOutcome {
  /** Whether the refusals fail the task; otherwise it goes on to another car. */
  fails: boolean;
  /** Distinct owners whose cars refused it. */
  owners: number;
  /** Distinct owners with a trusted car among those that refused it. */
  trustedOwners: number;
}

/**
 * Whether cars' refusals of a task's input fail the task. A refusal is a car's word, not
 * evidence: the server decoded every image it accepted and checked every tensor against the
 * model, and a car enrolls for free under a fresh owner, so refusals from cars nobody trusts
 * never fail a task, however many owners they come from. A task fails once cars of at least
 * refusalOwners distinct owners refused it and one of them is trusted (has earned trust by
 * validated work); until then the task goes on to other cars (never again to an owner who had
 * it: the lease rule).
 */
export function decideRefusals(
  refusals: readonly Refusal[],
  cfg: VerificationConfig,
): RefusalOutcome {
  const owners = new Set(refusals.map((r) => r.ownerId)).size;
  const trustedOwners = new Set(refusals.filter((r) => r.trusted).map((r) => r.ownerId)).size;
  return {
    fails: trustedOwners > 0 && owners >= Math.max(1, cfg.refusalOwners),
    owners,
    trustedOwners,
  };
}

/**
 * The probability that a trusted car's task is replicated anyway: spotCheckNewTrust when trust
 * has just been earned, falling in proportion to the car's run of checked valid results to
 * trustedSpotCheckRate. A car that lies once it is trusted (a sleeper) is still checked on about
 * every other task, so it is caught within a few; a car that keeps passing is checked less.
 */
export function spotCheckRate(rep: Reputation, cfg: VerificationConfig): number {
  const run = Math.max(rep.consecutiveValid, cfg.trustAfterConsecutiveValid, 1);
  return Math.min(
    1,
    Math.max(
      cfg.trustedSpotCheckRate,
      (cfg.spotCheckNewTrust * cfg.trustAfterConsecutiveValid) / run,
    ),
  );
}

/**
 * How many cars a task goes to, decided when its first car claims it (late binding): that car's
 * reputation decides. A number is the tenant's explicit choice, clamped to 1..maxReplicas.
 * "auto": a trusted car runs it alone, except for a spot check with probability spotCheckRate();
 * any other car gets max(quorum, 2) replicas. Draws from rng only for a trusted car on "auto".
 */
export function replicasFor(
  requested: number | "auto",
  reputation: Reputation,
  cfg: VerificationConfig,
  rng: Rng,
): number {
  if (requested !== "auto") return clampReplicas(requested, cfg);
  const replicated = clampReplicas(Math.max(2, cfg.quorum), cfg);
  if (!isTrusted(reputation, cfg)) return replicated;
  return rng.chance(spotCheckRate(reputation, cfg)) ? replicated : 1;
}

/**
 * The reputation after one checked result (a replicated task's verdict or a canary). Do not call
 * it for an unreplicated result (support 1): nobody checked it, and counting it would let a
 * trusted car keep its trust by itself.
 *
 * Quarantine is judged only on an invalid result: by count while the car has fewer than
 * minResultsForShare results, by share after, so a long-lived honest car is not quarantined by
 * a handful of rare disagreements. Only releaseQuarantine() lifts it.
 */
export function afterResult(rep: Reputation, valid: boolean, cfg: VerificationConfig): Reputation {
  if (valid) return afterValidResults(rep, 1);
  const invalidResults = rep.invalidResults + 1;
  const total = rep.validResults + invalidResults;
  const tooMany =
    total < cfg.minResultsForShare
      ? invalidResults >= cfg.quarantineAfterInvalid
      : invalidResults / total > cfg.quarantineInvalidShare;
  return {
    ...rep,
    invalidResults,
    consecutiveValid: 0,
    quarantined: rep.quarantined || tooMany,
  };
}

/**
 * The reputation after `count` checked results in a row that were all valid (a replicated batch
 * of tasks that agreed): the same as `count` calls of afterResult(rep, true, cfg).
 */
export function afterValidResults(rep: Reputation, count: number): Reputation {
  return {
    ...rep,
    validResults: rep.validResults + count,
    consecutiveValid: rep.consecutiveValid + count,
  };
}

/**
 * An operator's release from quarantine. Trust starts over (consecutiveValid 0) and the invalid
 * count restarts at 0 so the car is not re-quarantined by its next disagreement; the valid
 * history is kept. Keep the full record of verdicts in the ledger, not here.
 */
export function releaseQuarantine(rep: Reputation): Reputation {
  return { ...rep, quarantined: false, invalidResults: 0, consecutiveValid: 0 };
}

/** Whether the next task issued should be a canary with a known answer. */
export function shouldIssueCanary(rng: Rng, cfg: VerificationConfig): boolean {
  return rng.chance(cfg.canaryRate);
}

/**
 * A canary passes when its output agrees with the known answer. A failed canary is an invalid
 * result: pass it to afterResult. A canary must look like ordinary work (same models, plausible
 * inputs), or a cheater answers canaries honestly and nothing else.
 */
export function checkCanary(
  output: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): boolean {
  return outputsAgree(output, expected, tol);
}

function clampReplicas(n: number, cfg: VerificationConfig): number {
  if (Number.isNaN(n)) throw new RangeError("replica count is NaN");
  return Math.max(1, Math.min(cfg.maxReplicas, Math.floor(n)));
}

function dedupeById(results: readonly ReplicaResult[]): ReplicaResult[] {
  const seen = new Set<string>();
  const out: ReplicaResult[] = [];
  for (const r of results) {
    if (seen.has(r.replicaId)) continue;
    seen.add(r.replicaId);
    out.push(r);
  }
  return out;
}

/**
 * The largest number of results in a group on pairwise distinct cars and owners: a maximum
 * matching between cars and owners (Kuhn's augmenting paths; a group holds at most maxReplicas
 * results). With consistent data (each car has one owner) this is the number of distinct owners.
 */
function independentSupport(group: readonly ReplicaResult[]): number {
  const carsByOwner = new Map<string, Set<string>>();
  for (const r of group) {
    const owner = quorumOwner(r);
    const cars = carsByOwner.get(owner) ?? new Set<string>();
    cars.add(r.vehicleId);
    carsByOwner.set(owner, cars);
  }
  const ownerOfCar = new Map<string, string>();
  const augment = (owner: string, visited: Set<string>): boolean => {
    for (const car of carsByOwner.get(owner) ?? []) {
      if (visited.has(car)) continue;
      visited.add(car);
      const holder = ownerOfCar.get(car);
      if (holder === undefined || augment(holder, visited)) {
        ownerOfCar.set(car, owner);
        return true;
      }
    }
    return false;
  };
  let matched = 0;
  for (const owner of carsByOwner.keys()) {
    if (augment(owner, new Set())) matched++;
  }
  return matched;
}
