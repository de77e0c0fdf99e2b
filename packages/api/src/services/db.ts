// Transactions and the few SQL helpers every service shares.
import type { Db } from "@nightshift/db/client";
import * as schema from "@nightshift/db/schema";
import { getTableColumns, type SQL, sql, type Table } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import { drizzle } from "drizzle-orm/node-postgres";

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
  return retried(() => db.transaction(fn));
}

/**
 * `run` (a whole transaction, or one statement on its own), again when PostgreSQL aborted it as
 * a deadlock victim or on a serialization failure, up to MAX_ATTEMPTS times.
 */
async function retried<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
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

// ---- the hot paths: prepared statements and pipelined round trips on one connection ----

/** What we use of a pooled node-postgres client. */
interface PgClient {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: unknown[] }>;
  release(error?: Error | boolean): void;
  /** node-postgres ≥ 8.16: send queued queries without waiting for the previous answer. */
  pipeline: boolean;
  /** node-postgres's protocol connection and its socket (not in its types). */
  connection?: { stream?: { cork(): void; uncork(): void } };
}

/** A named statement: PostgreSQL parses it once per connection and may reuse its plan. */
export interface Prepared {
  name: string;
  text: string;
}

export function prepared(name: string, text: string): Prepared {
  return { name, text };
}

interface PgPool {
  connect(): Promise<PgClient>;
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: unknown[] }>;
}

/** The pool under a drizzle database (createDb's `$client`). */
function poolOf(db: Db): PgPool {
  return (db as unknown as { $client: PgPool }).$client;
}

/** Rows of one prepared statement, outside any transaction. */
export async function preparedRows<T>(db: Db, s: Prepared, values: unknown[]): Promise<T[]> {
  // One statement, its own transaction: a deadlock rolled all of it back, so it runs again
  // (a heartbeat's renewals and a submit's locks on the same leases met in a cycle).
  return retried(async () => (await poolOf(db).query({ ...s, values })).rows as T[]);
}

type Query = { name?: string; text: string; values?: unknown[] };

/**
 * A transaction on one pooled connection for lease and submit. BEGIN goes out with the first
 * statement and COMMIT with the last (node-postgres's pipeline mode): the locks the last
 * statement takes are held for the commit alone, not for a round trip through a busy event
 * loop, and a call costs two round trips fewer.
 */
export class PipelinedTx {
  private begun = false;
  private over = false;
  private drizzleDb: Db | undefined;

  constructor(private readonly client: PgClient) {}

  /** Whether COMMIT (or ROLLBACK) has been sent: nothing more may run in this transaction. */
  get ended(): boolean {
    return this.over;
  }

  /** Rows of each statement, sent together in one round trip (after BEGIN, the first time). */
  async batch<T extends unknown[][]>(...statements: [Prepared, unknown[]][]): Promise<T> {
    this.assertOpen();
    const queries: Query[] = statements.map(([s, values]) => ({ ...s, values }));
    if (!this.begun) {
      queries.unshift({ text: "BEGIN" });
      this.begun = true;
      const [, ...out] = await this.send(queries);
      return out as T;
    }
    return (await this.send(queries)) as T;
  }

  async rows<T>(s: Prepared, values: unknown[]): Promise<T[]> {
    const [out] = await this.batch<[T[]]>([s, values]);
    return out;
  }

  /** The last statement and COMMIT in one round trip; the transaction is over either way. */
  async commitWith<T>(s: Prepared, values: unknown[]): Promise<T[]> {
    this.assertOpen();
    const queries: Query[] = [{ ...s, values }, { text: "COMMIT" }];
    if (!this.begun) queries.unshift({ text: "BEGIN" });
    this.begun = true;
    this.over = true;
    // After a failed statement PostgreSQL answers COMMIT with ROLLBACK: nothing is written.
    const out = await this.send(queries);
    return out[out.length - 2] as T[];
  }

  /** drizzle on this connection and transaction, for the paths rarely taken. */
  get orm(): Db {
    if (!this.begun) throw new Error("PipelinedTx.orm before the first statement");
    this.assertOpen();
    this.drizzleDb ??= drizzle({ client: this.client as never, schema, casing: "snake_case" });
    return this.drizzleDb;
  }

  /** COMMIT, unless commitWith ended the transaction. */
  async commit(): Promise<void> {
    if (!this.begun || this.over) return;
    this.over = true;
    await this.client.query({ text: "COMMIT" });
  }

  /** ROLLBACK after an error (a no-op when the transaction is over). */
  async rollback(): Promise<void> {
    if (!this.begun || this.over) return;
    this.over = true;
    await this.client.query({ text: "ROLLBACK" });
  }

  private assertOpen(): void {
    // Statements after COMMIT would run outside the transaction, without its locks.
    if (this.over) throw new Error("PipelinedTx: the transaction has ended");
  }

  private async send(queries: Query[]): Promise<unknown[][]> {
    this.client.pipeline = queries.length > 1;
    // In pipeline mode each query is written as it is made: corked, they leave in one write.
    const stream = this.client.connection?.stream;
    stream?.cork();
    const answers = queries.map((q) => this.client.query(q));
    stream?.uncork();
    // Every answer must be in before pipeline mode ends: the client's queue depends on it.
    const settled = await Promise.allSettled(answers);
    this.client.pipeline = false;
    // The first failure is the cause; those after it only report the aborted transaction.
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<{ rows: unknown[] }>).value.rows);
  }
}

/** inTx for PipelinedTx: one connection, retried on deadlock or serialization failure. */
export async function inPipelinedTx<T>(db: Db, fn: (tx: PipelinedTx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await poolOf(db).connect();
    const tx = new PipelinedTx(client);
    let broken: Error | undefined;
    try {
      const out = await fn(tx);
      await tx.commit();
      return out;
    } catch (error) {
      await tx.rollback().catch((e: Error) => (broken = e));
      if (attempt >= MAX_ATTEMPTS || !RETRYABLE.has(pgCode(error) ?? "")) throw error;
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * attempt));
    } finally {
      // A connection whose ROLLBACK failed is closed rather than handed to the next caller.
      client.release(broken ?? false);
    }
  }
}

/**
 * `alias."snake_name" AS "key", …` for every column of a drizzle table, for raw statements whose
 * rows must look like drizzle's (node-postgres parses the values the same way).
 */
export function selectList(table: Table, alias: string): string {
  return Object.entries(getTableColumns(table))
    .map(([key, column]) => {
      const name = (column as { keyAsName?: boolean }).keyAsName
        ? toSnakeCase(column.name)
        : column.name;
      return `${alias}."${name}" AS "${key}"`;
    })
    .join(", ");
}
