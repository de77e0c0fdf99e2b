// A server that is not a demo starts with no operator, and only an operator can make regions,
// tenants and enrollment codes: the first start on an empty database makes one, with a generated
// password returned once (the server keeps its scrypt hash). Any later start finds an operator and
// makes none, whoever made the first (this, or the demo seed).
import type { Db } from "@nightshift/db/client";
import { operators } from "@nightshift/db/schema";
import { sql } from "drizzle-orm";
import { hashPassword, newPassword } from "./crypto";
import { audit } from "./services/audit";

/** The first operator's email when the server is not told one. */
export const DEFAULT_OPERATOR_EMAIL = "admin@nightshift.local";

export interface FirstOperatorOptions {
  email: string;
  name?: string;
  /** Generated when absent. */
  password?: string;
  /** A precomputed hash of `password` (tests: a cheap one); computed when absent. */
  passwordHash?: string;
  now?: Date;
}

/** The operator made now, with its password; null when the database has one already. */
export async function createFirstOperator(
  db: Db,
  opts: FirstOperatorOptions,
): Promise<{ email: string; password: string } | null> {
  const hasOperator = async (ex: Pick<Db, "select">) =>
    (await ex.select({ id: operators.id }).from(operators).limit(1)).length > 0;
  // Most starts find one: no slow hash for them.
  if (await hasOperator(db)) return null;
  const email = opts.email.toLowerCase();
  const password = opts.password ?? newPassword();
  const passwordHash = opts.passwordHash ?? (await hashPassword(password));
  const now = opts.now ?? new Date();
  return db.transaction(async (tx) => {
    // Instances starting at once on an empty database: one makes the operator, the others see it.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('nightshift:first-operator'))`);
    if (await hasOperator(tx)) return null;
    const [made] = await tx
      .insert(operators)
      .values({ email, name: opts.name ?? "Operator", passwordHash, createdAt: now })
      .returning({ id: operators.id });
    await audit(tx, now, {
      actorKind: "system",
      actorId: null,
      action: "operators.create",
      subjectKind: "operator",
      subjectId: made!.id,
      detail: { email, first: true },
    });
    return { email, password };
  });
}
