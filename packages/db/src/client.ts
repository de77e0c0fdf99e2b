// The PostgreSQL pool and the drizzle database over it.
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "./schema";

export type Db = NodePgDatabase<typeof schema>;

export interface PoolOptions {
  /** Connections at most; pg's default is 10. */
  max?: number;
  /**
   * Errors of connections outside a query (the server restarted or ended the session). pg has
   * already dropped that connection and the next query opens a new one; without a handler Node
   * would crash on the unhandled "error" event, so the default ignores them.
   */
  onError?: (err: Error) => void;
}

export function createPool(url: string, opts: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 });
  const onError = opts.onError ?? (() => {});
  // The pool handles errors of idle connections; a connection checked out between two queries
  // (inside a transaction, say) emits on the client itself, which would otherwise be unhandled
  // and take the process down when the database goes away.
  pool.on("error", onError);
  pool.on("connect", (client) => client.on("error", onError));
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return drizzle({ client: pool, schema, casing: "snake_case" });
}

// ---- how numbers come back ----
//
// pg returns int8 (bigint, bigserial, count(*), sum(int)) and numeric (avg, sum(bigint)) as
// strings, because they may not fit a double. Our ids and counts fit: make them numbers, and
// fail loudly rather than round an int8 beyond 2^53. Drizzle's node-postgres driver falls back
// to pg's global parsers for these types (a pool's own `types` would not reach drizzle's
// queries), so they are set globally, once, when this module loads. No table has a numeric
// column: numeric only comes from aggregates, and a double is what callers want there.
function int8ToNumber(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new RangeError(`int8 value ${text} does not fit a JavaScript number`);
  return n;
}

// int8[] has no name in pg.types.builtins.
const INT8_ARRAY_OID = 1016 as Parameters<typeof pg.types.getTypeParser>[0];
const parseInt8Array = pg.types.getTypeParser(INT8_ARRAY_OID) as (
  text: string,
) => (string | null)[];
pg.types.setTypeParser(pg.types.builtins.INT8, int8ToNumber);
pg.types.setTypeParser(INT8_ARRAY_OID, (text: string) =>
  parseInt8Array(text).map((v) => (v === null ? null : int8ToNumber(v))),
);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, Number);
