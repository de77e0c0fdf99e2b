// The statuses of jobs, tasks, work units and leases, and the only ways each may change: one
// table per kind, each row an event with the statuses it may leave and the one it reaches. The
// server's status UPDATEs (packages/api services/transitions.ts) take their guards from here, so
// a row changes only along a transition listed below.
//
// The life of the work, in short: a job is queued, runs once a car claims its work, and ends
// completed, failed or cancelled (a recheck of unchecked answers may run it again). A task is
// open until a result arrives, verifying while its replicas agree or not, then valid or failed
// (or cancelled with its job); a recheck reopens a valid task. A work unit (one replica) is open,
// leased to a car, then done (its result arrived), or cancelled when nobody needs it; a lease
// that ends without a result hands its unit back open. A lease is active until it ends one way.

export const JOB_STATUSES = ["queued", "running", "completed", "cancelled", "failed"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TASK_STATUSES = ["open", "verifying", "valid", "failed", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const WORK_UNIT_STATUSES = ["open", "leased", "done", "cancelled"] as const;
export type WorkUnitStatus = (typeof WORK_UNIT_STATUSES)[number];

/**
 * "failed": the car could not run it (a broken input, a model that failed its sha256, an engine
 * error). "preempted": taken back for a tenant below its guarantee (core's reclaim); its unit
 * goes back to open and nothing is paid for it.
 */
export const LEASE_STATUSES = [
  "active",
  "submitted",
  "expired",
  "released",
  "cancelled",
  "failed",
  "preempted",
] as const;
export type LeaseStatus = (typeof LEASE_STATUSES)[number];

/** A status-bearing kind of row, and its statuses. */
export interface Statuses {
  job: JobStatus;
  task: TaskStatus;
  unit: WorkUnitStatus;
  lease: LeaseStatus;
}
export type StatusKind = keyof Statuses;

/** One allowed change: the event that causes it, the statuses it may leave, the one it reaches. */
export interface Transition<K extends StatusKind> {
  event: string;
  from: readonly Statuses[K][];
  to: Statuses[K];
}

/** Jobs not yet ended: they take work, and their tasks' verdicts decide them. */
export const LIVE_JOB_STATUSES = ["queued", "running"] as const satisfies readonly JobStatus[];
/** Tasks not yet decided: they still need results. */
export const UNDECIDED_TASK_STATUSES = [
  "open",
  "verifying",
] as const satisfies readonly TaskStatus[];
const LIVE_JOB = LIVE_JOB_STATUSES;
const UNDECIDED_TASK = UNDECIDED_TASK_STATUSES;

export const JOB_TRANSITIONS = [
  // A car claimed its first work unit.
  { event: "claimed", from: ["queued"], to: "running" },
  // A task was decided (or withdrawn) and others remain.
  { event: "progressed", from: LIVE_JOB, to: "running" },
  // Its last task was decided: every task valid, or some failed.
  { event: "completed", from: LIVE_JOB, to: "completed" },
  { event: "failed", from: LIVE_JOB, to: "failed" },
  // Its deadline passed or its budget was spent.
  { event: "overdue", from: LIVE_JOB, to: "failed" },
  { event: "cancelled", from: LIVE_JOB, to: "cancelled" },
  // An answer it was given was withdrawn (recheck): it runs again.
  { event: "rechecked", from: ["completed", "failed"], to: "running" },
] as const satisfies readonly Transition<"job">[];

export const TASK_TRANSITIONS = [
  // A result arrived and the quorum waits for more.
  { event: "pending", from: ["open"], to: "verifying" },
  { event: "validated", from: UNDECIDED_TASK, to: "valid" },
  // No group of replicas reached a quorum: another round on other cars.
  { event: "retried", from: UNDECIDED_TASK, to: "open" },
  // No quorum in its last round, refused by enough owners' cars, or its job ran out of time or
  // budget.
  { event: "failed", from: UNDECIDED_TASK, to: "failed" },
  { event: "cancelled", from: UNDECIDED_TASK, to: "cancelled" },
  // Its answer came from a car since caught lying, and nobody checked it: it runs again.
  { event: "rechecked", from: ["valid"], to: "open" },
] as const satisfies readonly Transition<"task">[];

export const WORK_UNIT_TRANSITIONS = [
  { event: "claimed", from: ["open"], to: "leased" },
  { event: "submitted", from: ["leased"], to: "done" },
  // Its lease ended without a result and its task still needs one.
  { event: "returned", from: ["leased"], to: "open" },
  // Its lease ended without a result and nobody needs it any more (its task was decided, or its
  // job ended).
  { event: "ended", from: ["leased"], to: "cancelled" },
  // Nobody claimed it and nobody needs it any more: its task was decided, or its job ended.
  { event: "dropped", from: ["open"], to: "cancelled" },
] as const satisfies readonly Transition<"unit">[];

export const LEASE_TRANSITIONS = [
  { event: "submitted", from: ["active"], to: "submitted" },
  { event: "expired", from: ["active"], to: "expired" },
  // The car gave it back (it departs, or asked to).
  { event: "released", from: ["active"], to: "released" },
  // Its job ended, or its car was quarantined.
  { event: "cancelled", from: ["active"], to: "cancelled" },
  // The car could not run it.
  { event: "failed", from: ["active"], to: "failed" },
  // Reclaimed for a tenant below its guarantee.
  { event: "preempted", from: ["active"], to: "preempted" },
] as const satisfies readonly Transition<"lease">[];

/** Every kind's transitions. */
export const TRANSITIONS: { readonly [K in StatusKind]: readonly Transition<K>[] } = {
  job: JOB_TRANSITIONS,
  task: TASK_TRANSITIONS,
  unit: WORK_UNIT_TRANSITIONS,
  lease: LEASE_TRANSITIONS,
};

/** Every kind's statuses. */
export const STATUSES: { readonly [K in StatusKind]: readonly Statuses[K][] } = {
  job: JOB_STATUSES,
  task: TASK_STATUSES,
  unit: WORK_UNIT_STATUSES,
  lease: LEASE_STATUSES,
};

/** The events of a kind, by name. */
export type TransitionEvent<K extends StatusKind> = K extends "job"
  ? (typeof JOB_TRANSITIONS)[number]["event"]
  : K extends "task"
    ? (typeof TASK_TRANSITIONS)[number]["event"]
    : K extends "unit"
      ? (typeof WORK_UNIT_TRANSITIONS)[number]["event"]
      : (typeof LEASE_TRANSITIONS)[number]["event"];

/** The statuses a row starts in, when it is inserted. */
export const INITIAL_STATUS: { readonly [K in StatusKind]: Statuses[K] } = {
  job: "queued",
  task: "open",
  unit: "open",
  lease: "active",
};

/**
 * The events that take a row of `kind` from `from` to `to`; empty when the change is not allowed.
 * A status that does not change is no transition (an UPDATE that leaves it alone is always
 * allowed), except where an event lists it (a task retried while still open).
 */
export function transitionEvents<K extends StatusKind>(
  kind: K,
  from: Statuses[K],
  to: Statuses[K],
): TransitionEvent<K>[] {
  const table = TRANSITIONS[kind] as readonly Transition<K>[];
  return table
    .filter((t) => t.to === to && t.from.includes(from))
    .map((t) => t.event as TransitionEvent<K>);
}

/** Whether a row of `kind` may go from `from` to `to`: some event does it, or nothing changes. */
export function canTransition<K extends StatusKind>(
  kind: K,
  from: Statuses[K],
  to: Statuses[K],
): boolean {
  return from === to || transitionEvents(kind, from, to).length > 0;
}

/** The transition an event makes; throws for an event the kind does not have. */
export function transitionOf<K extends StatusKind>(
  kind: K,
  event: TransitionEvent<K>,
): Transition<K> {
  const table = TRANSITIONS[kind] as readonly Transition<K>[];
  const t = table.find((x) => x.event === event);
  if (!t) throw new RangeError(`no ${kind} event ${String(event)}`);
  return t;
}

/** Statuses from which no event leads anywhere: the row's life is over. */
export function isFinal<K extends StatusKind>(kind: K, status: Statuses[K]): boolean {
  const table = TRANSITIONS[kind] as readonly Transition<K>[];
  return !table.some((t) => t.from.includes(status) && t.to !== status);
}
