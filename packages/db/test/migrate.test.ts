// Migrations: they build the whole schema on an empty database, a second run is a no-op, and
// two servers starting at once both get through.
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate as drizzleMigrate } from "drizzle-orm/node-postgres/migrator";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { toSnakeCase } from "drizzle-orm/casing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../src/client";
import { startEmbedded, type EmbeddedPostgres } from "../src/embedded";
import { migrate, MIGRATIONS_FOLDER } from "../src/migrate";
import * as schema from "../src/schema";
import { emptyDatabase, queryOnce, tempDir } from "./helpers";

let server: EmbeddedPostgres;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  const tmp = await tempDir();
  removeDir = tmp.remove;
  server = await startEmbedded({ dataDir: tmp.dir, durable: false });
});

afterAll(async () => {
  await server?.stop();
  await removeDir?.();
});

async function journalTags(): Promise<string[]> {
  const journal = JSON.parse(
    await readFile(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8"),
  ) as {
    entries: { tag: string }[];
  };
  return journal.entries.map((e) => e.tag);
}

async function applied(url: string): Promise<{ hash: string; created_at: number }[]> {
  return queryOnce(url, "select hash, created_at from drizzle.__drizzle_migrations order by id");
}

describe("the committed migrations", () => {
  it("match src/schema.ts (else regenerate: see README.md)", async () => {
    // drizzle-kit's own diff between the newest snapshot and the schema: tables, columns,
    // indexes and constraints.
    const { generateDrizzleJson, generateMigration } = await import("drizzle-kit/api");
    const journal = JSON.parse(
      await readFile(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8"),
    ) as {
      entries: { idx: number }[];
    };
    const last = String(journal.entries.at(-1)!.idx).padStart(4, "0");
    const snapshot = JSON.parse(
      await readFile(path.join(MIGRATIONS_FOLDER, "meta", `${last}_snapshot.json`), "utf8"),
    );
    const current = generateDrizzleJson(schema, snapshot.id, undefined, "snake_case");
    expect(await generateMigration(snapshot, current)).toEqual([]);
  });
});

describe("migrate", () => {
  it("builds every table and column of src/schema.ts on an empty database", async () => {
    const url = await emptyDatabase(server.url);
    const pool = createPool(url);
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
    expect((await applied(url)).length).toBe((await journalTags()).length);

    const rows = await queryOnce<{ table_name: string; column_name: string }>(
      url,
      "select table_name, column_name from information_schema.columns where table_schema = 'public'",
    );
    const inDb = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
    const tables: PgTable[] = Object.values(schema).filter((v) => v instanceof PgTable);
    expect(tables.length).toBeGreaterThan(10);
    // A column here but not in the database means src/schema.ts changed without a new
    // migration: see README.md.
    const missing = tables.flatMap((table) => {
      const config = getTableConfig(table);
      return config.columns
        .map((c) => `${config.name}.${toSnakeCase(c.name)}`)
        .filter((name) => !inDb.has(name));
    });
    expect(missing).toEqual([]);
  });

  it("changes nothing when run a second time", async () => {
    const url = await emptyDatabase(server.url);
    const pool = createPool(url);
    try {
      await migrate(pool);
      const first = await applied(url);
      const objects =
        "select count(*) as n from pg_class where relnamespace = 'public'::regnamespace";
      const before = await pool.query(objects);
      await migrate(pool);
      expect(await applied(url)).toEqual(first);
      expect((await pool.query(objects)).rows).toEqual(before.rows);
    } finally {
      await pool.end();
    }
  });

  it("brings a database made by the first migration up to date, keeping its rows", async () => {
    // The first migration alone, as a server of that release left the database.
    const tmp = await tempDir();
    const url = await emptyDatabase(server.url);
    const pool = createPool(url);
    try {
      const [first] = JSON.parse(
        await readFile(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8"),
      ).entries;
      await mkdir(path.join(tmp.dir, "meta"));
      await writeFile(
        path.join(tmp.dir, "meta", "_journal.json"),
        JSON.stringify({ version: "7", dialect: "postgresql", entries: [first] }),
      );
      await copyFile(
        path.join(MIGRATIONS_FOLDER, `${first.tag}.sql`),
        path.join(tmp.dir, `${first.tag}.sql`),
      );
      await drizzleMigrate(drizzle({ client: pool }), { migrationsFolder: tmp.dir });
      // A lease of that release (its references do not matter here: replica mode skips the
      // foreign-key triggers for this one session).
      const client = await pool.connect();
      try {
        await client.query("set session_replication_role = replica");
        await client.query(
          `insert into leases (id, work_unit_id, task_id, car_id, owner_id, expires_at)
           values ('00000000-0000-4000-8000-000000000001', 1, gen_random_uuid(), gen_random_uuid(),
                   gen_random_uuid(), now())`,
        );
      } finally {
        client.release(true);
      }

      await migrate(pool);
      expect((await applied(url)).length).toBe((await journalTags()).length);
      const { rows } = await pool.query(
        "select id, request_id from leases where id = '00000000-0000-4000-8000-000000000001'",
      );
      expect(rows).toEqual([{ id: "00000000-0000-4000-8000-000000000001", request_id: null }]);
      const { rows: indexes } = await pool.query(
        "select indexname from pg_indexes where tablename = 'leases' and indexname = 'leases_car_request'",
      );
      expect(indexes).toHaveLength(1);
    } finally {
      await pool.end();
      await tmp.remove();
    }
  });

  it("lets two processes migrate one database at once", async () => {
    // Each round: a fresh database and two pools (two servers starting together).
    for (let round = 0; round < 3; round++) {
      const url = await emptyDatabase(server.url);
      const pools = [createPool(url), createPool(url)];
      try {
        const results = await Promise.allSettled(pools.map((pool) => migrate(pool)));
        expect(results.map((r) => (r.status === "rejected" ? String(r.reason) : "ok"))).toEqual([
          "ok",
          "ok",
        ]);
        expect((await applied(url)).length).toBe((await journalTags()).length);
      } finally {
        await Promise.all(pools.map((pool) => pool.end()));
      }
    }
  });
});
