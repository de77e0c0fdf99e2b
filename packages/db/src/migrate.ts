// Applies the committed migrations (packages/db/migrations) at start-up.
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate as drizzleMigrate } from "drizzle-orm/node-postgres/migrator";
import type pg from "pg";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../migrations", import.meta.url));

/**
 * One session-level advisory lock for every process that migrates this database: when two
 * servers start at once, the second waits, then finds nothing left to apply. (The key is the
 * ASCII of "nightshf"; any fixed int8 unused elsewhere would do.)
 */
const MIGRATION_LOCK = "7956003915054671974";

/** Brings the database up to the newest migration. Idempotent; safe from several processes. */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("select pg_advisory_lock($1::int8)", [MIGRATION_LOCK]);
    try {
      // Drizzle runs every pending migration in one transaction and records it in
      // drizzle.__drizzle_migrations; what is recorded is skipped next time.
      await drizzleMigrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query("select pg_advisory_unlock($1::int8)", [MIGRATION_LOCK]);
    }
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    // After an error, close the session rather than return it to the pool: that also frees
    // the lock if unlocking failed.
    client.release(broken);
  }
}
