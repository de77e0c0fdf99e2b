// The audit trail: every operator mutation writes one event in the same transaction as the
// change itself. Details never carry secrets (keys, codes, passwords).
import { auditEvents } from "@nightshift/db/schema";
import { and, desc, eq, lt } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { ZLimit, ZNumberCursor, ZText } from "../schemas";
import type { Executor } from "./db";

export interface AuditEvent {
  actorKind: "operator" | "tenant" | "car" | "system";
  actorId: string | null;
  action: string;
  subjectKind: string;
  subjectId: string;
  detail?: Record<string, unknown>;
}

export async function audit(ex: Executor, at: Date, event: AuditEvent): Promise<void> {
  await ex.insert(auditEvents).values({ ...event, detail: event.detail ?? {}, at });
}

export const ZAuditListInput = z
  .object({
    action: ZText.max(64).optional(),
    subjectKind: ZText.max(32).optional(),
    /** Events about one thing (a car's id, a job's id, a region's id). */
    subjectId: ZText.max(128).optional(),
    /** The id of the last event of the previous page. */
    cursor: ZNumberCursor.optional(),
    limit: ZLimit,
  })
  .strict();

export const ZAuditEvent = z.object({
  id: z.number().int(),
  at: z.string(),
  actorKind: z.string(),
  actorId: z.string().nullable(),
  action: z.string(),
  subjectKind: z.string(),
  subjectId: z.string(),
  detail: z.unknown(),
});
export const ZAuditListOutput = z.object({
  items: z.array(ZAuditEvent),
  nextCursor: z.number().int().nullable(),
});

/** Newest first. */
export async function listAudit(
  deps: ApiDeps,
  input: z.infer<typeof ZAuditListInput>,
): Promise<z.infer<typeof ZAuditListOutput>> {
  const conditions = [];
  if (input.action) conditions.push(eq(auditEvents.action, input.action));
  if (input.subjectKind) conditions.push(eq(auditEvents.subjectKind, input.subjectKind));
  if (input.subjectId) conditions.push(eq(auditEvents.subjectId, input.subjectId));
  if (input.cursor !== undefined) conditions.push(lt(auditEvents.id, input.cursor));
  const page = await deps.db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.id))
    .limit(input.limit + 1);
  const items = page.slice(0, input.limit);
  return {
    items: items.map((e) => ({ ...e, at: e.at.toISOString() })),
    nextCursor: page.length > input.limit ? (items[items.length - 1]?.id ?? null) : null,
  };
}
