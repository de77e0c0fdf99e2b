// Statuses change in one place (src/services/transitions.ts) and only along core's state machine
// (core/status.ts): no other module writes a status, and every change the services make on a
// real PostgreSQL, recorded by a trigger as it happens, is one that core allows.
import { canTransition, type StatusKind, type Statuses } from "@nightshift/core/status";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny } from "../src/seed";
import { endOverdueJobs, sweepExpired } from "../src/sweeper";
import { type Harness, setup, testDatabase, tinyInput } from "./harness";

const SRC = join(import.meta.dirname, "../src");
const OWNER = "services/transitions.ts";

/** An UPDATE whose SET list assigns a status (SQL), or a drizzle `.set({ … status … })`. */
const WRITES_STATUS = [
  /UPDATE\s+\w+(?:\s+\w+)?\s+SET\b(?:(?!\bWHERE\b|\bFROM\b|;)[\s\S])*?\bstatus\s*=/gi,
  /\.set\(\{[^}]*\bstatus\s*:/g,
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const writesStatus = (text: string) => WRITES_STATUS.some((re) => text.match(re) !== null);

describe("status writes", () => {
  it("recognises a status write, in SQL or through drizzle, and not a status read", () => {
    expect(writesStatus("UPDATE tasks SET status = 'valid' WHERE id = $1")).toBe(true);
    expect(writesStatus("UPDATE work_units wu\n SET attempt = 1, status = CASE")).toBe(true);
    expect(writesStatus("await tx.update(jobs).set({ completedAt: now, status: 'x' })")).toBe(true);
    expect(writesStatus("UPDATE leases SET expires_at = $2 WHERE status = 'active'")).toBe(false);
    expect(writesStatus("SELECT count(*) FROM leases WHERE status = 'active'")).toBe(false);
  });

  it("happen in transitions.ts alone", () => {
    const writers = sources(SRC)
      .map((path) => relative(SRC, path))
      .filter((path) => path !== OWNER && writesStatus(readFileSync(join(SRC, path), "utf8")));
    expect(writers).toEqual([]);
  });
});

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

const TABLES: Record<string, StatusKind> = {
  jobs: "job",
  tasks: "task",
  work_units: "unit",
  leases: "lease",
};

/** Records every status change of the four tables, as PostgreSQL makes it. */
async function recordChanges(h: Harness): Promise<void> {
  await h.t.db.execute(sql`CREATE SCHEMA IF NOT EXISTS status_test`);
  await h.t.db.execute(
    sql`CREATE TABLE IF NOT EXISTS status_test.changes (kind text, from_status text, to_status text)`,
  );
  await h.t.db.execute(sql`TRUNCATE status_test.changes`);
  await h.t.db.execute(
    sql.raw(`CREATE OR REPLACE FUNCTION status_test.record() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
          INSERT INTO status_test.changes VALUES (TG_TABLE_NAME, OLD.status, NEW.status);
        END IF;
        RETURN NEW;
      END $$`),
  );
  for (const table of Object.keys(TABLES)) {
    await h.t.db.execute(sql.raw(`DROP TRIGGER IF EXISTS status_test ON ${table}`));
    await h.t.db.execute(
      sql.raw(`CREATE TRIGGER status_test AFTER UPDATE ON ${table}
               FOR EACH ROW EXECUTE FUNCTION status_test.record()`),
    );
  }
}

/** The recorded changes, as `kind from→to`, each once. */
async function changes(h: Harness): Promise<string[]> {
  const rows = await h.t.db.execute<{ kind: string; from_status: string; to_status: string }>(
    sql`SELECT DISTINCT kind, from_status, to_status FROM status_test.changes`,
  );
  return rows.rows.map((r) => `${TABLES[r.kind]} ${r.from_status}→${r.to_status}`).sort();
}

/** The recorded changes that core does not allow. */
function forbidden(recorded: readonly string[]): string[] {
  return recorded.filter((c) => {
    const [kind, pair] = c.split(" ") as [StatusKind, string];
    const [from, to] = pair.split("→") as [Statuses[StatusKind], Statuses[StatusKind]];
    return !canTransition(kind, from as never, to as never);
  });
}

const xOf = (input: unknown) => (input as { x: { data: number[] } }).x.data;

describe("status changes on PostgreSQL", () => {
  it("follow core's state machine through quorum, expiry, cancelling and a deadline", async () => {
    const h = await setup(database.get());
    await recordChanges(h);
    const tenant = h.tenant();
    const [a, b, c] = [await h.enrollCar(), await h.enrollCar(), await h.enrollCar()];
    const submit = (car: typeof a, leaseId: string, output: number[]) =>
      car.client.node.submit.mutate({ leaseId, output, durationMs: 5, backend: "wasm" });

    // Two replicas disagree, a third car settles it: the job completes.
    await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([1, 1, 1, 1])],
      replication: 2,
    });
    const ta = (await a.client.node.lease.mutate({})).tasks[0]!;
    const tb = (await b.client.node.lease.mutate({})).tasks[0]!;
    const right = runTiny(xOf(ta.input));
    await submit(a, ta.leaseId, right);
    await submit(
      b,
      tb.leaseId,
      right.map((v) => v + 1),
    );
    const tc = (await c.client.node.lease.mutate({})).tasks[0]!;
    expect((await submit(c, tc.leaseId, right)).verdict).toBe("valid");

    // A lease runs out and its unit goes back; then the job is cancelled while leased again.
    const cancelled = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([2, 2, 2, 2]), tinyInput([3, 3, 3, 3])],
      replication: 1,
    });
    await a.client.node.lease.mutate({ max: 1 });
    h.clock.advance(h.api.deps.config.leaseTtlS + 1);
    for (const car of [a, b, c]) await car.park();
    expect((await sweepExpired(h.api.deps)).expiredLeases).toBe(1);
    await b.client.node.lease.mutate({ max: 1 });
    await tenant.tenant.jobs.cancel.mutate({ jobId: cancelled.jobId });

    // A job whose deadline passes with a task leased and one open.
    await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([4]), tinyInput([5])],
      replication: 1,
      deadlineAt: new Date(h.clock.now().getTime() + 60_000).toISOString(),
    });
    await c.client.node.lease.mutate({ max: 1 });
    h.clock.advance(61);
    await c.park();
    expect(await endOverdueJobs(h.api.deps)).toEqual({ jobsEnded: 1 });

    const recorded = await changes(h);
    expect(recorded).toEqual(
      expect.arrayContaining([
        "job queued→running",
        "job running→completed",
        "job running→cancelled",
        "job running→failed",
        "task open→verifying",
        "task verifying→valid",
        "task open→cancelled",
        "task open→failed",
        "unit open→leased",
        "unit leased→done",
        "unit leased→open",
        "unit leased→cancelled",
        "unit open→cancelled",
        "lease active→submitted",
        "lease active→expired",
        "lease active→cancelled",
      ]),
    );
    expect(forbidden(recorded)).toEqual([]);

    // The check itself: a change core forbids is caught.
    await h.t.db.execute(sql`UPDATE work_units SET status = 'open' WHERE status = 'done'`);
    expect(forbidden(await changes(h))).toEqual(["unit done→open"]);
  });
});
