// Pay comes from what the server knows: a car's word can lower what it is paid, never raise it.
// Each case here is an attack that once worked on a fresh server: a result sent after its lease
// ran out.
import { leases, ledgerEntries } from "@nightshift/db/schema";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny } from "../src/seed";
import { type Harness, PARKED, setup, testDatabase, tinyInput } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

/** Parked, not plugged in: every joule comes from the battery, paid back with wear on top. */
const UNPLUGGED = { ...PARKED, pluggedIn: false, chargerKW: 0 };

function xOf(input: unknown): number[] {
  return (input as { x: { data: number[] } }).x.data;
}

/** A car enrolled with the figures given (the harness's car takes the defaults), then parked. */
async function enrollWith(h: Harness) {
  const out = await h.anonymous.node.enroll.mutate({
    code: h.seed.enrollmentCode,
    hardwareId: "fsd-hw4",
  });
  const client = h.api.client(out.credential);
  await client.node.heartbeat.mutate(UNPLUGGED);
  return { ...out, client };
}

type Car = Awaited<ReturnType<typeof enrollWith>>;

/** One unreplicated tiny-mlp task, leased by `car` (which says it is parked first). */
async function leaseOne(h: Harness, car: Car, x: number[]) {
  await car.client.node.heartbeat.mutate(UNPLUGGED);
  await h.tenant().tenant.jobs.submit.mutate({
    modelId: "tiny-mlp",
    inputs: [tinyInput(x)],
    replication: 1,
  });
  const [task] = (await car.client.node.lease.mutate({})).tasks;
  expect(task).toBeDefined();
  return task!;
}

async function ledgerOf(h: Harness, leaseId: string) {
  const [entry] = await h.t.db
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.leaseId, leaseId));
  return entry;
}

describe("pay", () => {
  it("refuses a result sent after its lease expired, before any sweep: not written, not paid", async () => {
    const h = await setup(database.get());
    const car = await enrollWith(h);
    const task = await leaseOne(h, car, [1, 2, 3, 4]);
    // 0.15 s past expiresAt, as in the attack; the sweeper has not run.
    h.clock.advance(h.api.deps.config.leaseTtlS + 0.15);
    const before = await h.counts();
    const late = await car.client.node.submit.mutate({
      leaseId: task.leaseId,
      output: runTiny(xOf(task.input)),
      durationMs: 5,
      backend: "native",
    });
    expect(late).toEqual({
      accepted: false,
      verdict: null,
      reason: "lease expired",
      duplicate: false,
    });
    expect(await h.counts()).toEqual(before);
    expect(await ledgerOf(h, task.leaseId)).toBeUndefined();
    const [lease] = await h.t.db.select().from(leases).where(eq(leases.id, task.leaseId));
    expect(lease!.status).toBe("active"); // left for the sweeper, which reopens its work
    await h.api.close();
  });

  it("refuses the expired results of a submitMany and takes the others", async () => {
    const h = await setup(database.get());
    const car = await enrollWith(h);
    const ttlS = h.api.deps.config.leaseTtlS;
    const old = await leaseOne(h, car, [1, 1, 1, 1]);
    h.clock.advance(ttlS / 2);
    const fresh = await leaseOne(h, car, [2, 2, 2, 2]);
    // The first lease is 0.15 s past its expiry, the second still has half its lifetime.
    h.clock.advance(ttlS / 2 + 0.15);
    const result = (t: typeof old) => ({
      leaseId: t.leaseId,
      output: runTiny(xOf(t.input)),
      durationMs: 5,
      backend: "native" as const,
    });
    const { results } = await car.client.node.submitMany.mutate({
      results: [result(old), result(fresh)],
    });
    expect(results).toEqual([
      {
        leaseId: old.leaseId,
        accepted: false,
        verdict: null,
        reason: "lease expired",
        duplicate: false,
      },
      { leaseId: fresh.leaseId, accepted: true, verdict: "valid", reason: null, duplicate: false },
    ]);
    expect(await ledgerOf(h, old.leaseId)).toBeUndefined();
    expect((await ledgerOf(h, fresh.leaseId))!.validated).toBe(true);
    // A retry of the recorded result after its lease's expiry is still the same submit.
    h.clock.advance(ttlS);
    expect(await car.client.node.submit.mutate(result(fresh))).toMatchObject({
      accepted: true,
      verdict: "valid",
      duplicate: true,
    });
    await h.api.close();
  });
});
