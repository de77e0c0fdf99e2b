// A migrated PostgreSQL database for tests: on the server in DATABASE_URL when it is set (a
// fresh database, dropped afterwards), else an embedded PostgreSQL in a temporary folder.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cp, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { createDb, createPool, type Db } from "./client";
import { pgDataDir, postgresBuild, startEmbedded, type EmbeddedPostgres } from "./embedded";
import { migrate } from "./migrate";

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  db: Db;
  /** Closes the pool and drops the database (or stops the server and removes its folder). */
  stop(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  const { url, drop } = serverUrl ? await freshDatabaseOn(serverUrl) : await freshEmbedded();
  const pool = createPool(url);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    await drop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    pool,
    db: createDb(pool),
    stop: () => (stopping ??= pool.end().then(drop)),
  };
}

/** Empties every table (for tests that share one database across cases); migrations stay. */
export async function resetDatabase(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ name: string }>(
    "select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = 'public'",
  );
  if (rows.length === 0) return;
  await pool.query(`truncate ${rows.map((r) => r.name).join(", ")} restart identity cascade`);
}

async function freshDatabaseOn(serverUrl: string) {
  const name = `nightshift_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: () => admin(`drop database if exists "${name}" with (force)`),
  };
}

async function freshEmbedded() {
  const dataDir = await mkdtemp(path.join(tmpdir(), "nightshift-test-pg-"));
  try {
    const server = await startFromTemplate(dataDir);
    return {
      url: server.url,
      drop: async () => {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

// ---- a cluster template ----
//
// initdb is most of an embedded start (~1.3 s of ~1.6 s on a 2-core machine); copying an
// initialised, cleanly stopped cluster takes ~0.2 s. So the first test database on a machine
// makes a template in the temp folder, and the next ones copy it.

const run = promisify(execFile);

/** Bump when startEmbedded initialises clusters differently (initdb flags, layout). */
const TEMPLATE_FORMAT = 1;

async function startFromTemplate(dataDir: string): Promise<EmbeddedPostgres> {
  const template = await clusterTemplate().catch(() => undefined);
  if (template === undefined) return startEmbedded({ dataDir, durable: false });
  await copyDir(template, dataDir);
  try {
    return await startEmbedded({ dataDir, durable: false });
  } catch {
    // A template damaged (say, by a temp-folder cleaner): drop it, initialise from scratch.
    await rm(template, { recursive: true, force: true });
    await rm(pgDataDir(dataDir), { recursive: true, force: true });
    return startEmbedded({ dataDir, durable: false });
  }
}

async function clusterTemplate(): Promise<string> {
  const key = createHash("sha256")
    .update(`${await postgresBuild()} ${TEMPLATE_FORMAT} ${process.getuid?.() ?? ""}`)
    .digest("hex")
    .slice(0, 12);
  const template = path.join(tmpdir(), `nightshift-pg-template-${key}`);
  if (await isDir(pgDataDir(template))) return template;
  const staging = await mkdtemp(`${template}.staging-`);
  try {
    const server = await startEmbedded({ dataDir: staging, durable: false });
    await server.stop();
    // Appears whole or not at all; if another process won the race, theirs is as good.
    await rename(staging, template).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return template;
}

/** `cp -a` (keeps owners and modes, ~10× faster than fs.cp here); fs.cp where there is no cp. */
async function copyDir(from: string, to: string) {
  try {
    await run("cp", ["-a", `${from}/.`, to]);
  } catch {
    // Copied files then belong to us; startEmbedded hands pgdata back to postgres when root.
    await cp(from, to, { recursive: true });
  }
}

async function isDir(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
