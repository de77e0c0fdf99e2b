// Idempotent lease calls: a car that retries a lease call whose answer was lost (the instance
// died after COMMIT) sends the same requestId and gets back the leases that call made, not new
// ones that would be held by nobody until they run out.
import { randomUUID } from "node:crypto";
import { DEFAULT_VERIFICATION } from "@nightshift/core/verify";
import { cars, leases, workUnits } from "@nightshift/db/schema";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny } from "../src/seed";
import {
  failure,
  type Harness,
  secondDb,
  setup,
  startInstance,
  testDatabase,
  tinyInput,
} from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

async function submitJob(h: Harness, tasks: number, replication = 1) {
  return h.tenant().tenant.jobs.submit.mutate({
    modelId: "tiny-mlp",
    inputs: Array.from({ length: tasks }, (_, i) => tinyInput([i, 1, 2, 3])),
    replication,
  });
}

/** The leases of the database, by id, with the requestId each carries. */
async function leaseRows(h: Harness) {
  return h.t.db
    .select({ id: leases.id, carId: leases.carId, requestId: leases.requestId })
    .from(leases);
}

/** Rounds of the race: each is a few ms wide, so a missing lock shows in one of them. */
const ROUNDS = 6;

const ids = (tasks: readonly { leaseId: string }[]) => tasks.map((t) => t.leaseId).sort();

describe("node.lease with a requestId", () => {
  it("answers a retry with the leases the first call made, and claims nothing more", async () => {
    const h = await setup(database.get());
    const car = await h.enrollCar();
    await submitJob(h, 6);
    const requestId = randomUUID();

    const first = await car.client.node.lease.mutate({ max: 3, requestId });
    expect(first.tasks).toHaveLength(3);
    const before = await h.counts();
    const made = await leaseRows(h);
    expect(made.map((l) => l.requestId)).toEqual([requestId, requestId, requestId]);

    const again = await car.client.node.lease.mutate({ max: 3, requestId });
    expect(ids(again.tasks)).toEqual(ids(first.tasks));
    expect(again.tasks.map((t) => t.taskId).sort()).toEqual(
      first.tasks.map((t) => t.taskId).sort(),
    );
    expect(again.tasks[0]).toMatchObject({
      modelId: "tiny-mlp",
      modelSha256: first.tasks[0]!.modelSha256,
      modelUrl: first.tasks[0]!.modelUrl,
    });
    expect(again.tasks.map((t) => t.input)).toEqual(
      expect.arrayContaining(first.tasks.map((t) => t.input)),
    );
    expect(again.reason).toBeNull();
    expect(await h.counts()).toEqual(before);

    // A new requestId is a new call: new work.
    const next = await car.client.node.lease.mutate({ max: 3, requestId: randomUUID() });
    expect(next.tasks).toHaveLength(3);
    expect(ids(next.tasks).filter((id) => ids(first.tasks).includes(id))).toEqual([]);
    // And without one, leasing works as it always did (nothing stamped).
    await submitJob(h, 1);
    const plain = await car.client.node.lease.mutate({ max: 3 });
    expect(plain.tasks).toHaveLength(1);
    const [row] = await h.t.db.select().from(leases).where(eq(leases.id, plain.tasks[0]!.leaseId));
    expect(row!.requestId).toBeNull();
  });

  it("gives back only the leases still active, with their current expiry", async () => {
    const h = await setup(database.get());
    const car = await h.enrollCar();
    await submitJob(h, 2);
    const requestId = randomUUID();
    const first = await car.client.node.lease.mutate({ max: 2, requestId });
    expect(first.tasks).toHaveLength(2);
    const [done, kept] = first.tasks;
    await car.client.node.submit.mutate({
      leaseId: done!.leaseId,
      output: runTiny((done!.input as { x: { data: number[] } }).x.data),
      durationMs: 3,
      backend: "native",
    });
    h.clock.advance(30);
    const { renewed } = await car.client.node.renew.mutate({ leaseIds: [kept!.leaseId] });

    const again = await car.client.node.lease.mutate({ max: 2, requestId });
    expect(again.tasks.map((t) => t.leaseId)).toEqual([kept!.leaseId]);
    expect(again.tasks[0]!.expiresAt).toBe(renewed[0]!.expiresAt);
    expect(again.tasks[0]!.expiresAt).not.toBe(kept!.expiresAt);

    // Once every lease of the call has ended, a retry gets nothing, and claims nothing either.
    await submitJob(h, 1);
    await car.client.node.release.mutate();
    const late = await car.client.node.lease.mutate({ max: 2, requestId });
    expect(late).toEqual({ tasks: [], reason: "leases-ended" });
    const open = await h.t.db.select().from(workUnits).where(eq(workUnits.status, "open"));
    expect(open.length).toBeGreaterThan(0);
  });

  it("answers a retry whatever the car's state is now (its region drained since)", async () => {
    const h = await setup(database.get());
    const car = await h.enrollCar();
    await submitJob(h, 1);
    const requestId = randomUUID();
    const first = await car.client.node.lease.mutate({ max: 1, requestId });
    expect(first.tasks).toHaveLength(1);
    const { regionId } = await h.operator.operator.cars.get.query({ carId: car.carId });
    await h.operator.operator.regions.drain.mutate({ id: regionId });
    expect(await car.client.node.lease.mutate({ max: 1 })).toMatchObject({
      tasks: [],
      reason: "region-drained",
    });
    const again = await car.client.node.lease.mutate({ max: 1, requestId });
    expect(ids(again.tasks)).toEqual(ids(first.tasks));
  });

  it("never hands one car's leases to another car that sends the same requestId", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    const b = await h.enrollCar();
    await submitJob(h, 4);
    const requestId = randomUUID();
    const ofA = await a.client.node.lease.mutate({ max: 2, requestId });
    expect(ofA.tasks).toHaveLength(2);
    const ofB = await b.client.node.lease.mutate({ max: 2, requestId });
    expect(ofB.tasks).toHaveLength(2);
    expect(ids(ofB.tasks).filter((id) => ids(ofA.tasks).includes(id))).toEqual([]);
    const rows = await leaseRows(h);
    expect(
      rows
        .filter((l) => l.carId === b.carId)
        .map((l) => l.id)
        .sort(),
    ).toEqual(ids(ofB.tasks));
    // Each car's retry still finds its own.
    expect(ids((await a.client.node.lease.mutate({ max: 2, requestId })).tasks)).toEqual(
      ids(ofA.tasks),
    );
  });

  it("lets only one of two racing calls with one requestId claim, on two instances", async () => {
    const h = await setup(database.get());
    const other = secondDb(h.t);
    const second = await startInstance(other.db, h.clock, h.api.deps.config);
    try {
      const cars = await Promise.all(Array.from({ length: 6 }, () => h.enrollCar()));
      await submitJob(h, 6 * ROUNDS * 3);
      // Each car sends one requestId to both instances at once, round after round (a retry racing its
      // original).
      for (let round = 0; round < ROUNDS; round++) {
        const answers = await Promise.all(
          cars.map(async (car) => {
            const requestId = randomUUID();
            const onSecond = second.client(car.credential);
            const [x, y] = await Promise.all([
              car.client.node.lease.mutate({ max: 3, requestId }),
              onSecond.node.lease.mutate({ max: 3, requestId }),
            ]);
            return { car, requestId, x, y };
          }),
        );
        const rows = await leaseRows(h);
        // Under contention a call may get less than it asked for (rows others hold are
        // skipped), but the fleet got work.
        expect(
          answers.reduce((n, a) => n + a.x.tasks.length + a.y.tasks.length, 0),
        ).toBeGreaterThan(0);
        for (const { car, requestId, x, y } of answers) {
          // The one that came second found what the first made; or the first found no work
          // (rows the other cars held) and the second claimed. Never two claims.
          const made = rows.filter((l) => l.carId === car.carId && l.requestId === requestId);
          const claimed = [x, y].filter((a) => a.tasks.length > 0).map((a) => ids(a.tasks));
          for (const c of claimed) expect(c).toEqual(made.map((l) => l.id).sort());
        }
      }
    } finally {
      await second.close();
      await other.end();
    }
  });

  it("stamps a canary with the requestId, and a retry gets it back", async () => {
    const h = await setup(database.get(), {
      verification: { ...DEFAULT_VERIFICATION, canaryRate: 1 },
    });
    // Two cars decide a task (canaries come only from answers a quorum gave, a trusted car in it).
    await submitJob(h, 1, 2);
    let task: { taskId: string } | undefined;
    const deciders = [await h.enrollCar(), await h.enrollCar()];
    await h.t.db
      .update(cars)
      .set({ validResults: 10, consecutiveValid: 10 })
      .where(eq(cars.id, deciders[0]!.carId));
    for (const decider of deciders) {
      const t = (await decider.client.node.lease.mutate({})).tasks[0]!;
      await decider.client.node.submit.mutate({
        leaseId: t.leaseId,
        output: runTiny((t.input as { x: { data: number[] } }).x.data),
        durationMs: 5,
        backend: "native",
      });
      task ??= t;
    }
    const car = await h.enrollCar();
    const requestId = randomUUID();
    const got = await car.client.node.lease.mutate({ max: 2, requestId });
    expect(got.tasks.map((t) => t.taskId)).toEqual([task!.taskId]);
    const [row] = await h.t.db.select().from(leases).where(eq(leases.id, got.tasks[0]!.leaseId));
    expect(row!.requestId).toBe(requestId);
    const before = await h.counts();
    expect(ids((await car.client.node.lease.mutate({ max: 2, requestId })).tasks)).toEqual(
      ids(got.tasks),
    );
    expect(await h.counts()).toEqual(before);
  });

  it("refuses a requestId that is not a uuid, naming the field", async () => {
    const h = await setup(database.get());
    const car = await h.enrollCar();
    await submitJob(h, 1);
    const before = await h.counts();
    for (const requestId of ["retry-1", "", "00000000-0000-0000-0000-00000000000g"]) {
      const got = await failure(car.client.node.lease.mutate({ max: 1, requestId }));
      expect(got.code).toBe("BAD_REQUEST");
      expect(got.message).toMatch(/^requestId/);
      expect(got.issues?.map((i) => i.path)).toEqual(["requestId"]);
    }
    // As HTTP sees it: 400, and the body names the field.
    const raw = await fetch(`${h.api.url}/node.lease`, {
      method: "POST",
      headers: { authorization: `Bearer ${car.credential}`, "content-type": "application/json" },
      body: JSON.stringify({ max: 1, requestId: "retry-1" }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.text()).toContain("requestId");
    expect(await h.counts()).toEqual(before);
  });
});
