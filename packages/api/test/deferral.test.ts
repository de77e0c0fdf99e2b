// Energy- and carbon-aware work in the real server: a car on dear power leaves work that asked
// for the cheapest power for a cheaper window ahead (core's deferral filter, through core's
// choose), runs "soonest" work at once, and the ledger says what the wait saved.
import { timeScale } from "@nightshift/core/time-scale";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny } from "../src/seed";
import { PARKED, setup, testClockStartMs, testDatabase, tinyInput } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

const HOUR_S = 3600;

/**
 * Real time, but the world's clock at 15:00 in Chicago on a June day (20:00 UTC): us-central's
 * 0.22 USD/kWh until 21:00, then 0.09 through the night.
 */
const AFTERNOON = () => timeScale(1, testClockStartMs() / 1000, Date.UTC(2026, 5, 3, 20) / 1000);

describe("deferral", () => {
  it("holds cheapest work for the cheap night, runs soonest work now, and counts the saving", async () => {
    const h = await setup(database.get(), { timeScale: AFTERNOON() });
    const tenant = h.tenant();
    const cheapest = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([1, 2, 3])],
      replication: 1,
      objective: "cheapest",
    });
    const car = await h.enrollCar({ regionId: "us-central" });

    // The afternoon: nothing but the cheapest job, and it waits.
    const first = await car.client.node.lease.mutate({});
    expect(first).toEqual({ tasks: [], reason: "deferred" });

    // Work that asked for soonest runs now, beside the work that waits.
    const soonest = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([4, 5, 6])],
      replication: 1,
    });
    const now = await car.client.node.lease.mutate({ max: 4 });
    expect(now.tasks.map((t) => t.jobId)).toEqual([soonest.jobId]);

    // 21:00 in Chicago: the cheap window has come, and the car takes the waiting work.
    h.clock.advance(6 * HOUR_S + 60);
    await car.client.node.heartbeat.mutate({ ...PARKED });
    const night = await car.client.node.lease.mutate({ max: 4 });
    expect(night.tasks.map((t) => t.jobId)).toEqual([cheapest.jobId]);
    const task = night.tasks[0]!;
    h.clock.advance(1);
    await car.client.node.submit.mutate({
      leaseId: task.leaseId,
      output: runTiny((task.input as { x: { data: number[] } }).x.data),
      durationMs: 1000,
      backend: "native",
    });

    const { total } = await h.operator.operator.ledger.summary.query({ by: "tenant" });
    expect(total.entries).toBe(1);
    expect(total.deferredEntries).toBe(1);
    // The same run at 0.22 rather than 0.09 USD/kWh: the saving is most of what it would have cost.
    expect(total.deferralSavedUsd).toBeGreaterThan(0);
    expect(total.deferralSavedUsd / (total.costUsd + total.deferralSavedUsd)).toBeCloseTo(
      1 - 0.09 / 0.22,
      2,
    );
    await h.api.close();
  });

  it("runs cheapest work now when its deadline leaves no room to wait", async () => {
    const h = await setup(database.get(), { timeScale: AFTERNOON() });
    const job = await h.tenant().tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([1, 2, 3])],
      replication: 1,
      objective: "cheapest",
      // Before 21:00 in Chicago.
      deadlineAt: new Date(h.clock.now().getTime() + 2 * HOUR_S * 1000).toISOString(),
    });
    const car = await h.enrollCar({ regionId: "us-central" });
    const got = await car.client.node.lease.mutate({});
    expect(got.tasks.map((t) => t.jobId)).toEqual([job.jobId]);
    await h.api.close();
  });

  it("refuses an objective it does not know, naming the field", async () => {
    const h = await setup(database.get());
    await expect(
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [tinyInput([1, 2, 3])],
        // @ts-expect-error: not an objective
        objective: "greenest",
      }),
    ).rejects.toThrow(/objective/);
    await h.api.close();
  });
});
