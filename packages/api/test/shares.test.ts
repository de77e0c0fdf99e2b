// The shares behind lease decisions and reclaiming count a tenant's demand as core does
// (demandSlots, the simulator's rule too): the cars holding its work, whatever number of units
// each holds, plus the cars its jobs' open units could keep busy, not one car per unit.
import { regions } from "@nightshift/db/schema";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TEST_MODEL_ID } from "../src/seed";
import { readShares } from "../src/state";
import { type Harness, setup, type TestCar, testDatabase, tinyInput } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

async function submit(h: Harness, tenantId: string, n: number, k: number): Promise<void> {
  await h.tenant(tenantId).tenant.jobs.submit.mutate({
    modelId: TEST_MODEL_ID,
    inputs: Array.from({ length: n }, (_, i) => tinyInput([k, i, 1, 2])),
    replication: 1,
  });
}

async function shares(h: Harness) {
  const regionRows = new Map((await h.t.db.select().from(regions)).map((r) => [r.id, r]));
  return readShares(h.t.db, h.api.deps.now(), regionRows, h.api.deps.config);
}

it("counts the cars holding a tenant's units and each job's open units as the cars they could keep busy", async () => {
  const h = await setup(database.get());
  // mapworks may borrow the whole fleet: what it is entitled to is its demand.
  await h.operator.operator.tenants.update.mutate({
    id: "mapworks",
    quotaShare: 0.25,
    borrowingLimitShare: null,
  });
  const cars: TestCar[] = [];
  for (let i = 0; i < 4; i++) cars.push(await h.enrollCar());
  await submit(h, "mapworks", 6, 1);
  expect((await cars[0]!.client.node.lease.mutate({ max: 3 })).tasks).toHaveLength(3);

  // One car holds three units; three tiny tasks wait, far less than a run of maxRunS: one car.
  const one = await shares(h);
  expect(one.snapshot.capacity).toBe(4);
  expect(one.snapshot.usage.get("mapworks")).toBe(1);
  expect(one.waiting.get("mapworks")).toBe(1);
  expect(one.snapshot.entitlements.get("mapworks")?.entitled).toBe(2);

  // A second job waits beside the first: one more car.
  await submit(h, "mapworks", 2, 2);
  const two = await shares(h);
  expect(two.waiting.get("mapworks")).toBe(2);
  expect(two.snapshot.entitlements.get("mapworks")?.entitled).toBe(3);
  expect(two.waiting.has("acme-vision")).toBe(false);
});
