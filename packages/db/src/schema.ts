// Every table of Nightshift, in one place. Column names are snake_case in PostgreSQL and
// camelCase here (drizzle's `casing: "snake_case"`); units live in the names as in core.
//
// The work path: a job has tasks; each task needs one or more replicas, each a `work_units` row
// that cars claim (SELECT … FOR UPDATE SKIP LOCKED). Every claim is a `leases` row (every attempt
// kept); a submitted lease has one `results` row; a task's verdict is one `verifications` row;
// each submitted lease has one `ledger_entries` row, paid only when its result validates.
import type { DriveState, Objective, OwnerPolicy, TariffRate } from "@nightshift/core/types";
import type { Tolerance } from "@nightshift/core/verify";
import type { JobStatus, LeaseStatus, TaskStatus, WorkUnitStatus } from "@nightshift/core/status";
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const createdAt = () => timestamp({ withTimezone: true }).notNull().defaultNow();
const at = () => timestamp({ withTimezone: true });
/** Binary data; node-postgres reads and writes it as a Buffer. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

// ---- people and credentials ----

export const operators = pgTable("operators", {
  id: uuid().primaryKey().defaultRandom(),
  email: text().notNull().unique(),
  name: text().notNull(),
  /** scrypt, with its salt and parameters in the string. */
  passwordHash: text().notNull(),
  createdAt: createdAt(),
});

export const operatorSessions = pgTable("operator_sessions", {
  /** sha256 of the session token; the token itself is only ever with the operator. */
  tokenHash: text().primaryKey(),
  operatorId: uuid()
    .notNull()
    .references(() => operators.id, { onDelete: "cascade" }),
  createdAt: createdAt(),
  expiresAt: at().notNull(),
});

export const tenants = pgTable("tenants", {
  id: text().primaryKey(),
  name: text().notNull(),
  quotaShare: doublePrecision().notNull().default(0),
  weight: doublePrecision().notNull().default(1),
  borrowingLimitShare: doublePrecision(),
  lendingLimitShare: doublePrecision(),
  paused: boolean().notNull().default(false),
  /**
   * Bytes of stored input images the tenant may hold (each distinct image once: see
   * tenant_input_blobs); null: the server's default (ApiConfig's inputStorageQuotaBytes).
   */
  inputStorageQuotaBytes: bigint({ mode: "number" }),
  createdAt: createdAt(),
  updatedAt: createdAt(),
});

export const tenantKeys = pgTable(
  "tenant_keys",
  {
    id: uuid().primaryKey().defaultRandom(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** sha256 of the key (keys are long random strings, so a fast hash is enough). */
    keyHash: text().notNull().unique(),
    /** The first characters of the key, to tell keys apart in lists. */
    prefix: text().notNull(),
    createdAt: createdAt(),
    revokedAt: at(),
  },
  (t) => [index().on(t.tenantId)],
);

export const owners = pgTable("owners", {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull(),
  /**
   * Whether an operator stands behind this owner (a code made for them). An owner made by a
   * public code (the demo's) is a stranger: any number of them may be one person, so together
   * their cars count as one independent result until a car has earned trust (core's verify).
   */
  vouched: boolean().notNull().default(true),
  createdAt: createdAt(),
});

export const enrollmentCodes = pgTable("enrollment_codes", {
  codeHash: text().primaryKey(),
  /** The car joins this owner (a new owner when null) in this region. */
  ownerId: uuid().references(() => owners.id),
  regionId: text().references(() => regions.id),
  createdBy: uuid().references(() => operators.id),
  usesLeft: integer().notNull().default(1),
  expiresAt: at(),
  /** Anyone may use it (the demo's code): the owners it makes are not vouched for. */
  public: boolean().notNull().default(false),
  /** A revoked code enrolls no more cars (those it enrolled stay). */
  revokedAt: at(),
  createdAt: createdAt(),
});

// ---- the grid ----

export const regions = pgTable("regions", {
  id: text().primaryKey(),
  name: text().notNull(),
  /** IANA time zone ("America/Chicago"): tariffs, carbon and owners' hours are in its local time. */
  timeZone: text().notNull(),
  /**
   * Retired: the fixed UTC offset regions had before they took a time zone. Kept, nullable and
   * neither read nor written, so that servers of the previous release keep working through a
   * rolling upgrade (docs/OPERATIONS.md); a later release's migration drops it.
   */
  utcOffsetH: doublePrecision(),
  tariff: jsonb().$type<TariffRate[]>().notNull(),
  /** 24 hourly values, gCO2/kWh, local time. */
  carbonGPerKWh: jsonb().$type<number[]>().notNull(),
  /** A drained region takes no new leases; its running leases finish. */
  drained: boolean().notNull().default(false),
  updatedAt: createdAt(),
});

// ---- cars ----

export const cars = pgTable(
  "cars",
  {
    id: uuid().primaryKey().defaultRandom(),
    ownerId: uuid()
      .notNull()
      .references(() => owners.id),
    regionId: text()
      .notNull()
      .references(() => regions.id),
    /** A key of core's HARDWARE. */
    hardwareId: text().notNull(),
    name: text().notNull(),
    credentialHash: text().notNull().unique(),
    state: text().$type<DriveState>().notNull().default("parked"),
    socPct: doublePrecision().notNull(),
    pluggedIn: boolean().notNull().default(false),
    chargerKW: doublePrecision().notNull().default(0),
    batteryKWh: doublePrecision().notNull(),
    chargeEfficiency: doublePrecision().notNull().default(0.9),
    predictedDepartureAt: at(),
    departureUncertaintyS: integer().notNull().default(1200),
    batteryTempC: doublePrecision(),
    policy: jsonb().$type<OwnerPolicy>().notNull(),
    validResults: integer().notNull().default(0),
    invalidResults: integer().notNull().default(0),
    consecutiveValid: integer().notNull().default(0),
    quarantined: boolean().notNull().default(false),
    lastHeartbeatAt: at(),
    enrolledAt: createdAt(),
    revokedAt: at(),
  },
  (t) => [
    index().on(t.regionId),
    index().on(t.ownerId),
    index().on(t.lastHeartbeatAt),
    // The operator's car list pages by these (keyset); both are fixed at enrollment, so they
    // cost heartbeats nothing. Charge level changes every heartbeat: it is sorted, not indexed.
    index().on(t.enrolledAt, t.id),
    index().on(t.name, t.id),
  ],
);

// ---- models ----

export const models = pgTable("models", {
  /** e.g. "ppocr-cls"; the version is part of what a task pins. */
  id: text().primaryKey(),
  version: text().notNull(),
  sha256: text().notNull(),
  sizeBytes: integer().notNull(),
  memoryGB: doublePrecision().notNull(),
  teraOpsPerInference: doublePrecision().notNull(),
  inputSpec: jsonb().notNull(),
  outputSpec: jsonb().notNull(),
  tolerance: jsonb().$type<Tolerance>().notNull(),
  createdAt: createdAt(),
});

/**
 * Input files of tasks (images), content-addressed: a job's tasks reference them by sha256 and
 * cars fetch them from GET /inputs/:sha256. The same image in many jobs is stored once.
 */
export const inputBlobs = pgTable(
  "input_blobs",
  {
    sha256: text().primaryKey(),
    mediaType: text().notNull(),
    width: integer().notNull(),
    height: integer().notNull(),
    sizeBytes: integer().notNull(),
    bytes: bytea().notNull(),
    createdAt: createdAt(),
    /**
     * When the sweep should next look whether anything still needs the image: set when a
     * tenant's hold on it goes, put off while a task still needs it; null otherwise.
     */
    reclaimAt: at(),
  },
  (t) => [
    index("input_blobs_reclaim")
      .on(t.reclaimAt)
      .where(sql`${t.reclaimAt} is not null`),
  ],
);

/**
 * The images each tenant holds: those its jobs use, until the jobs no longer need them (a
 * cancelled job at once, a finished one after ApiConfig's inputRetentionS). A tenant pays for
 * each distinct image once, against its input storage quota, however many of its jobs use it.
 */
export const tenantInputBlobs = pgTable(
  "tenant_input_blobs",
  {
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    sha256: text().notNull(),
    /** The image's size (input_blobs.size_bytes), kept here to sum a tenant's usage. */
    sizeBytes: integer().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.sha256] }), index().on(t.sha256)],
);

// ---- work ----

// Statuses and their allowed transitions live in core (status.ts): one state machine, the server's
// UPDATEs guarded by it.
export type { JobStatus, LeaseStatus, TaskStatus, WorkUnitStatus } from "@nightshift/core/status";

export const jobs = pgTable(
  "jobs",
  {
    id: uuid().primaryKey().defaultRandom(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    modelId: text()
      .notNull()
      .references(() => models.id),
    priority: integer().notNull().default(0),
    deadlineAt: at(),
    /** Replicas per task; null means "auto" (core's adaptive replication). */
    replication: integer(),
    budgetUsd: doublePrecision(),
    /** What the job's work is scheduled for (core's Objective: soonest, cheapest, cleanest). */
    objective: text().$type<Objective>().notNull().default("soonest"),
    /** Why a job ended before all its tasks were decided: "deadline" or "budget". */
    endReason: text(),
    status: text().$type<JobStatus>().notNull().default("queued"),
    taskCount: integer().notNull(),
    tasksValidated: integer().notNull().default(0),
    /** Tasks that no quorum could decide (after every allowed attempt). */
    tasksFailed: integer().notNull().default(0),
    /** A tenant's retried submission with the same key returns the first job. */
    idempotencyKey: text(),
    submittedAt: createdAt(),
    completedAt: at(),
    /**
     * When the sweep let go of the job's input images (its tenant's holds on those no other of
     * its jobs uses): a cancelled job at once, a finished one after the retention.
     */
    inputsReleasedAt: at(),
  },
  (t) => [
    index().on(t.tenantId, t.submittedAt),
    uniqueIndex()
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    // Ended jobs whose inputs are still held: what the input sweep looks for.
    index("jobs_inputs_held")
      .on(t.status, t.completedAt)
      .where(
        sql`${t.inputsReleasedAt} is null and ${t.status} in ('completed', 'failed', 'cancelled')`,
      ),
  ],
);

export const tasks = pgTable(
  "tasks",
  {
    id: uuid().primaryKey().defaultRandom(),
    jobId: uuid()
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    seq: integer().notNull(),
    /** The model's input, inline (a tensor as { dims, data }) or a reference to a stored file. */
    input: jsonb().notNull(),
    status: text().$type<TaskStatus>().notNull().default("open"),
    /** Decided when the first car claims it (adaptive replication), then fixed. */
    replicasRequired: integer(),
    /** Rounds of replicas: a round whose results reach no quorum is followed by a fresh one. */
    attempt: integer().notNull().default(0),
    canary: boolean().notNull().default(false),
    expectedOutput: jsonb().$type<number[]>(),
    /** Why the task failed, for its tenant (e.g. the input image cars could not decode). */
    error: text(),
    /** The validated output read for people (a direction, text boxes), by the model's postprocess. */
    interpretation: jsonb(),
    createdAt: createdAt(),
    validatedAt: at(),
  },
  (t) => [
    uniqueIndex().on(t.jobId, t.seq),
    index().on(t.status),
    // Canaries are drawn from the latest validated tasks.
    index("tasks_validated")
      .on(t.validatedAt)
      .where(sql`${t.status} = 'valid'`),
    // The tasks of a stored image: what says whether the image may be deleted.
    index("tasks_input_sha256")
      .on(sql`(${t.input} -> 'image' ->> 'sha256')`)
      .where(sql`(${t.input} -> 'image' ->> 'sha256') is not null`),
  ],
);

export const workUnits = pgTable(
  "work_units",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    taskId: uuid()
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    jobId: uuid().notNull(),
    tenantId: text().notNull(),
    priority: integer().notNull(),
    replicaIndex: integer().notNull(),
    /** The task's place in its tenant's queue (its first unit's id): replicas sort beside it. */
    taskOrder: bigint({ mode: "number" }).notNull(),
    /** The task's round of replicas this unit belongs to (tasks.attempt when it was made). */
    attempt: integer().notNull().default(0),
    status: text().$type<WorkUnitStatus>().notNull().default("open"),
    /** A replica issued as a canary: a validated task run again to check the car (one per task). */
    canary: boolean().notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex().on(t.taskId, t.replicaIndex),
    // The claim: open units of one tenant, highest priority, oldest task first.
    index("work_units_claim")
      .on(t.tenantId, t.priority.desc(), t.taskOrder, t.id)
      .where(sql`${t.status} = 'open'`),
    // Usage: leased units per tenant.
    index("work_units_leased")
      .on(t.tenantId)
      .where(sql`${t.status} = 'leased'`),
    index().on(t.jobId),
  ],
);

export const leases = pgTable(
  "leases",
  {
    id: uuid().primaryKey().defaultRandom(),
    workUnitId: bigint({ mode: "number" })
      .notNull()
      .references(() => workUnits.id, { onDelete: "cascade" }),
    taskId: uuid().notNull(),
    carId: uuid()
      .notNull()
      .references(() => cars.id),
    ownerId: uuid().notNull(),
    status: text().$type<LeaseStatus>().notNull().default("active"),
    leasedAt: createdAt(),
    expiresAt: at().notNull(),
    renewedAt: at(),
    endedAt: at(),
    endReason: text(),
    /**
     * The car's id for the lease call that made this lease: a retry of that call (its answer
     * lost) gets these leases back instead of new ones. Null for calls that sent none.
     */
    requestId: uuid(),
  },
  (t) => [
    index().on(t.carId, t.status),
    index("leases_car_request")
      .on(t.carId, t.requestId)
      .where(sql`${t.requestId} is not null`),
    // Replicas of a task run on distinct owners (so distinct cars), across instances and
    // retries: a car or owner never holds two leases of one task, even one after the other.
    uniqueIndex("leases_task_owner").on(t.taskId, t.ownerId),
    index().on(t.workUnitId),
    index("leases_expiry")
      .on(t.expiresAt)
      .where(sql`${t.status} = 'active'`),
  ],
);

export const results = pgTable(
  "results",
  {
    id: uuid().primaryKey().defaultRandom(),
    /** One result per lease: a retried submit finds it and changes nothing. */
    leaseId: uuid()
      .notNull()
      .unique()
      .references(() => leases.id),
    taskId: uuid().notNull(),
    carId: uuid().notNull(),
    output: jsonb().$type<number[]>().notNull(),
    outputSha256: text().notNull(),
    durationMs: integer().notNull(),
    /** "webgpu", "wasm" or "native". */
    backend: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.taskId)],
);

export const verifications = pgTable("verifications", {
  taskId: uuid()
    .primaryKey()
    .references(() => tasks.id, { onDelete: "cascade" }),
  status: text().$type<"valid" | "failed">().notNull(),
  canonicalResultId: uuid(),
  support: integer().notNull(),
  agreeing: integer().notNull(),
  disagreeing: integer().notNull(),
  decidedAt: createdAt(),
});

export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: uuid().primaryKey().defaultRandom(),
    /** One entry per submitted lease, whatever is retried. */
    leaseId: uuid()
      .notNull()
      .unique()
      .references(() => leases.id),
    taskId: uuid().notNull(),
    jobId: uuid().notNull(),
    tenantId: text().notNull(),
    carId: uuid().notNull(),
    ownerId: uuid().notNull(),
    regionId: text().notNull(),
    energyKWh: doublePrecision().notNull(),
    gridEnergyKWh: doublePrecision().notNull(),
    batteryEnergyKWh: doublePrecision().notNull(),
    costUsd: doublePrecision().notNull(),
    carbonG: doublePrecision().notNull(),
    /**
     * What the same energy would have cost and emitted in the car's region at the moment its job
     * was submitted (the soonest it could have run): the baseline that deferring (a job's
     * "cheapest" or "cleanest" objective) is measured against. Null for "soonest" jobs.
     */
    soonestCostUsd: doublePrecision(),
    soonestCarbonG: doublePrecision(),
    /** What the owner is owed if the result validates. */
    payoutOwedUsd: doublePrecision().notNull(),
    /** Paid: payoutOwedUsd once validated, else 0. */
    payoutUsd: doublePrecision().notNull().default(0),
    validated: boolean().notNull().default(false),
    /**
     * A canary's result that agreed is paid when its lease would have run out, not when it was
     * submitted: paid at once, it would tell a car reading its earnings that it had been checked
     * (a first result on new replicated work waits for its quorum). The sweep pays it then.
     */
    settlesAt: at(),
    createdAt: createdAt(),
    validatedAt: at(),
  },
  (t) => [
    index("ledger_entries_settle")
      .on(t.settlesAt)
      .where(sql`${t.settlesAt} IS NOT NULL`),
    index().on(t.tenantId),
    index().on(t.ownerId),
    index().on(t.regionId),
    index().on(t.jobId),
  ],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    at: createdAt(),
    actorKind: text().$type<"operator" | "tenant" | "car" | "system">().notNull(),
    actorId: text(),
    action: text().notNull(),
    subjectKind: text().notNull(),
    subjectId: text().notNull(),
    detail: jsonb().notNull().default({}),
  },
  (t) => [index().on(t.at)],
);

// ---- history ----

/**
 * The fleet, one row per region (and "*" for all) per minute: what the console charts over
 * the last day. Written by every instance's sampler; the minute is the key, so one row lands.
 */
export const fleetSamples = pgTable(
  "fleet_samples",
  {
    at: timestamp({ withTimezone: true }).notNull(),
    regionId: text().notNull(),
    online: integer().notNull(),
    eligible: integer().notNull(),
    availableKW: doublePrecision().notNull(),
    availableTops: doublePrecision().notNull(),
    activeLeases: integer().notNull(),
    queueDepth: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.at, t.regionId] })],
);

/** A car's changes of state (driving, parked, charging; plugged in or not), from its heartbeats. */
export const carEvents = pgTable(
  "car_events",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    carId: uuid()
      .notNull()
      .references(() => cars.id, { onDelete: "cascade" }),
    at: timestamp({ withTimezone: true }).notNull(),
    state: text().$type<DriveState>().notNull(),
    socPct: doublePrecision().notNull(),
    pluggedIn: boolean().notNull(),
  },
  (t) => [index().on(t.carId, t.at)],
);
