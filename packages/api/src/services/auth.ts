// Operators sign in with email and password (scrypt) and get a session token (sha256 stored).
import { operatorSessions, operators } from "@nightshift/db/schema";
import { TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { hashPassword, newToken, sha256Hex, verifyPassword } from "../crypto";
import { ZUuid } from "../schemas";
import { audit } from "./audit";

export const ZSignInInput = z
  .object({ email: z.email().max(254), password: z.string().min(1).max(256) })
  .strict();
export const ZSignInOutput = z.object({
  token: z.string(),
  operatorId: ZUuid,
  expiresAt: z.string(),
});

/** Compared against when the email is unknown, so that both failures take the same time. */
let dummyHash: Promise<string> | null = null;

export async function signIn(
  deps: ApiDeps,
  input: z.infer<typeof ZSignInInput>,
): Promise<z.infer<typeof ZSignInOutput>> {
  const now = deps.now();
  const [op] = await deps.db
    .select()
    .from(operators)
    .where(eq(operators.email, input.email.toLowerCase()));
  dummyHash ??= hashPassword("not a password");
  const ok = await verifyPassword(input.password, op?.passwordHash ?? (await dummyHash));
  if (!op || !ok) throw new TRPCError({ code: "UNAUTHORIZED", message: "wrong email or password" });
  const token = newToken("operator");
  const expiresAt = new Date(now.getTime() + deps.config.sessionTtlS * 1000);
  await deps.db.transaction(async (tx) => {
    await tx
      .insert(operatorSessions)
      .values({ tokenHash: sha256Hex(token), operatorId: op.id, expiresAt, createdAt: now });
    await audit(tx, now, {
      actorKind: "operator",
      actorId: op.id,
      action: "auth.signIn",
      subjectKind: "operator",
      subjectId: op.id,
    });
  });
  return { token, operatorId: op.id, expiresAt: expiresAt.toISOString() };
}

/** Ends the session whose token hashes to `tokenHash` (the caller's own). */
export async function signOut(deps: ApiDeps, operatorId: string, tokenHash: string): Promise<void> {
  const now = deps.now();
  await deps.db.transaction(async (tx) => {
    await tx.delete(operatorSessions).where(eq(operatorSessions.tokenHash, tokenHash));
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: "auth.signOut",
      subjectKind: "operator",
      subjectId: operatorId,
    });
  });
}
