// A car holds only the work it can do. A car once reported charging at 350 kW with no departure,
// asked node.lease seven times with max 128 and held every open task of every tenant, kept
// alive past the lease lifetime by heartbeats and renewals, while an honest car got no-work.
// What it may hold now follows what the server knows (its hardware class as enrolled and the
// model's cost), never what it reports, and a lease it is not working on runs out.
import { HARDWARE } from "@nightshift/core/hardware";
import { leases, models, workUnits } from "@nightshift/db/schema";
import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_MODEL_ID } from "../src/seed";
import { sweepExpired } from "../src/sweeper";
import {
  type Harness,
  PARKED,
  secondDb,
  setup,
  startInstance,
  type TestCar,
  testDatabase,
  tinyInput,
} from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

/** The break's car: charging at the fastest public charger's 350 kW, with no departure. */
const HOARDING = {
  state: "charging",
  socPct: 80,
  pluggedIn: true,
  chargerKW: 350,
  predictedDepartureAt: null,
  batteryTempC: 20,
} as const;

/** The break's calls: seven lease calls at the limit. */
const CALLS = 7;
const MAX = 128;

/** The enrolled class of every car here (144 TOPS): the server's estimate follows it. */
const HARDWARE_ID = "fsd-hw3";

/**
 * Makes the test model cost what one run of `runS` seconds takes on HARDWARE_ID by the server's
 * estimate (hardware.ts: tera-ops / (peak TOPS × sustained share)). tiny-mlp runs in
 * nanoseconds, where only the count cap binds: a dearer model shows the cap follow its cost.
 */
async function setModelRunS(h: Harness, runS: number): Promise<void> {
  const share = h.api.deps.config.schedule.sustainedTopsShare;
  const teraOps = runS * HARDWARE[HARDWARE_ID]!.peakTops * share;
  await h.t.db
    .update(models)
    .set({ teraOpsPerInference: teraOps })
    .where(eq(models.id, TEST_MODEL_ID));
}

/** Tenants' jobs as the break found them: a 600-task job and some work of another tenant. */
async function submitWork(h: Harness): Promise<{ bigJobId: string }> {
  const inputs = (n: number, k: number) =>
    Array.from({ length: n }, (_, i) => tinyInput([k, i, 1, 2]));
  const big = await h.tenant("acme-vision").tenant.jobs.submit.mutate({
    modelId: TEST_MODEL_ID,
    inputs: inputs(600, 1),
    replication: 1,
  });
  await h.tenant("mapworks").tenant.jobs.submit.mutate({
    modelId: TEST_MODEL_ID,
    inputs: inputs(67, 2),
    replication: 1,
  });
  return { bigJobId: big.jobId };
}

async function enrollHoarder(h: Harness): Promise<TestCar> {
  const car = await h.enrollCar({ hardwareId: HARDWARE_ID, heartbeat: false });
  await car.client.node.heartbeat.mutate(HOARDING);
  return car;
}

/** The car's active leases, oldest first. */
async function activeLeases(h: Harness, carId: string) {
  const rows = await h.t.db
    .select({ id: leases.id, taskId: leases.taskId, leasedAt: leases.leasedAt })
    .from(leases)
    .where(and(eq(leases.carId, carId), eq(leases.status, "active")));
  return rows.sort((a, b) => a.leasedAt.getTime() - b.leasedAt.getTime());
}

/**
 * The break's lease calls: as many at once as it made, to two server instances (each call
 * finds the car holding nothing when it starts), then one after the other.
 */
async function hoard(h: Harness, car: TestCar): Promise<void> {
  const other = secondDb(h.t);
  const second = await startInstance(other.db, h.clock, h.api.deps.config);
  try {
    const onSecond = second.client(car.credential);
    await Promise.all(
      Array.from({ length: CALLS }, (_, i) =>
        (i % 2 === 0 ? car.client : onSecond).node.lease.mutate({ max: MAX }),
      ),
    );
  } finally {
    await second.close();
    await other.end();
  }
  for (let i = 0; i < CALLS; i++) await car.client.node.lease.mutate({ max: MAX });
}

describe("a car that hoards leases", () => {
  it("holds no more than its hardware class runs in one lease lifetime, whatever it reports", async () => {
    const h = await setup(database.get());
    // One run takes 11 s on the car's class: ten fit in a 120 s lifetime, eleven do not.
    const runS = 11;
    await setModelRunS(h, runS);
    const { bigJobId } = await submitWork(h);
    const hoarder = await enrollHoarder(h);

    await hoard(h, hoarder);
    const held = await activeLeases(h, hoarder.carId);
    const cap = Math.floor(h.api.deps.config.leaseTtlS / runS);
    expect(held).toHaveLength(cap);

    // An honest car asks as the agent does, and gets work; the rest stays open for others,
    // the 600-task job's included.
    const honest = await h.enrollCar({ hardwareId: HARDWARE_ID });
    expect((await honest.client.node.lease.mutate({ max: 8 })).tasks).toHaveLength(8);
    const open = await h.t.db
      .select({ jobId: workUnits.jobId })
      .from(workUnits)
      .where(eq(workUnits.status, "open"));
    expect(open).toHaveLength(667 - cap - 8);
    expect(open.filter((u) => u.jobId === bigJobId).length).toBeGreaterThanOrEqual(600 - cap - 8);
  });

  it("holds at most a full lease call of tasks that run in nanoseconds", async () => {
    const h = await setup(database.get());
    await submitWork(h);
    const hoarder = await enrollHoarder(h);

    await hoard(h, hoarder);
    expect((await activeLeases(h, hoarder.carId)).length).toBeLessThanOrEqual(MAX);
    const honest = await h.enrollCar({ hardwareId: HARDWARE_ID });
    expect((await honest.client.node.lease.mutate({ max: 8 })).tasks).toHaveLength(8);
  });

  it("cannot keep leases alive with heartbeats and renewals: they run out and go back to the queue", async () => {
    const h = await setup(database.get());
    await setModelRunS(h, 11);
    await submitWork(h);
    const hoarder = await enrollHoarder(h);
    await hoard(h, hoarder);
    const hoarded = await activeLeases(h, hoarder.carId);
    expect(hoarded.length).toBeGreaterThan(0);
    const ids = hoarded.map((l) => l.id);

    // An honest car works beside it, renewing what it holds while it runs.
    const honest = await h.enrollCar({ hardwareId: HARDWARE_ID });
    const mine = (await honest.client.node.lease.mutate({ max: 8 })).tasks.map((t) => t.leaseId);
    expect(mine).toHaveLength(8);

    // Heartbeats and renewals of every lease, every 30 s, for five lease lifetimes.
    const ttlS = h.api.deps.config.leaseTtlS;
    let renewedLast = -1;
    for (let s = 30; s <= 5 * ttlS; s += 30) {
      h.clock.advance(30);
      await hoarder.client.node.heartbeat.mutate({ ...HOARDING, leaseIds: ids });
      const out = await hoarder.client.node.renew.mutate({ leaseIds: ids });
      renewedLast = out.renewed.length;
      // The honest car renews too, for its first lifetime and one more: it is still at work.
      await honest.client.node.heartbeat.mutate({ ...PARKED, leaseIds: mine });
      if (s <= 2 * ttlS) {
        expect((await honest.client.node.renew.mutate({ leaseIds: mine })).renewed).toHaveLength(8);
      }
      await sweepExpired(h.api.deps);
    }
    expect(renewedLast).toBe(0);
    expect(await activeLeases(h, hoarder.carId)).toEqual([]);

    // The hoarded tasks are open again, and the next car to ask gets work.
    const units = await h.t.db
      .select({ status: workUnits.status })
      .from(workUnits)
      .where(
        inArray(
          workUnits.taskId,
          hoarded.map((l) => l.taskId),
        ),
      );
    expect(units.map((u) => u.status)).toEqual(hoarded.map(() => "open"));
    const next = await h.enrollCar({ hardwareId: HARDWARE_ID });
    expect((await next.client.node.lease.mutate({ max: 8 })).tasks).toHaveLength(8);
  });

  it("renews only its oldest leases, those it can run in one lifetime, when it holds more", async () => {
    const h = await setup(database.get());
    await submitWork(h);
    const car = await h.enrollCar({ hardwareId: HARDWARE_ID });
    // Twenty leases, one call each, while the model is cheap ...
    const taken: string[] = [];
    for (let i = 0; i < 20; i++) {
      taken.push(...(await car.client.node.lease.mutate({ max: 1 })).tasks.map((t) => t.leaseId));
    }
    expect(taken).toHaveLength(20);
    // ... then its cost is found to be 28 s a run on this class: four fit in a lifetime.
    await setModelRunS(h, 28);
    h.clock.advance(30);
    const out = await car.client.node.renew.mutate({ leaseIds: taken });
    expect(out.renewed.map((r) => r.leaseId).sort()).toEqual(taken.slice(0, 4).sort());
    expect(out.lost).toEqual([]);
    const beat = await car.client.node.heartbeat.mutate({ ...PARKED, leaseIds: taken });
    expect(beat.renewed).toBe(4);

    // The rest run out at their first expiry and go back to the queue.
    h.clock.advance(h.api.deps.config.leaseTtlS - 29);
    await car.park();
    await sweepExpired(h.api.deps);
    expect((await activeLeases(h, car.carId)).map((l) => l.id).sort()).toEqual(
      taken.slice(0, 4).sort(),
    );
  });
});
