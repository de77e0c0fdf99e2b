// Shared pieces of the db tests: temporary folders and fresh databases on one server.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";

/** A temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "nightshift-db-test-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** One query on a short-lived connection. */
export async function queryOnce<R extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Creates an empty database on the server of `url` and returns its URL. */
export async function emptyDatabase(url: string): Promise<string> {
  const name = `empty_${randomBytes(4).toString("hex")}`;
  await queryOnce(url, `create database "${name}"`);
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return fresh.href;
}

/** The PostgreSQL error inside what drizzle or pg threw. */
export function pgError(err: unknown): { code?: string; constraint?: string; message?: string } {
  const e = err as { code?: string; cause?: unknown };
  return (e.code === undefined && e.cause !== undefined ? e.cause : e) as {
    code?: string;
    constraint?: string;
  };
}

/** Awaits a promise that must reject with a unique violation; returns the constraint's name. */
export async function uniqueViolation(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await promise.then(
    () => new Error("expected a unique violation, but the statement succeeded"),
    (e: unknown) => e,
  );
  const pgErr = pgError(err);
  if (pgErr.code !== "23505") throw err;
  return pgErr.constraint;
}
