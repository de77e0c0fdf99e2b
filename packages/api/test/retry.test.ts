// A statement PostgreSQL aborts as a deadlock victim did nothing, so it runs again: a heartbeat
// renewing leases that a submit holds met it in a lock cycle and answered 500 (40P01), seen by
// the adversaries test about one run in four.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTx, prepared, preparedRows } from "../src/services/db";
import { setup, testDatabase } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

/** A function that aborts as a deadlock victim on its first `failures` calls, then answers. */
async function flaky(h: Awaited<ReturnType<typeof setup>>, failures: number) {
  await h.t.db.execute(sql`CREATE SEQUENCE IF NOT EXISTS flaky_calls`);
  await h.t.db.execute(sql`SELECT setval('flaky_calls', 1, false)`);
  await h.t.db.execute(
    sql.raw(`CREATE OR REPLACE FUNCTION flaky() RETURNS int LANGUAGE plpgsql AS $$
      DECLARE n int := nextval('flaky_calls');
      BEGIN
        IF n <= ${failures} THEN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF;
        RETURN n;
      END $$`),
  );
}

describe("deadlock victims", () => {
  it("runs a single statement again when it was a deadlock's victim", async () => {
    const h = await setup(database.get());
    await flaky(h, 2);
    const rows = await preparedRows<{ n: number }>(
      h.api.deps.db,
      prepared("flaky_call", "SELECT flaky() AS n"),
      [],
    );
    expect(rows).toEqual([{ n: 3 }]);
  });

  it("runs a transaction again, and gives up after five tries", async () => {
    const h = await setup(database.get());
    await flaky(h, 2);
    expect(await inTx(h.api.deps.db, (tx) => tx.execute(sql`SELECT flaky() AS n`))).toMatchObject({
      rows: [{ n: 3 }],
    });
    await flaky(h, 5);
    await expect(
      preparedRows(h.api.deps.db, prepared("flaky_call", "SELECT flaky() AS n"), []),
    ).rejects.toThrow(/deadlock/);
  });
});
