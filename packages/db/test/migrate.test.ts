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

/**
 * Migrates the database of `pool` as a release before migration `idx` would have: the migrations
 * before it only, copied with their journal into `dir`. Their tags, in order.
 */
async function migrateBefore(
  pool: ReturnType<typeof createPool>,
  dir: string,
  idx: number,
): Promise<string[]> {
  const { entries } = JSON.parse(
    await readFile(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8"),
  ) as { entries: { idx: number; tag: string }[] };
  const before = entries.filter((e) => e.idx < idx);
  await mkdir(path.join(dir, "meta"));
  await writeFile(
    path.join(dir, "meta", "_journal.json"),
    JSON.stringify({ version: "7", dialect: "postgresql", entries: before }),
  );
  for (const e of before) {
    await copyFile(path.join(MIGRATIONS_FOLDER, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
  }
  await drizzleMigrate(drizzle({ client: pool }), { migrationsFolder: dir });
  return before.map((e) => e.tag);
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

  it("gives regions of an older release time zones, keeping their local time and logging each", async () => {
    // A database as the release before time zones left it (0000 and 0001), with regions at the
    // seeded offsets, at offsets an operator chose, at fractions of an hour and at odd values.
    const tmp = await tempDir();
    const url = await emptyDatabase(server.url);
    const pool = createPool(url);
    try {
      const before = await migrateBefore(pool, tmp.dir, 2);
      expect(before).toEqual(["0000_init", "0001_lease_request_id"]);
      const offsets: [string, number, string][] = [
        ["us-west", -8, "America/Los_Angeles"],
        ["us-central", -6, "America/Chicago"],
        ["eu-north", 1, "Europe/Stockholm"],
        // Any other whole hour keeps that offset, fixed.
        ["us-east", -5, "Etc/GMT+5"],
        ["eu-west", 0, "UTC"],
        ["nz", 12, "Etc/GMT-12"],
        ["kiritimati", 14, "Etc/GMT-14"],
        ["baker", -12, "Etc/GMT+12"],
        ["india", 5.5, "Asia/Kolkata"],
        ["nepal", 5.75, "Asia/Kathmandu"],
        ["newfoundland", -3.5, "America/St_Johns"],
        // No zone is 2.3 h off UTC: the nearest whole hour, and the audit log keeps 2.3.
        ["odd", 2.3, "Etc/GMT-2"],
      ];
      const tariff = [{ start: 0, end: 24, priceUsdPerKWh: 0.2 }];
      for (const [id, offsetH] of offsets) {
        await pool.query(
          `insert into regions (id, name, utc_offset_h, tariff, carbon_g_per_k_wh, drained)
           values ($1, $2, $3, $4, $5, $6)`,
          [
            id,
            `Region ${id}`,
            offsetH,
            JSON.stringify(tariff),
            JSON.stringify(Array(24).fill(7)),
            id === "odd",
          ],
        );
      }

      await migrate(pool);
      const { rows } = await pool.query(
        "select id, name, time_zone, tariff, carbon_g_per_k_wh, drained from regions order by id",
      );
      expect(rows).toEqual(
        [...offsets]
          .sort((a, b) => (a[0] < b[0] ? -1 : 1))
          .map(([id, , zone]) => ({
            id,
            name: `Region ${id}`,
            time_zone: zone,
            tariff,
            carbon_g_per_k_wh: Array(24).fill(7),
            drained: id === "odd",
          })),
      );
      // Every zone given is one Intl knows, and in January (standard time in all of them) it is
      // the offset it replaces: exactly, but for 2.3 (no zone has it).
      for (const [id, offsetH, zone] of offsets) {
        const name = new Intl.DateTimeFormat("en-US", {
          timeZone: zone,
          timeZoneName: "longOffset",
        })
          .formatToParts(Date.parse("2025-01-15T12:00:00Z"))
          .find((p) => p.type === "timeZoneName")!.value;
        const m = /^GMT(?:([+-])(\d\d):(\d\d))?$/.exec(name)!;
        const januaryH = m[1] ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) + Number(m[3]) / 60) : 0;
        expect(januaryH, id).toBe(id === "odd" ? 2 : offsetH);
      }
      const { rows: audit } = await pool.query(
        `select subject_id, actor_kind, action, detail from audit_events
          where action = 'regions.time-zone' order by subject_id`,
      );
      expect(audit).toHaveLength(offsets.length);
      expect(audit.find((a) => a.subject_id === "odd")).toMatchObject({
        actor_kind: "system",
        detail: { utcOffsetH: 2.3, timeZone: "Etc/GMT-2" },
      });
      // The old column stays for servers of the previous release, nullable, with its values.
      const { rows: columns } = await pool.query(
        `select column_name, is_nullable from information_schema.columns
          where table_name = 'regions' and column_name in ('time_zone', 'utc_offset_h')
          order by column_name`,
      );
      expect(columns).toEqual([
        { column_name: "time_zone", is_nullable: "NO" },
        { column_name: "utc_offset_h", is_nullable: "YES" },
      ]);
      const { rows: kept } = await pool.query(
        "select id, utc_offset_h from regions where id in ('odd', 'us-west') order by id",
      );
      expect(kept).toEqual([
        { id: "odd", utc_offset_h: 2.3 },
        { id: "us-west", utc_offset_h: -8 },
      ]);
    } finally {
      await pool.end();
      await tmp.remove();
    }
  });

  it("gives tenants holds on the images their jobs use, and queues images no task uses", async () => {
    // A database as the release before input storage left it (0000 to 0003).
    const tmp = await tempDir();
    const url = await emptyDatabase(server.url);
    const pool = createPool(url);
    try {
      const before = await migrateBefore(pool, tmp.dir, 4);
      expect(before.at(-1)).toBe("0003_strangers");
      // Two tenants; images a (in both tenants' jobs, twice in one), c (one tenant's), orphan
      // (in no task); and a tensor task whose feed is named "image". Models and cars do not
      // matter here: replica mode skips the foreign-key triggers for this one session.
      const client = await pool.connect();
      try {
        await client.query("set session_replication_role = replica");
        await client.query(`insert into tenants (id, name) values ('t1', 'T1'), ('t2', 'T2')`);
        for (const [sha, size] of [
          ["a", 10],
          ["c", 30],
          ["orphan", 50],
        ] as const) {
          await client.query(
            `insert into input_blobs (sha256, media_type, width, height, size_bytes, bytes)
             values ($1, 'image/png', 1, 1, $2, '\\x00')`,
            [sha, size],
          );
        }
        const jobs = [
          ["00000000-0000-4000-8000-00000000000a", "t1", "completed"],
          ["00000000-0000-4000-8000-00000000000b", "t2", "running"],
          ["00000000-0000-4000-8000-00000000000c", "t1", "cancelled"],
        ] as const;
        for (const [id, tenant, status] of jobs) {
          await client.query(
            `insert into jobs (id, tenant_id, model_id, status, task_count) values ($1, $2, 'm', $3, 2)`,
            [id, tenant, status],
          );
        }
        const inputs: [string, unknown][] = [
          [jobs[0][0], { image: { sha256: "a" } }],
          [jobs[0][0], { image: { sha256: "a" } }],
          [jobs[0][0], { image: { sha256: "c" } }],
          [jobs[1][0], { image: { sha256: "a" } }],
          [jobs[2][0], { image: { dims: [1], data: [1] } }],
        ];
        for (const [seq, [jobId, input]] of inputs.entries()) {
          await client.query(`insert into tasks (job_id, seq, input) values ($1, $2, $3)`, [
            jobId,
            seq,
            JSON.stringify(input),
          ]);
        }
      } finally {
        client.release(true);
      }

      await migrate(pool);
      const { rows: held } = await pool.query(
        "select tenant_id, sha256, size_bytes from tenant_input_blobs order by tenant_id, sha256",
      );
      expect(held).toEqual([
        { tenant_id: "t1", sha256: "a", size_bytes: 10 },
        { tenant_id: "t1", sha256: "c", size_bytes: 30 },
        { tenant_id: "t2", sha256: "a", size_bytes: 10 },
      ]);
      const { rows: queued } = await pool.query(
        "select sha256 from input_blobs where reclaim_at is not null",
      );
      expect(queued).toEqual([{ sha256: "orphan" }]);
      // Every job's images are held until the sweep looks at it (by the server's retention).
      const { rows: released } = await pool.query(
        "select count(*)::int as n from jobs where inputs_released_at is not null",
      );
      expect(released).toEqual([{ n: 0 }]);
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
