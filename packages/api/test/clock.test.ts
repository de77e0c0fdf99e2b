// Compressed time (NIGHTSHIFT_SPEEDUP, the demo's 60×): the server schedules on the world's
// clock. A car reports when it will really leave, on the wall clock; the server reads that on
// its world's clock, so a car that leaves in five wall minutes stays five world hours, and a run
// of one wall second lasts `speedup` world seconds, paid no longer than the server's estimate.
import { timeScale } from "@nightshift/core/time-scale";
import { ledgerEntries } from "@nightshift/db/schema";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny } from "../src/seed";
import { PARKED, setup, testClockStartMs, testDatabase, tinyInput } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

const MIN_MS = 60_000;

/**
 * A world at `speedup`×, at 02:00 UTC in June (the seeded regions' night) when the test's clock
 * starts.
 */
function world(speedup: number) {
  return timeScale(speedup, testClockStartMs() / 1000, Date.UTC(2026, 5, 3, 2) / 1000);
}

/** Enrolls a car that leaves `inMs` wall milliseconds from now, and asks for one task. */
async function leaveSoon(h: Awaited<ReturnType<typeof setup>>, inMs: number) {
  const car = await h.enrollCar({ heartbeat: false });
  await car.client.node.heartbeat.mutate({
    ...PARKED,
    predictedDepartureAt: new Date(h.clock.now().getTime() + inMs).toISOString(),
    departureUncertaintyS: 20,
  });
  return car;
}

describe("the scheduling clock", () => {
  it("says what it is: real time by default", async () => {
    const h = await setup(database.get());
    const clock = await h.anonymous.node.clock.query();
    expect(clock.speedup).toBe(1);
    expect(clock.worldAt).toBe(clock.wallAt);
    await h.api.close();
  });

  it("reads a departure five wall minutes away as five world hours at 60×", async () => {
    const inputs = [tinyInput([1, 2, 3]), tinyInput([3, 2, 1])];
    // In real time, five minutes is inside the margin before a departure (10 min and more).
    const real = await setup(database.get());
    await real.tenant().tenant.jobs.submit.mutate({ modelId: "tiny-mlp", inputs, replication: 1 });
    const soon = await leaveSoon(real, 5 * MIN_MS);
    expect(await soon.client.node.lease.mutate({})).toMatchObject({
      tasks: [],
      reason: "departs-too-soon",
    });
    await real.api.close();

    const fast = await setup(database.get(), { timeScale: world(60) });
    const clock = await fast.anonymous.node.clock.query();
    expect(clock.speedup).toBe(60);
    expect(clock.worldAt.slice(0, 13)).toBe("2026-06-03T02");
    await fast.tenant().tenant.jobs.submit.mutate({ modelId: "tiny-mlp", inputs, replication: 1 });
    const car = await leaveSoon(fast, 5 * MIN_MS);
    const { tasks } = await car.client.node.lease.mutate({});
    expect(tasks.length).toBeGreaterThan(0);
    await fast.api.close();
  });

  it("pays a run no more than the server's estimate on either clock", async () => {
    const energyOf = async (speedup: number) => {
      const h = await setup(database.get(), { timeScale: world(speedup) });
      await h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [tinyInput([1, 2, 3])],
        replication: 1,
      });
      const car = await h.enrollCar();
      const [task] = (await car.client.node.lease.mutate({})).tasks;
      // The lease was held long enough for the run the car reports; the ledger pays for the
      // server's estimate of the run (shorter than the claim). The estimate is of world seconds:
      // at 60× the car runs it in a sixtieth of the wall time, and a wall second it claims is
      // sixty world seconds, still bounded by the same estimate.
      h.clock.advance(2);
      await car.client.node.submit.mutate({
        leaseId: task!.leaseId,
        output: runTiny((task!.input as { x: { data: number[] } }).x.data),
        durationMs: 1000,
        backend: "native",
      });
      const [entry] = await h.t.db
        .select()
        .from(ledgerEntries)
        .where(eq(ledgerEntries.leaseId, task!.leaseId));
      await h.api.close();
      return entry!.energyKWh;
    };
    const realKWh = await energyOf(1);
    const worldKWh = await energyOf(60);
    expect(realKWh).toBeGreaterThan(0);
    expect(worldKWh / realKWh).toBeCloseTo(1, 6);
  });
});
