// Tenants' jobs: submit (inline inputs, one task per input), status, results, cancel. A tenant
// reaches only its own jobs: another tenant's job is NOT_FOUND, like one that does not exist.
import { OBJECTIVES } from "@nightshift/core/types";
import { jobs, models, tasks } from "@nightshift/db/schema";
import { and, desc, eq, lt, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { badRequest, notFound } from "../errors";
import {
  decodeCursor,
  encodeCursor,
  ZCursor,
  ZIsoDate,
  ZLimit,
  ZNonNegative,
  ZSeqCursor,
  ZSlug,
  ZText,
  ZUuid,
} from "../schemas";
import { type ApiState } from "../state";
import { getManifest } from "@nightshift/models/registry";
import { type Executor, inTx, rows } from "./db";
import { holdImages } from "./input-storage";
import { type PreparedImage, prepareImage, ZImageInput } from "./inputs";
import { audit } from "./audit";
import { endLeases } from "./leases";
import { cancelJobRow, cancelJobTasks, dropOpenUnits } from "./transitions";

/** A tensor as onnxruntime takes it: its shape and its values, flat, row-major. */
export const ZTensor = z
  .object({
    dims: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(2 ** 24),
      )
      .max(8),
    data: z.array(z.number()),
    type: z.enum(["float32", "int32", "int64", "uint8", "bool"]).default("float32"),
  })
  .strict()
  .refine((t) => t.dims.reduce((a, b) => a * b, 1) === t.data.length, {
    message: "data must hold the product of dims values",
    path: ["data"],
  });

/** Tensor feeds by the model's input names, e.g. { x: { dims: [1, 16], data: [...] } }. */
export const ZTensorFeeds = z
  .record(ZText.min(1).max(64), ZTensor)
  .refine(
    (r) => Object.keys(r).length >= 1 && Object.keys(r).length <= 16,
    "needs 1 to 16 named feeds",
  );

/** One task's input: an image for image models, or tensor feeds. */
export const ZTaskInput = z.union([ZImageInput, ZTensorFeeds]);

export const ZReplication = z.union([z.literal("auto"), z.number().int().min(1).max(5)]);

export const ZSubmitJobInput = z
  .object({
    modelId: ZText.min(1).max(64),
    /** One task per input. At most ApiConfig.maxTasksPerJob inputs and maxInlineInputBytes of JSON. */
    inputs: z.array(ZTaskInput).min(1).max(10_000),
    priority: z.number().int().min(0).max(9).default(0),
    deadlineAt: ZIsoDate.optional(),
    /** Replicas per task; "auto" lets each task's first car decide (core's adaptive replication). */
    replication: ZReplication.default("auto"),
    budgetUsd: ZNonNegative.optional(),
    /**
     * What the job's work is scheduled for: "soonest" (any car that can take it now), "cheapest"
     * or "cleanest" (a car on dear or dirty power waits for a better window when its departure
     * and the deadline leave room: core's deferral).
     */
    objective: z.enum(OBJECTIVES).default("soonest"),
    /** A retried submission with the same key returns the first job and creates nothing. */
    idempotencyKey: ZText.min(1).max(128).optional(),
  })
  .strict();
export type SubmitJobInput = z.input<typeof ZSubmitJobInput>;

export const ZSubmitJobOutput = z.object({
  jobId: ZUuid,
  taskCount: z.number().int(),
  duplicate: z.boolean(),
});

export const ZJobStatus = z.enum(["queued", "running", "completed", "cancelled", "failed"]);

export const ZJob = z.object({
  id: ZUuid,
  tenantId: z.string(),
  modelId: z.string(),
  status: ZJobStatus,
  priority: z.number().int(),
  replication: ZReplication,
  taskCount: z.number().int(),
  tasksValidated: z.number().int(),
  tasksFailed: z.number().int(),
  /** Share of tasks decided (validated or failed), 0..1. */
  progress: z.number(),
  submittedAt: z.string(),
  completedAt: z.string().nullable(),
  deadlineAt: z.string().nullable(),
  budgetUsd: z.number().nullable(),
  objective: z.enum(OBJECTIVES),
  /** Why the job stopped before all its tasks were decided: its deadline passed, or its budget. */
  endReason: z.enum(["deadline", "budget"]).nullable(),
});
export type Job = z.infer<typeof ZJob>;

type JobRow = typeof jobs.$inferSelect;

function toJob(j: JobRow): Job {
  return {
    id: j.id,
    tenantId: j.tenantId,
    modelId: j.modelId,
    status: j.status,
    priority: j.priority,
    replication: j.replication ?? "auto",
    taskCount: j.taskCount,
    tasksValidated: j.tasksValidated,
    tasksFailed: j.tasksFailed,
    progress: j.taskCount > 0 ? (j.tasksValidated + j.tasksFailed) / j.taskCount : 1,
    submittedAt: j.submittedAt.toISOString(),
    completedAt: j.completedAt?.toISOString() ?? null,
    deadlineAt: j.deadlineAt?.toISOString() ?? null,
    budgetUsd: j.budgetUsd,
    objective: j.objective,
    endReason: (j.endReason as Job["endReason"]) ?? null,
  };
}

type TensorFeeds = z.infer<typeof ZTensorFeeds>;
type TaskInput = z.infer<typeof ZTaskInput>;

function isImageInput(input: TaskInput): input is z.infer<typeof ZImageInput> {
  const image = (input as { image?: unknown }).image;
  return typeof image === "object" && image !== null && !("dims" in image);
}

/** Checks each input against the model's input spec ({ name: { dims } }; a dim ≤ 0 is free). */
function checkInputsAgainstSpec(spec: unknown, inputs: readonly TensorFeeds[]): void {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return;
  const feeds = Object.entries(spec as Record<string, { dims?: unknown }>);
  if (!feeds.every(([, f]) => Array.isArray(f?.dims))) return;
  inputs.forEach((input, i) => {
    for (const [name, feed] of feeds) {
      const tensor = input[name];
      if (!tensor) throw badRequest(`inputs[${i}].${name}`, "required by the model");
      const dims = feed.dims as number[];
      const ok =
        dims.length === tensor.dims.length && dims.every((d, k) => d <= 0 || d === tensor.dims[k]);
      if (!ok)
        throw badRequest(`inputs[${i}].${name}.dims`, `the model takes [${dims.join(", ")}]`);
    }
    for (const name of Object.keys(input)) {
      if (!feeds.some(([n]) => n === name))
        throw badRequest(`inputs[${i}].${name}`, "not an input of the model");
    }
  });
}

const TASK_INSERT_CHUNK = 2_000;

export async function submitJob(
  deps: ApiDeps,
  state: ApiState,
  tenantId: string,
  raw: z.infer<typeof ZSubmitJobInput>,
  /** An operator submitting on the tenant's behalf: audited in the job's transaction. */
  operatorId?: string,
): Promise<z.infer<typeof ZSubmitJobOutput>> {
  const cfg = deps.config;
  if (raw.inputs.length > cfg.maxTasksPerJob)
    throw badRequest("inputs", `at most ${cfg.maxTasksPerJob} inputs per job`);
  if (raw.deadlineAt !== undefined && Date.parse(raw.deadlineAt) <= deps.now().getTime()) {
    throw badRequest("deadlineAt", "is in the past: no task could finish before it");
  }
  const [model] = await deps.db.select().from(models).where(eq(models.id, raw.modelId));
  if (!model) throw notFound("modelId", raw.modelId);
  const takesImages = getManifest(model.id)?.preprocess.kind === "image";
  const tensors: TensorFeeds[] = [];
  const images = new Map<number, PreparedImage>();
  for (const [i, input] of raw.inputs.entries()) {
    const isImage = isImageInput(input);
    if (isImage && !takesImages) {
      throw badRequest(`inputs[${i}].image`, `model ${model.id} takes tensors, not images`);
    }
    if (!isImage && takesImages) {
      throw badRequest(
        `inputs[${i}]`,
        `model ${model.id} takes an image: { image: { base64 } } or { image: { demo } }`,
      );
    }
    if (isImage) images.set(i, await prepareImage(input, `inputs[${i}]`));
    else tensors.push(input);
  }
  const bytes = Buffer.byteLength(JSON.stringify(tensors));
  if (bytes > cfg.maxInlineInputBytes) {
    throw badRequest(
      "inputs",
      `${bytes} bytes of inline input; at most ${cfg.maxInlineInputBytes} per job`,
    );
  }
  checkInputsAgainstSpec(model.inputSpec, tensors);
  // What each task stores: its tensor feeds, or a reference to its stored image.
  const stored = raw.inputs.map((input, i) => {
    const image = images.get(i);
    return image ? { image: image.ref } : input;
  });

  const result = await inTx(deps.db, async (tx) => {
    const [job] = await tx
      .insert(jobs)
      .values({
        tenantId,
        modelId: model.id,
        priority: raw.priority,
        deadlineAt: raw.deadlineAt ? new Date(raw.deadlineAt) : null,
        replication: raw.replication === "auto" ? null : raw.replication,
        budgetUsd: raw.budgetUsd ?? null,
        objective: raw.objective,
        taskCount: raw.inputs.length,
        idempotencyKey: raw.idempotencyKey ?? null,
        submittedAt: deps.now(),
      })
      .onConflictDoNothing({
        target: [jobs.tenantId, jobs.idempotencyKey],
        where: sql`idempotency_key IS NOT NULL`,
      })
      .returning({ id: jobs.id });
    if (!job) {
      const [first] = await tx
        .select({ id: jobs.id, taskCount: jobs.taskCount })
        .from(jobs)
        .where(and(eq(jobs.tenantId, tenantId), eq(jobs.idempotencyKey, raw.idempotencyKey ?? "")));
      if (!first) throw new Error("idempotency conflict without a job");
      return { jobId: first.id, taskCount: first.taskCount, duplicate: true };
    }
    await holdImages(tx, cfg, tenantId, [...images.values()]);
    for (let i = 0; i < stored.length; i += TASK_INSERT_CHUNK) {
      await tx
        .insert(tasks)
        .values(
          stored
            .slice(i, i + TASK_INSERT_CHUNK)
            .map((input, k) => ({ jobId: job.id, seq: i + k, input })),
        );
    }
    // One unit per task to start (replica 0); a task's first claim adds its other replicas.
    await tx.execute(
      sql`INSERT INTO work_units (task_id, job_id, tenant_id, priority, replica_index, task_order, attempt)
          SELECT t.id, t.job_id, ${tenantId}, ${raw.priority}, 0, 0, 0 FROM tasks t
           WHERE t.job_id = ${job.id} ORDER BY t.seq`,
    );
    await tx.execute(sql`UPDATE work_units SET task_order = id WHERE job_id = ${job.id}`);
    if (operatorId !== undefined) {
      await audit(tx, deps.now(), {
        actorKind: "operator",
        actorId: operatorId,
        action: "jobs.submit",
        subjectKind: "job",
        subjectId: job.id,
        detail: { tenantId, modelId: model.id, tasks: raw.inputs.length },
      });
    }
    return { jobId: job.id, taskCount: raw.inputs.length, duplicate: false };
  });
  // The shares behind lease decisions should see the new demand now, not seconds later.
  if (!result.duplicate) state.shares.invalidate();
  return result;
}

/** The job, if `tenantId` (null: any tenant, for operators) may see it. */
async function findJob(ex: Executor, jobId: string, tenantId: string | null): Promise<JobRow> {
  const [job] = await ex
    .select()
    .from(jobs)
    .where(
      tenantId === null ? eq(jobs.id, jobId) : and(eq(jobs.id, jobId), eq(jobs.tenantId, tenantId)),
    );
  if (!job) throw notFound("jobId", jobId);
  return job;
}

export const ZJobRef = z.object({ jobId: ZUuid }).strict();

export async function getJob(deps: ApiDeps, tenantId: string | null, jobId: string): Promise<Job> {
  return toJob(await findJob(deps.db, jobId, tenantId));
}

export const ZJobResultsInput = z
  .object({ jobId: ZUuid, cursor: ZSeqCursor.optional(), limit: ZLimit })
  .strict();
export const ZTaskResult = z.object({
  seq: z.number().int(),
  taskId: ZUuid,
  status: z.enum(["open", "verifying", "valid", "failed", "cancelled"]),
  /** The validated output (the canonical replica's); null until the task is valid. */
  output: z.array(z.number()).nullable(),
  /** The output read for people (a direction, text boxes in the image's pixels, a preview). */
  interpretation: z.unknown().nullable(),
  /** The input image, when the task has one: fetch it from the server at `url`. */
  image: z
    .object({ sha256: z.string(), url: z.string(), width: z.number(), height: z.number() })
    .nullable(),
  /** Why the task failed (e.g. cars could not decode its image); null otherwise. */
  error: z.string().nullable(),
});
export const ZJobResultsOutput = z.object({
  items: z.array(ZTaskResult),
  /** Pass as `cursor` for the next page; null after the last. */
  nextCursor: z.number().int().nullable(),
});

export async function jobResults(
  deps: ApiDeps,
  tenantId: string | null,
  input: z.infer<typeof ZJobResultsInput>,
): Promise<z.infer<typeof ZJobResultsOutput>> {
  await findJob(deps.db, input.jobId, tenantId);
  const page = await rows<{
    seq: number;
    id: string;
    status: z.infer<typeof ZTaskResult>["status"];
    output: number[] | null;
    interpretation: unknown;
    image: { sha256: string; url: string; width: number; height: number } | null;
    error: string | null;
  }>(
    deps.db,
    sql`SELECT t.seq, t.id, t.status, CASE WHEN t.status = 'valid' THEN r.output END AS output,
               t.interpretation, t.input->'image' AS image, t.error
          FROM tasks t
          LEFT JOIN verifications v ON v.task_id = t.id
          LEFT JOIN results r ON r.id = v.canonical_result_id
         WHERE t.job_id = ${input.jobId} AND t.seq > ${input.cursor ?? -1}
         ORDER BY t.seq
         LIMIT ${input.limit + 1}`,
  );
  const more = page.length > input.limit;
  const items = page.slice(0, input.limit).map((r) => ({
    seq: r.seq,
    taskId: r.id,
    status: r.status,
    output: r.output,
    interpretation: r.interpretation ?? null,
    image: r.image
      ? { sha256: r.image.sha256, url: r.image.url, width: r.image.width, height: r.image.height }
      : null,
    error: r.error,
  }));
  return { items, nextCursor: more ? (items[items.length - 1]?.seq ?? null) : null };
}

export const ZCancelOutput = z.object({ status: ZJobStatus });

/** Cancels a job that has not finished: its leases end, its open work is dropped. Idempotent. */
/** Who cancels: a tenant (its own jobs only) or an operator (any job). */
export type Canceller =
  { kind: "tenant"; tenantId: string } | { kind: "operator"; operatorId: string };

export async function cancelJob(
  deps: ApiDeps,
  by: Canceller,
  jobId: string,
): Promise<{ status: Job["status"] }> {
  const tenantId = by.kind === "tenant" ? by.tenantId : null;
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    const [job] = await tx
      .select()
      .from(jobs)
      .where(
        tenantId === null
          ? eq(jobs.id, jobId)
          : and(eq(jobs.id, jobId), eq(jobs.tenantId, tenantId)),
      )
      .for("update");
    if (!job) throw notFound("jobId", jobId);
    if (job.status !== "queued" && job.status !== "running") return { status: job.status };
    await dropOpenUnits(tx, { jobId });
    await endLeases(
      tx,
      sql`leases.task_id IN (SELECT id FROM tasks WHERE job_id = ${jobId})`,
      "cancelled",
      "job-cancelled",
      now,
      true,
    );
    await cancelJobTasks(tx, jobId);
    await cancelJobRow(tx, jobId, now);
    await audit(tx, now, {
      actorKind: by.kind,
      actorId: by.kind === "tenant" ? by.tenantId : by.operatorId,
      action: "jobs.cancel",
      subjectKind: "job",
      subjectId: jobId,
      detail: { tenantId: job.tenantId },
    });
    return { status: "cancelled" as const };
  });
}

export const ZListJobsInput = z
  .object({
    tenantId: ZSlug.optional(),
    status: ZJobStatus.optional(),
    cursor: ZCursor.optional(),
    limit: ZLimit,
  })
  .strict();
export const ZListJobsOutput = z.object({
  items: z.array(ZJob),
  nextCursor: z.string().nullable(),
});

/** Newest first. `onlyTenant` restricts a tenant to its own jobs, whatever `tenantId` says. */
export async function listJobs(
  deps: ApiDeps,
  onlyTenant: string | null,
  input: z.infer<typeof ZListJobsInput>,
): Promise<z.infer<typeof ZListJobsOutput>> {
  const tenantId = onlyTenant ?? input.tenantId;
  const conditions = [];
  if (tenantId) conditions.push(eq(jobs.tenantId, tenantId));
  if (input.status) conditions.push(eq(jobs.status, input.status));
  if (input.cursor) {
    const [submittedAt, id] = decodeCursor(input.cursor, ZIsoDate, ZUuid);
    const at = new Date(submittedAt);
    conditions.push(or(lt(jobs.submittedAt, at), and(eq(jobs.submittedAt, at), lt(jobs.id, id))));
  }
  const page = await deps.db
    .select()
    .from(jobs)
    .where(and(...conditions))
    .orderBy(desc(jobs.submittedAt), desc(jobs.id))
    .limit(input.limit + 1);
  const more = page.length > input.limit;
  const items = page.slice(0, input.limit);
  const last = items[items.length - 1];
  return {
    items: items.map(toJob),
    nextCursor: more && last ? encodeCursor(last.submittedAt.toISOString(), last.id) : null,
  };
}

/** An operator's submission: a tenant's job, on its behalf. */
export const ZOperatorSubmitJobInput = z
  .object({ tenantId: ZSlug })
  .extend(ZSubmitJobInput.shape)
  .strict();

export async function submitJobFor(
  deps: ApiDeps,
  state: ApiState,
  operatorId: string,
  input: z.infer<typeof ZOperatorSubmitJobInput>,
): Promise<z.infer<typeof ZSubmitJobOutput>> {
  const { tenantId, ...job } = input;
  const [tenant] = await rows<{ id: string }>(
    deps.db,
    sql`SELECT id FROM tenants WHERE id = ${tenantId}`,
  );
  if (!tenant) throw notFound("tenantId", tenantId);
  return submitJob(deps, state, tenantId, job, operatorId);
}
