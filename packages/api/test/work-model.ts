// The reference model of the work path for model.test.ts: tasks, their units, leases, results and
// pay, as plain arrays, with the rules written the naive way. Cars are honest (every result they
// submit agrees) and of distinct vouched owners, jobs ask for 1 or 2 replicas and no canaries are
// issued: then every answer of the server is decided, and the model says exactly what it must be,
// except which of the tasks a car may have it is given (the scheduler's choice: the model checks
// the count and that each was the car's to have, then follows the choice).
// Time is whole seconds since the run began; the real clock runs a few ms ahead of it.

export type LeaseStatus = "active" | "submitted" | "expired" | "released" | "failed";
export type TaskStatus = "open" | "verifying" | "valid";
export type JobStatus = "queued" | "running" | "completed";
export type FailReason = "bad-input" | "runtime";

export interface ModelLease {
  id: string;
  car: number;
  task: number;
  leasedAtS: number;
  expiresAtS: number;
  status: LeaseStatus;
  /** Why the car said it could not run it (a lease it failed). */
  failedFor: FailReason | null;
  /** The requestId of the lease call that made it, if it sent one. */
  requestId: string | null;
}

export interface ModelTask {
  job: number;
  replicas: number;
  /** A first car has claimed it: its extra replicas' units exist. */
  claimed: boolean;
}

export interface ModelLimits {
  leaseTtlS: number;
  /** A car not heard from for this long is offline: no work, and the sweeper ends its leases. */
  heartbeatTimeoutS: number;
  /** How long a lease may live in all, renewals included, in lifetimes (tiny runs: ttl-bound). */
  maxLifetimes: number;
}

export type LeaseAnswer =
  | {
      kind: "claim";
      count: number;
      /** Tasks this car may be given now (any `count` of them, each once). */
      leasable: number[];
      reason: string | null;
    }
  | {
      /** A retried call: what the first call made and the car still holds, nothing new. */
      kind: "replay";
      leases: ModelLease[];
      reason: string | null;
    };

export interface SubmitAnswer {
  accepted: boolean;
  verdict: "valid" | "pending" | null;
  reason: string | null;
  duplicate: boolean;
}

export interface RenewAnswer {
  renewed: string[];
  lost: string[];
  notExtended: string[];
}

export interface Earnings {
  /** Ledger entries: one per submitted lease. */
  entries: number;
  /** Of them validated (paid): their task is valid. */
  validated: number;
}

export class WorkModel {
  nowS = 0;
  readonly driving: boolean[];
  /** When each car was last heard from. */
  readonly heardAtS: number[];
  readonly tasks: ModelTask[];
  /** Every lease ever made, oldest first. */
  readonly leases: ModelLease[] = [];

  constructor(
    readonly limits: ModelLimits,
    /** Per job, its replicas per task and its number of tasks. */
    readonly jobs: readonly { replicas: number; tasks: number }[],
    cars: number,
  ) {
    this.driving = Array.from({ length: cars }, () => false);
    this.heardAtS = Array.from({ length: cars }, () => 0);
    this.tasks = jobs.flatMap((j, job) =>
      Array.from({ length: j.tasks }, () => ({ job, replicas: j.replicas, claimed: false })),
    );
  }

  // ---- what the state implies ----

  leasesOf(task: number, status?: LeaseStatus): ModelLease[] {
    return this.leases.filter(
      (l) => l.task === task && (status === undefined || l.status === status),
    );
  }

  taskStatus(task: number): TaskStatus {
    const submitted = this.leasesOf(task, "submitted").length;
    if (submitted >= (this.tasks[task] as ModelTask).replicas) return "valid";
    return submitted > 0 ? "verifying" : "open";
  }

  /**
   * Units nobody holds: before the first claim, the task's one unit; after, its replicas less
   * those held (an active lease, run out or not, until the sweeper ends it) or done.
   */
  openUnits(task: number): number {
    const t = this.tasks[task] as ModelTask;
    if (!t.claimed) return 1;
    if (this.taskStatus(task) === "valid") return 0;
    return (
      t.replicas - this.leasesOf(task, "active").length - this.leasesOf(task, "submitted").length
    );
  }

  /** Tasks car `car` may be given: undecided, with a unit open, that its owner never leased. */
  leasableBy(car: number): number[] {
    return this.tasks
      .map((_, task) => task)
      .filter(
        (task) =>
          this.taskStatus(task) !== "valid" &&
          this.openUnits(task) > 0 &&
          !this.leasesOf(task).some((l) => l.car === car),
      );
  }

  /** Active, but past its expiry: over for the car, though the sweeper has not ended it yet. */
  lapsed(l: ModelLease): boolean {
    return l.status === "active" && l.expiresAtS <= this.nowS;
  }

  online(car: number): boolean {
    return (this.heardAtS[car] as number) > this.nowS - this.limits.heartbeatTimeoutS;
  }

  jobStatus(job: number): JobStatus {
    const tasks = this.tasks.map((t, i) => ({ ...t, i })).filter((t) => t.job === job);
    if (tasks.every((t) => this.taskStatus(t.i) === "valid")) return "completed";
    return tasks.some((t) => t.claimed) ? "running" : "queued";
  }

  validatedOf(job: number): number {
    return this.tasks.filter((t, i) => t.job === job && this.taskStatus(i) === "valid").length;
  }

  earnings(car: number): Earnings {
    const mine = this.leases.filter((l) => l.car === car && l.status === "submitted");
    return {
      entries: mine.length,
      validated: mine.filter((l) => this.taskStatus(l.task) === "valid").length,
    };
  }

  /**
   * Checked results in the car's record: its results on replicated tasks that were validated (a
   * result nobody else checked, of a one-replica task, is paid but not counted).
   */
  validResults(car: number): number {
    return this.leases.filter(
      (l) =>
        l.car === car &&
        l.status === "submitted" &&
        (this.tasks[l.task] as ModelTask).replicas > 1 &&
        this.taskStatus(l.task) === "valid",
    ).length;
  }

  // ---- the commands: what the server must answer, then the change ----

  /**
   * A lease call of `car` for up to `max` tasks. A retry (a requestId whose call made leases) gets
   * back those still held, whatever the car's state is now; any other call claims.
   */
  expectLease(car: number, max: number, requestId: string | null): LeaseAnswer {
    const made = this.leases.filter(
      (l) => l.car === car && requestId !== null && l.requestId === requestId,
    );
    if (made.length > 0) {
      const held = made.filter((l) => l.status === "active" && !this.lapsed(l));
      return { kind: "replay", leases: held, reason: held.length > 0 ? null : "leases-ended" };
    }
    const none = (reason: string) => ({ kind: "claim" as const, count: 0, leasable: [], reason });
    if (!this.online(car)) return none("no-heartbeat");
    if (this.driving[car]) return none("driving");
    const leasable = this.leasableBy(car);
    const count = Math.min(max, leasable.length);
    return { kind: "claim", count, leasable, reason: count < max ? "no-work" : null };
  }

  leased(
    car: number,
    taken: readonly { task: number; leaseId: string }[],
    requestId: string | null,
  ): void {
    for (const { task, leaseId } of taken) {
      (this.tasks[task] as ModelTask).claimed = true;
      this.leases.push({
        id: leaseId,
        car,
        task,
        leasedAtS: this.nowS,
        expiresAtS: this.nowS + this.limits.leaseTtlS,
        status: "active",
        failedFor: null,
        requestId,
      });
    }
  }

  /** An honest result for lease `l`, by the car that holds it. */
  submit(l: ModelLease): SubmitAnswer {
    if (l.status === "submitted") {
      const verdict = this.taskStatus(l.task) === "valid" ? "valid" : "pending";
      return { accepted: true, verdict, reason: null, duplicate: true };
    }
    if (l.status !== "active")
      return { accepted: false, verdict: null, reason: `lease ${l.status}`, duplicate: false };
    if (this.lapsed(l))
      return { accepted: false, verdict: null, reason: "lease expired", duplicate: false };
    l.status = "submitted";
    const verdict = this.taskStatus(l.task) === "valid" ? "valid" : "pending";
    return { accepted: true, verdict, reason: null, duplicate: false };
  }

  /** The car renews lease `l` (node.renew names it). */
  renew(l: ModelLease): RenewAnswer {
    if (l.status !== "active" || this.lapsed(l))
      return { renewed: [], lost: [l.id], notExtended: [] };
    const untilS = Math.min(
      this.nowS + this.limits.leaseTtlS,
      l.leasedAtS + this.limits.maxLifetimes * this.limits.leaseTtlS,
    );
    if (untilS <= this.nowS) return { renewed: [], lost: [], notExtended: [l.id] };
    l.expiresAtS = Math.max(l.expiresAtS, untilS);
    return { renewed: [l.id], lost: [], notExtended: [] };
  }

  /**
   * The car says it cannot run lease `l`. Refusals fail a task only when a trusted car is among
   * them, and no car here earns trust (fewer replicated tasks than the run trust takes).
   */
  fail(
    l: ModelLease,
    reason: FailReason,
  ): { accepted: boolean; duplicate: boolean; taskFailed: boolean } {
    if (l.status !== "active")
      return {
        accepted: false,
        duplicate: l.status === "failed" && l.failedFor === reason,
        taskFailed: false,
      };
    l.status = "failed";
    l.failedFor = reason;
    return { accepted: true, duplicate: false, taskFailed: false };
  }

  /** The car hands back every lease it holds (node.release, or it starts driving): how many. */
  releaseAll(car: number): number {
    const held = this.leases.filter((l) => l.car === car && l.status === "active");
    for (const l of held) l.status = "released";
    return held.length;
  }

  /** The car heartbeats: parked, or driving (then it hands back all it holds: how many). */
  heartbeat(car: number, driving: boolean): number {
    this.heardAtS[car] = this.nowS;
    this.driving[car] = driving;
    return driving ? this.releaseAll(car) : 0;
  }

  advance(s: number): void {
    this.nowS += s;
  }

  /** The sweeper ends the leases that have run out, then those of cars gone offline. */
  sweep(): { expiredLeases: number; silentCars: number } {
    const lapsed = this.leases.filter((l) => this.lapsed(l));
    for (const l of lapsed) l.status = "expired";
    const silent = this.leases.filter((l) => l.status === "active" && !this.online(l.car));
    for (const l of silent) l.status = "expired";
    return {
      expiredLeases: lapsed.length + silent.length,
      silentCars: new Set(silent.map((l) => l.car)).size,
    };
  }
}
