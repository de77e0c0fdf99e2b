// A car that cannot run a lease says so: a broken input, a model whose bytes failed their
// sha256, an engine error. The lease ends and its work goes to another car at once (not after
// the lease runs out), never to the same owner's cars again. A refusal is a car's word, not
// evidence (the server decoded the input before accepting it): core's decideRefusals says when
// refusals fail a task, so that its tenant learns it cannot be run instead of waiting. What the
// tenant reads then is the server's own account; what the cars said stays on their leases, for
// operators.
import { decideRefusals, isTrusted, type RefusalOutcome } from "@nightshift/core/verify";
import { cars, leases, tasks } from "@nightshift/db/schema";
import { and, eq, like, sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { notFound } from "../errors";
import { ZMultilineText, ZUuid } from "../schemas";
import { audit } from "./audit";
import { reputationOf } from "./convert";
import { inTx } from "./db";
import { endLeases } from "./leases";
import { failTask } from "./submit";

export const ZFailReason = z.enum(["bad-input", "model-integrity", "runtime"]);
export type FailReason = z.infer<typeof ZFailReason>;

export const ZFailInput = z
  .object({
    leaseId: ZUuid,
    reason: ZFailReason,
    /** What went wrong, for operators (kept on the lease; tenants never see it). */
    message: ZMultilineText.trim().min(1).max(500),
  })
  .strict();
export type FailInput = z.infer<typeof ZFailInput>;

export const ZFailOutput = z.object({
  /** False when the lease had already ended (expired, released, submitted or failed). */
  accepted: z.boolean(),
  /** True when this lease was already failed for the same reason: a retried call. */
  duplicate: z.boolean(),
  /** True when this report failed the task (refused by enough owners' cars: decideRefusals). */
  taskFailed: z.boolean(),
});
export type FailOutput = z.infer<typeof ZFailOutput>;

/** What a tenant reads for a task that cars refused: counts, none of the cars' words. */
export function refusedTaskError(outcome: RefusalOutcome): string {
  const owners = `${outcome.owners} owner${outcome.owners === 1 ? "" : "s"}`;
  return `bad input: cars of ${owners}, ${outcome.trustedOwners} of them trusted, could not run it`;
}

export async function failLease(
  deps: ApiDeps,
  carId: string,
  input: FailInput,
): Promise<FailOutput> {
  const now = deps.now();
  const endReason = `${input.reason}: ${input.message}`;
  return inTx(deps.db, async (tx) => {
    // The lease, then its task: the lock order of submit.
    const [lease] = await tx
      .select({
        carId: leases.carId,
        status: leases.status,
        endReason: leases.endReason,
        taskId: leases.taskId,
      })
      .from(leases)
      .where(eq(leases.id, input.leaseId))
      .for("update");
    if (!lease || lease.carId !== carId) throw notFound("leaseId", input.leaseId);
    if (lease.status !== "active") {
      const duplicate = lease.status === "failed" && lease.endReason === endReason;
      return { accepted: false, duplicate, taskFailed: false };
    }
    await endLeases(tx, sql`leases.id = ${input.leaseId}`, "failed", endReason, now);
    const [task] = await tx
      .select({ id: tasks.id, jobId: tasks.jobId })
      .from(tasks)
      .where(eq(tasks.id, lease.taskId))
      .for("update");
    if (input.reason === "model-integrity") {
      // Wrong model bytes are the server's problem (or an attacker's), not the task's: tell the
      // operators; the task goes on elsewhere.
      await audit(tx, now, {
        actorKind: "car",
        actorId: carId,
        action: "model.integrity-failed",
        subjectKind: "lease",
        subjectId: input.leaseId,
        detail: { message: input.message },
      });
    }
    if (input.reason !== "bad-input" || !task)
      return { accepted: true, duplicate: false, taskFailed: false };
    // Every car that refused the task, with its reputation as it stands now.
    const refusals = await tx
      .select({
        ownerId: leases.ownerId,
        validResults: cars.validResults,
        invalidResults: cars.invalidResults,
        consecutiveValid: cars.consecutiveValid,
        quarantined: cars.quarantined,
      })
      .from(leases)
      .innerJoin(cars, eq(cars.id, leases.carId))
      .where(
        and(
          eq(leases.taskId, task.id),
          eq(leases.status, "failed"),
          like(leases.endReason, "bad-input:%"),
        ),
      );
    const cfg = deps.config.verification;
    const outcome = decideRefusals(
      refusals.map((r) => ({ ownerId: r.ownerId, trusted: isTrusted(reputationOf(r), cfg) })),
      cfg,
    );
    if (!outcome.fails) return { accepted: true, duplicate: false, taskFailed: false };
    const taskFailed = await failTask(tx, task, now, {
      disagreeing: 0,
      error: refusedTaskError(outcome),
    });
    return { accepted: true, duplicate: false, taskFailed };
  });
}
