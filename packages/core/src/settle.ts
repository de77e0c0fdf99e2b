// Settling results: what a batch of new results means for their tasks, their pay, their cars'
// reputations and the work still to do. The server reads what this needs (the results, the
// rounds they join, the cars' standing), calls settle, and writes its answer; nothing here reads
// a clock or a database, so a settlement replays exactly from its input.
//
// The rules are verify.ts's: each task is decided by decideQuorum over its current round, the new
// result last in arrival order. Agreeing replicas are paid; an answer nobody checked (support 1)
// is paid but not counted toward its car's reputation; a canary (a validated task issued again to
// check a car) is compared with the known answer, paid when its lease would have run out, and
// answers "pending" to its car as new replicated work does, so that its verdict never tells the
// car it was checked.
import type { TaskStatus } from "./status";
import type { Reputation } from "./types";
import {
  afterResult,
  afterValidResults,
  decideQuorum,
  isTrusted,
  judgedBy,
  outputsAgree,
  type Tolerance,
  type VerificationConfig,
} from "./verify";

/**
 * A result's standing as its car learns it: agreed with the quorum (paid), disagreed, awaiting
 * replicas (or a canary), or no quorum (or a result of a round already over).
 */
export type Verdict = "valid" | "invalid" | "pending" | "failed";

export interface SettleConfig {
  verification: VerificationConfig;
  /** Rounds of replicas a task may run before it fails for want of a quorum. */
  maxTaskAttempts: number;
}

/** A task as it stands (locked) when its new result is settled. */
export interface SettleTask {
  id: string;
  jobId: string;
  status: TaskStatus;
  /** The current round: units of earlier rounds are stale. */
  attempt: number;
  /** Replicas decided at the first claim; null: not decided yet (judged as 1). */
  replicasRequired: number | null;
  /** The job's replicas per task: a tenant's explicit count, or the platform's "auto". */
  replication: number | "auto";
}

/** A result stored earlier in a task's current round, in arrival order. */
export interface RoundResult {
  resultId: string;
  leaseId: string;
  carId: string;
  ownerId: string;
  output: ArrayLike<number>;
  /** Whether its car is trusted now: a car caught since no longer vouches for its result. */
  trusted: boolean;
  /** Whether an operator vouched for its car's owner (verify.ts's quorumOwner). */
  vouched: boolean;
}

/** A replicated (or already valid) task's round as stored before the new results. */
export interface StoredRound {
  results: readonly RoundResult[];
  /** Units of the current round still open or leased, the new result's own included. */
  outstanding: number;
  /** The task's units nobody has claimed (ids), cancelled once the task is valid. */
  openUnitIds: readonly number[];
  /** For a task already valid: the canonical result's output. */
  canonicalOutput: ArrayLike<number> | null;
}

/** A new result, accepted for settling (its lease active and its car's own). */
export interface NewResult {
  resultId: string;
  leaseId: string;
  carId: string;
  ownerId: string;
  output: ArrayLike<number>;
  /** Its car's reputation as it submits. */
  reputation: Reputation;
  vouched: boolean;
  /** Its unit is a canary: a validated task issued again to check this car. */
  canary: boolean;
  /** The round its unit belongs to. */
  unitAttempt: number;
  /** When its lease would run out (epoch ms): when an agreeing canary is paid. */
  leaseExpiresAtMs: number;
  /** What its ledger entry owes the owner if the result validates. */
  payoutOwedUsd: number;
  tolerance: Tolerance;
  task: SettleTask;
}

/** A new result's ledger entry. */
export interface LedgerSettlement {
  leaseId: string;
  /** Paid now. */
  validated: boolean;
  /** What it pays now: all it is owed when validated, else nothing. */
  payoutUsd: number;
  /** An agreeing canary: paid in full at this time (epoch ms) by the sweep; else null. */
  settlesAtMs: number | null;
}

/** A task that a quorum made valid. */
export interface ValidatedTask {
  taskId: string;
  jobId: string;
  canonical: { resultId: string; output: ArrayLike<number> };
  support: number;
  agreeing: number;
  disagreeing: number;
}

/** What becomes of a task's round besides its verdict, in the order the results were settled. */
export type RoundChange =
  /** Disagreeing replicas need more: `count` units added to the current round. */
  | { kind: "top-up"; taskId: string; attempt: number; count: number }
  /** No quorum: its open units cancelled and a new round of `units` at `attempt`. */
  | { kind: "retry"; taskId: string; attempt: number; units: number }
  /** No quorum in its last round: the task fails. */
  | { kind: "fail"; taskId: string; jobId: string; disagreeing: number; error: string };

export interface Settlement {
  /** One per new result, in order. */
  verdicts: Verdict[];
  /** One per new result, in order. */
  ledger: LedgerSettlement[];
  /** Earlier results of the rounds decided now that agreed: their entries are paid now. */
  alsoPaid: string[];
  validated: ValidatedTask[];
  /** Open tasks that now wait for more replicas (they become verifying). */
  pending: string[];
  roundChanges: RoundChange[];
  /** Units nobody claimed of tasks decided now: replicas no longer needed. */
  cancelUnits: number[];
  /** Tasks validated now, per job. */
  jobsValidated: { jobId: string; validated: number }[];
  /** Each checked result's verdict for its car's reputation, in the order reached, per car. */
  judged: Map<string, boolean[]>;
}

export const NO_QUORUM_ERROR = "no quorum: the replicas did not agree";

/**
 * Settles new results against the rounds they join (`rounds`, by task id; a task with no entry is
 * unreplicated: its round is the new result alone). Deterministic: same input, same settlement.
 */
export function settle(
  results: readonly NewResult[],
  rounds: ReadonlyMap<string, StoredRound>,
  cfg: SettleConfig,
): Settlement {
  const out: Settlement = {
    verdicts: [],
    ledger: [],
    alsoPaid: [],
    validated: [],
    pending: [],
    roundChanges: [],
    cancelUnits: [],
    jobsValidated: [],
    judged: new Map(),
  };
  const judge = (carId: string, good: boolean) =>
    out.judged.set(carId, [...(out.judged.get(carId) ?? []), good]);
  const jobs = new Map<string, number>();

  for (const r of results) {
    const { task } = r;
    const stored = rounds.get(task.id);
    let paid = false;
    let settlesAtMs: number | null = null;
    if (task.status === "valid") {
      // A replica that was still running when the quorum formed, or a canary: compared with the
      // answer, paid when it agrees, and it counts toward its car's reputation either way.
      const canonical = stored?.canonicalOutput ?? null;
      const agrees = canonical !== null && outputsAgree(r.output, canonical, r.tolerance);
      if (agrees && r.canary) settlesAtMs = r.leaseExpiresAtMs;
      else paid = agrees;
      judge(r.carId, agrees);
      out.verdicts.push(r.canary ? "pending" : agrees ? "valid" : "invalid");
    } else if (task.status !== "open" && task.status !== "verifying") {
      // Failed (or cancelled, which the caller refuses before settling): nothing to decide.
      out.verdicts.push("failed");
    } else if (r.unitAttempt < task.attempt) {
      // A result of a round that ended without a quorum.
      out.verdicts.push("failed");
    } else {
      paid = decideTask(r, stored, cfg, out, judge, jobs);
    }
    out.ledger.push({
      leaseId: r.leaseId,
      validated: paid,
      payoutUsd: paid ? r.payoutOwedUsd : 0,
      settlesAtMs,
    });
  }
  out.jobsValidated = [...jobs].map(([jobId, validated]) => ({ jobId, validated }));
  return out;
}

/** One open or verifying task, decided with its new result last; whether that result is paid. */
function decideTask(
  r: NewResult,
  stored: StoredRound | undefined,
  cfg: SettleConfig,
  out: Settlement,
  judge: (carId: string, good: boolean) => void,
  jobs: Map<string, number>,
): boolean {
  const { task } = r;
  const vcfg = cfg.verification;
  const round: RoundResult[] = [
    ...(stored?.results ?? []),
    {
      resultId: r.resultId,
      leaseId: r.leaseId,
      carId: r.carId,
      ownerId: r.ownerId,
      output: r.output,
      trusted: isTrusted(r.reputation, vcfg),
      vouched: r.vouched,
    },
  ];
  const quorum = decideQuorum(
    round.map((x) => ({
      replicaId: x.leaseId,
      vehicleId: x.carId,
      ownerId: x.ownerId,
      output: x.output,
      trusted: x.trusted,
      vouched: x.vouched,
    })),
    task.replicasRequired ?? 1,
    r.tolerance,
    judgedBy(task.replication, vcfg),
  );
  if (quorum.status === "pending") {
    if (task.status === "open") out.pending.push(task.id);
    // Top the round up to what the quorum still lacks; the new result's own unit is done.
    const outstanding = (stored?.outstanding ?? 1) - 1;
    if (outstanding < quorum.moreReplicas) {
      out.roundChanges.push({
        kind: "top-up",
        taskId: task.id,
        attempt: task.attempt,
        count: quorum.moreReplicas - outstanding,
      });
    }
    out.verdicts.push("pending");
    return false;
  }
  if (quorum.status === "failed") {
    out.roundChanges.push(
      task.attempt + 1 < cfg.maxTaskAttempts
        ? {
            kind: "retry",
            taskId: task.id,
            attempt: task.attempt + 1,
            units: task.replicasRequired ?? 1,
          }
        : {
            kind: "fail",
            taskId: task.id,
            jobId: task.jobId,
            disagreeing: quorum.disagreeing.length,
            error: NO_QUORUM_ERROR,
          },
    );
    out.verdicts.push("failed");
    return false;
  }
  const canonical = round.find((x) => x.leaseId === quorum.canonicalReplicaId) as RoundResult;
  out.cancelUnits.push(...(stored?.openUnitIds ?? []));
  out.validated.push({
    taskId: task.id,
    jobId: task.jobId,
    canonical: { resultId: canonical.resultId, output: canonical.output },
    support: quorum.support,
    agreeing: quorum.agreeing.length,
    disagreeing: quorum.disagreeing.length,
  });
  for (const id of quorum.agreeing) if (id !== r.leaseId) out.alsoPaid.push(id);
  jobs.set(task.jobId, (jobs.get(task.jobId) ?? 0) + 1);
  // An unreplicated result (support 1) was checked by nobody: paid, not counted (verify.ts).
  if (quorum.support > 1) {
    const carOf = new Map(round.map((x) => [x.leaseId, x.carId]));
    for (const id of quorum.agreeing) judge(carOf.get(id) as string, true);
    for (const id of quorum.disagreeing) judge(carOf.get(id) as string, false);
  }
  const agrees = quorum.agreeing.includes(r.leaseId);
  out.verdicts.push(agrees ? "valid" : "invalid");
  return agrees;
}

/** Cars with an invalid verdict among `judged`, in id order: their stored reputation is needed. */
export function questionedCars(judged: ReadonlyMap<string, readonly boolean[]>): string[] {
  return [...judged]
    .filter(([, goods]) => goods.includes(false))
    .map(([id]) => id)
    .sort();
}

/** A change to one car's reputation. */
export type ReputationChange =
  /** Only valid verdicts: these counts are added to whatever is stored (no read needed). */
  | {
      carId: string;
      relative: true;
      added: Pick<Reputation, "validResults" | "invalidResults" | "consecutiveValid">;
    }
  /** An invalid verdict: the stored reputation replayed verdict by verdict, replacing it. */
  | { carId: string; relative: false; reputation: Reputation; newlyQuarantined: boolean };

/** A car with no results: what afterValidResults adds to it is what it adds to any car. */
const NO_RESULTS: Reputation = {
  validResults: 0,
  invalidResults: 0,
  consecutiveValid: 0,
  quarantined: false,
};

/**
 * The reputation changes of a settlement's verdicts. Valid results only add
 * (afterValidResults); a car with an invalid verdict has its stored reputation (`stored`, for
 * questionedCars) replayed through afterResult in order, which may quarantine it. A questioned
 * car missing from `stored` is left alone.
 */
export function reputationChanges(
  judged: ReadonlyMap<string, readonly boolean[]>,
  stored: ReadonlyMap<string, Reputation>,
  cfg: VerificationConfig,
): ReputationChange[] {
  const changes: ReputationChange[] = [];
  for (const [carId, goods] of judged) {
    if (!goods.includes(false)) {
      const { validResults, invalidResults, consecutiveValid } = afterValidResults(
        NO_RESULTS,
        goods.length,
      );
      changes.push({
        carId,
        relative: true,
        added: { validResults, invalidResults, consecutiveValid },
      });
      continue;
    }
    const before = stored.get(carId);
    if (!before) continue;
    let rep = before;
    for (const good of goods) rep = good ? afterValidResults(rep, 1) : afterResult(rep, false, cfg);
    changes.push({
      carId,
      relative: false,
      reputation: rep,
      newlyQuarantined: rep.quarantined && !before.quarantined,
    });
  }
  return changes;
}
