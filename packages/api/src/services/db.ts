// Transactions and the few SQL helpers every service shares.
import type { Db } from "@nightshift/db/client";
import { type SQL, sql } from "drizzle-orm";

export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Either the database or an open transaction. */
export type Executor = Db | Tx;

/** PostgreSQL codes worth a retry: serialization failure and deadlock. */
const RETRYABLE = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 5;

/**
 * Runs `fn` in one transaction (READ COMMITTED), retrying a few times when PostgreSQL aborts it
 * as a deadlock victim or on a serialization failure: both roll back everything, so a retry is
 * safe. Any other error rolls back and propagates: a rejected call writes nothing.
 */
export async function inTx<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !RETRYABLE.has(pgCode(error) ?? "")) throw error;
      // A short, jittered pause lets the winner of the conflict commit.
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * attempt));
    }
  }
}

/** The SQLSTATE of a PostgreSQL error, looking through drizzle's wrapper. */
export function pgCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.length === 5) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Rows of a raw query, typed by the caller (column names as PostgreSQL spells them). */
export async function rows<T>(ex: Executor, query: SQL): Promise<T[]> {
  const result = await ex.execute(query);
  return result.rows as T[];
}

/** A uuid[] parameter. */
export function uuidArray(ids: readonly string[]): SQL {
  return sql`${`{${ids.join(",")}}`}::uuid[]`;
}

/** A bigint[] parameter. */
export function bigintArray(ids: readonly number[]): SQL {
  return sql`${`{${ids.join(",")}}`}::bigint[]`;
}

/** A text[] parameter (values are quoted for PostgreSQL's array syntax). */
export function textArray(values: readonly string[]): SQL {
  const quoted = values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`);
  return sql`${`{${quoted.join(",")}}`}::text[]`;
}
