// What the work path relies on from the database: unique constraints that make retries
// harmless, and a claim (FOR UPDATE SKIP LOCKED) that never hands one unit to two claimers.
import { eq, sql } from "drizzle-orm";
import type pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../src/client";
import {
  cars,
  jobs,
  leases,
  ledgerEntries,
  models,
  owners,
  regions,
  results,
  tasks,
  tenants,
  verifications,
  workUnits,
} from "../src/schema";
import { resetDatabase, startTestDatabase, type TestDatabase } from "../src/testing";
import { uniqueViolation } from "./helpers";

let t: TestDatabase;
beforeAll(async () => {
  t = await startTestDatabase();
});
afterAll(async () => {
  await t?.stop();
});
beforeEach(async () => {
  await resetDatabase(t.pool);
});

const TENANT = "acme";

/** A region, an owner with one car, a tenant, a model, and one job of `taskCount` tasks with `replicas` units each. */
async function seed(db: Db, { taskCount = 1, replicas = 1 } = {}) {
  await db.insert(regions).values({
    id: "us-west",
    name: "US West",
    timeZone: "America/Los_Angeles",
    tariff: [{ start: 0, end: 24, priceUsdPerKWh: 0.2 }],
    carbonGPerKWh: Array.from({ length: 24 }, () => 300),
  });
  const [owner] = await db.insert(owners).values({ name: "Ada" }).returning();
  const [car] = await db
    .insert(cars)
    .values({
      ownerId: owner!.id,
      regionId: "us-west",
      hardwareId: "hw4",
      name: "car 1",
      credentialHash: "hash-1",
      socPct: 80,
      batteryKWh: 75,
      policy: {
        optedIn: true,
        allowedHours: { startHour: 0, endHour: 24 },
        minDepartureChargePct: 50,
        reservePct: 20,
      },
    })
    .returning();
  await db.insert(tenants).values([
    { id: TENANT, name: "Acme" },
    { id: "globex", name: "Globex" },
  ]);
  await db.insert(models).values({
    id: "ppocr-cls",
    version: "4",
    sha256: "0".repeat(64),
    sizeBytes: 600_000,
    memoryGB: 0.1,
    teraOpsPerInference: 0.001,
    inputSpec: {},
    outputSpec: {},
    tolerance: { abs: 1e-3, rel: 1e-3 },
  });
  const [job] = await db
    .insert(jobs)
    .values({ tenantId: TENANT, modelId: "ppocr-cls", taskCount })
    .returning();
  const taskRows = await db
    .insert(tasks)
    .values(
      Array.from({ length: taskCount }, (_, seq) => ({ jobId: job!.id, seq, input: { seq } })),
    )
    .returning();
  const units = await db
    .insert(workUnits)
    .values(
      taskRows.flatMap((task, seq) =>
        Array.from({ length: replicas }, (_, replicaIndex) => ({
          taskId: task.id,
          jobId: job!.id,
          tenantId: TENANT,
          priority: seq % 3,
          replicaIndex,
          taskOrder: seq,
        })),
      ),
    )
    .returning();
  return { owner: owner!, car: car!, job: job!, tasks: taskRows, units };
}

type Seeded = Awaited<ReturnType<typeof seed>>;

async function lease(db: Db, s: Seeded, unitIndex = 0) {
  const unit = s.units[unitIndex]!;
  const [row] = await db
    .insert(leases)
    .values({
      workUnitId: unit.id,
      taskId: unit.taskId,
      carId: s.car.id,
      ownerId: s.owner.id,
      expiresAt: new Date(Date.parse("2030-01-01T00:00:00Z")),
    })
    .returning();
  return row!;
}

function resultOf(l: { id: string; taskId: string; carId: string }) {
  return {
    leaseId: l.id,
    taskId: l.taskId,
    carId: l.carId,
    output: [1, 2],
    outputSha256: "ab",
    durationMs: 5,
    backend: "wasm",
  };
}

function ledgerOf(s: Seeded, l: { id: string; taskId: string }) {
  return {
    leaseId: l.id,
    taskId: l.taskId,
    jobId: s.job.id,
    tenantId: TENANT,
    carId: s.car.id,
    ownerId: s.owner.id,
    regionId: "us-west",
    energyKWh: 0.001,
    gridEnergyKWh: 0.001,
    batteryEnergyKWh: 0,
    costUsd: 0.0002,
    carbonG: 0.3,
    payoutOwedUsd: 0.0001,
  };
}

describe("unique constraints of the work path", () => {
  it("keeps one result per lease", async () => {
    const s = await seed(t.db);
    const l = await lease(t.db, s);
    await t.db.insert(results).values(resultOf(l));
    expect(await uniqueViolation(t.db.insert(results).values(resultOf(l)))).toBe(
      "results_leaseId_unique",
    );
    // The retried submit's way through: insert … on conflict do nothing, then read.
    const retried = await t.db
      .insert(results)
      .values(resultOf(l))
      .onConflictDoNothing()
      .returning();
    expect(retried).toEqual([]);
  });

  it("keeps one ledger entry per lease", async () => {
    const s = await seed(t.db);
    const l = await lease(t.db, s);
    await t.db.insert(ledgerEntries).values(ledgerOf(s, l));
    expect(await uniqueViolation(t.db.insert(ledgerEntries).values(ledgerOf(s, l)))).toBe(
      "ledger_entries_leaseId_unique",
    );
  });

  it("keeps one verification per task", async () => {
    const s = await seed(t.db);
    const verdict = {
      taskId: s.tasks[0]!.id,
      status: "valid" as const,
      support: 2,
      agreeing: 2,
      disagreeing: 0,
    };
    await t.db.insert(verifications).values(verdict);
    expect(await uniqueViolation(t.db.insert(verifications).values(verdict))).toBe(
      "verifications_pkey",
    );
  });

  it("keeps (tenant, idempotency key) unique only when the key is set", async () => {
    await seed(t.db);
    const job = { modelId: "ppocr-cls", taskCount: 1 };
    await t.db.insert(jobs).values({ ...job, tenantId: TENANT, idempotencyKey: "k1" });
    expect(
      await uniqueViolation(
        t.db.insert(jobs).values({ ...job, tenantId: TENANT, idempotencyKey: "k1" }),
      ),
    ).toBe("jobs_tenant_id_idempotency_key_index");
    // Another tenant may use the same key; jobs without a key never collide.
    await t.db.insert(jobs).values({ ...job, tenantId: "globex", idempotencyKey: "k1" });
    await t.db.insert(jobs).values([
      { ...job, tenantId: TENANT },
      { ...job, tenantId: TENANT },
    ]);
    const [{ n }] = (
      await t.db.execute<{ n: number }>(
        sql`select count(*) as n from jobs where tenant_id = ${TENANT}`,
      )
    ).rows as [{ n: number }];
    expect(n).toBe(4); // the seeded job, k1 and two without a key
  });

  it("keeps one work unit per (task, replica index)", async () => {
    const s = await seed(t.db, { replicas: 2 });
    const unit = s.units[1]!;
    const { id: _id, createdAt: _createdAt, ...again } = unit;
    expect(await uniqueViolation(t.db.insert(workUnits).values(again))).toBe(
      "work_units_task_id_replica_index_index",
    );
  });

  it("keeps one lease per (task, owner)", async () => {
    const s = await seed(t.db, { replicas: 2 });
    await lease(t.db, s, 0);
    expect(await uniqueViolation(lease(t.db, s, 1))).toBe("leases_task_owner");
  });
});

describe("resetDatabase", () => {
  it("empties every table and restarts ids", async () => {
    await seed(t.db, { taskCount: 3 });
    await resetDatabase(t.pool);
    const counts = await t.pool.query<{ table_name: string; n: number }>(
      `select table_name, (xpath('/row/n/text()',
         query_to_xml(format('select count(*) as n from %I', table_name), false, true, '')))[1]::text::int as n
       from information_schema.tables where table_schema = 'public'`,
    );
    expect(counts.rows.length).toBeGreaterThan(10);
    expect(counts.rows.filter((r) => r.n !== 0)).toEqual([]);
    const s = await seed(t.db);
    expect(s.units[0]!.id).toBe(1);
  });
});

describe("claiming work units with FOR UPDATE SKIP LOCKED", () => {
  // The claim's shape: ORDER BY must match work_units_claim (priority DESC NULLS LAST) for
  // PostgreSQL to read the index in order instead of sorting.
  const CLAIM = `
    select id from work_units
    where tenant_id = $1 and status = 'open'
    order by priority desc nulls last, task_order, id
    limit $2
    for update skip locked`;

  async function inTransaction<T>(
    pool: pg.Pool,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query("begin");
      const out = await work(client);
      await client.query("commit");
      return out;
    } catch (err) {
      await client.query("rollback");
      throw err;
    } finally {
      client.release();
    }
  }

  it("gives a second open transaction other rows than the first holds", async () => {
    await seed(t.db, { taskCount: 10 });
    const first = await t.pool.connect();
    try {
      await first.query("begin");
      const a = (await first.query<{ id: number }>(CLAIM, [TENANT, 4])).rows.map((r) => r.id);
      // While `first` holds its rows: a claim that waited for them would hit the lock timeout.
      const b = await inTransaction(t.pool, async (client) => {
        await client.query("set local lock_timeout = '2s'");
        return (await client.query<{ id: number }>(CLAIM, [TENANT, 4])).rows.map((r) => r.id);
      });
      expect(a).toHaveLength(4);
      expect(b).toHaveLength(4);
      expect(a.filter((id) => b.includes(id))).toEqual([]);
      await first.query("commit");
    } finally {
      first.release();
    }
  });

  it("hands every unit to exactly one of several concurrent claimers", async () => {
    const s = await seed(t.db, { taskCount: 30, replicas: 2 });
    const claimer = async () => {
      const mine: number[] = [];
      for (;;) {
        const ids = await inTransaction(t.pool, async (client) => {
          const rows = (await client.query<{ id: number }>(CLAIM, [TENANT, 3])).rows.map(
            (r) => r.id,
          );
          if (rows.length > 0)
            await client.query("update work_units set status = 'leased' where id = any($1)", [
              rows,
            ]);
          return rows;
        });
        if (ids.length === 0) return mine;
        mine.push(...ids);
      }
    };
    const claimed = (await Promise.all([claimer(), claimer(), claimer(), claimer()])).flat();
    expect(claimed.length).toBe(s.units.length);
    expect(new Set(claimed).size).toBe(s.units.length);
    const open = await t.db.select().from(workUnits).where(eq(workUnits.status, "open"));
    expect(open).toEqual([]);
  });

  it("can read the claim in order from work_units_claim", async () => {
    await seed(t.db, { taskCount: 50 });
    await t.pool.query("analyze work_units");
    const plan = await inTransaction(t.pool, async (client) => {
      // With a few rows a sequential scan is cheaper; forbid it to see whether the index fits.
      await client.query("set local enable_seqscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`explain ${CLAIM}`, [
        TENANT,
        5,
      ]);
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("work_units_claim");
    expect(plan).not.toMatch(/\bSort\b/);
  });
});
