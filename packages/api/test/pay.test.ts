// Pay comes from what the server knows: a car's word can lower what it is paid, never raise it.
// Each case here is an attack that once worked on a fresh server: an absurd charge efficiency,
// a claimed duration of a day for a run of microseconds, and a result sent after its lease ran
// out.
import { HARDWARE } from "@nightshift/core/hardware";
import { cars, leases, ledgerEntries } from "@nightshift/db/schema";
import { getManifest } from "@nightshift/models/registry";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny } from "../src/seed";
import { failure, type Harness, PARKED, setup, testDatabase, tinyInput } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

const DAY_MS = 24 * 3600 * 1000;

/** Parked, not plugged in: every joule comes from the battery, paid back with wear on top. */
const UNPLUGGED = { ...PARKED, pluggedIn: false, chargerKW: 0 };

function xOf(input: unknown): number[] {
  return (input as { x: { data: number[] } }).x.data;
}

/** A car enrolled with the figures given (the harness's car takes the defaults), then parked. */
async function enrollWith(h: Harness, figures: { chargeEfficiency?: number } = {}) {
  const out = await h.anonymous.node.enroll.mutate({
    code: h.seed.enrollmentCode,
    hardwareId: "fsd-hw4",
    ...figures,
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

/**
 * The server's own ceiling on one tiny-mlp run's energy on fsd-hw4: its inference power for the
 * time the model's operations take at the scheduler's sustained share of its peak.
 */
function energyCeilingKWh(h: Harness): number {
  const hw = HARDWARE["fsd-hw4"]!;
  const teraOps = getManifest("tiny-mlp")!.teraOpsPerInference;
  const estimateS = teraOps / (hw.peakTops * h.api.deps.config.schedule.sustainedTopsShare);
  return (hw.inferencePowerW * estimateS) / 3.6e6;
}

describe("pay", () => {
  it("refuses an enrollment whose charge efficiency is not a charger's, naming the field", async () => {
    const h = await setup(database.get());
    const before = await h.counts();
    for (const chargeEfficiency of [1e-300, 5e-324, 0.1]) {
      const got = await failure(
        h.anonymous.node.enroll.mutate({ code: h.seed.enrollmentCode, chargeEfficiency }),
      );
      expect({ chargeEfficiency, code: got.code }).toEqual({
        chargeEfficiency,
        code: "BAD_REQUEST",
      });
      expect(got.issues?.map((i) => i.path)).toContain("chargeEfficiency");
    }
    expect(await h.counts()).toEqual(before);
    await h.api.close();
  });

  it("pays a car whose stored efficiency is absurd no more than one at the lowest a car may enroll with", async () => {
    const h = await setup(database.get());
    // The lowest efficiency enrollment accepts: pay assumes no lower, whatever a car says.
    const honest = await enrollWith(h, { chargeEfficiency: 0.5 });
    const liar = await enrollWith(h);
    // A row enrolled before enrollment checked the figure (the attack's 1e-300, and the
    // smallest double, which once answered 500).
    for (const chargeEfficiency of [1e-300, 5e-324]) {
      await h.t.db.update(cars).set({ chargeEfficiency }).where(eq(cars.id, liar.carId));
      const pays: number[] = [];
      for (const [i, car] of [honest, liar].entries()) {
        const task = await leaseOne(h, car, [i, chargeEfficiency, 3, 4]);
        h.clock.advance(2);
        const answer = await car.client.node.submit.mutate({
          leaseId: task.leaseId,
          output: runTiny(xOf(task.input)),
          durationMs: 1000,
          backend: "native",
        });
        expect(answer).toMatchObject({ accepted: true, verdict: "valid" });
        const entry = await ledgerOf(h, task.leaseId);
        expect(entry!.energyKWh).toBeLessThanOrEqual(energyCeilingKWh(h) * (1 + 1e-9));
        pays.push(entry!.payoutUsd);
      }
      const [honestUsd, liarUsd] = pays as [number, number];
      expect(honestUsd).toBeGreaterThan(0);
      expect(Number.isFinite(liarUsd)).toBe(true);
      expect(liarUsd).toBeLessThanOrEqual(honestUsd * (1 + 1e-9));
    }
    await h.api.close();
  });

  it("pays a claim of a day's work no more than the server's estimate of the run", async () => {
    const h = await setup(database.get());
    const [short, long] = [await enrollWith(h), await enrollWith(h)];
    const pays: number[] = [];
    for (const [i, [car, durationMs]] of (
      [
        [short, 1],
        [long, DAY_MS],
      ] as const
    ).entries()) {
      const task = await leaseOne(h, car, [i, 2, 3, 4]);
      // Held for 100 s, within its lifetime: the lease's age no longer bounds a day's claim.
      h.clock.advance(100);
      const answer = await car.client.node.submit.mutate({
        leaseId: task.leaseId,
        output: runTiny(xOf(task.input)),
        durationMs,
        backend: "wasm",
      });
      expect(answer).toMatchObject({ accepted: true, verdict: "valid" });
      const entry = await ledgerOf(h, task.leaseId);
      expect(entry!.energyKWh).toBeGreaterThan(0);
      expect(entry!.energyKWh).toBeLessThanOrEqual(energyCeilingKWh(h) * (1 + 1e-9));
      pays.push(entry!.payoutUsd);
    }
    // Both runs took longer than the estimate (a millisecond is ~10^8 estimates of tiny-mlp on
    // fsd-hw4): both are paid the estimate, the day no more than the millisecond.
    const [shortUsd, longUsd] = pays as [number, number];
    expect(longUsd).toBeLessThanOrEqual(shortUsd * (1 + 1e-9));
    await h.api.close();
  });

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
