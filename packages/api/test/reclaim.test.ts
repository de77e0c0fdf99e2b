// Reclaiming borrowed capacity in the real server: a lender's demand comes back while a borrower
// holds every car, and the sweep preempts the borrower's leases in core's order; the lender's
// work goes to the freed car, the preempted task is done by another car, and nothing is paid
// twice. And no preemption when the needy tenant has nothing waiting or a car is free for it.
import { leases, ledgerEntries, results, tasks, workUnits } from "@nightshift/db/schema";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny, TEST_MODEL_ID } from "../src/seed";
import { reclaimForGuarantees } from "../src/services/reclaim";
import {
  type Harness,
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

type Leased = Awaited<ReturnType<TestCar["client"]["node"]["lease"]["mutate"]>>["tasks"][number];

/**
 * The lender (acme-vision) is guaranteed half the fleet and lends all it leaves idle; the
 * borrower (mapworks) a quarter, and borrows without limit; lab-batch a quarter it never lends.
 */
async function quotas(h: Harness): Promise<void> {
  const update = h.operator.operator.tenants.update;
  await update.mutate({ id: "acme-vision", quotaShare: 0.5, lendingLimitShare: null });
  await update.mutate({ id: "mapworks", quotaShare: 0.25, borrowingLimitShare: null });
  await update.mutate({ id: "lab-batch", quotaShare: 0.25, lendingLimitShare: 0 });
}

async function submit(h: Harness, tenantId: string, n: number, priority: number, k: number) {
  const { jobId } = await h.tenant(tenantId).tenant.jobs.submit.mutate({
    modelId: TEST_MODEL_ID,
    inputs: Array.from({ length: n }, (_, i) => tinyInput([k, i, 1, 2])),
    replication: 1,
    priority,
  });
  return jobId;
}

async function leaseOne(car: TestCar): Promise<Leased> {
  const { tasks: got, reason } = await car.client.node.lease.mutate({ max: 1 });
  expect(got, `no task: ${reason}`).toHaveLength(1);
  return got[0]!;
}

function answer(car: TestCar, task: Leased) {
  const x = (task.input as { x: { data: number[] } }).x.data;
  return car.client.node.submit.mutate({
    leaseId: task.leaseId,
    output: runTiny(x),
    durationMs: 5,
    backend: "wasm",
  });
}

/**
 * Four cars, all borrowed: two hold mapworks's priority-0 work (leased first), two its
 * priority-5 work (leased after). Returns the cars and their leases, in lease order.
 */
async function borrowedFleet(h: Harness): Promise<{ cars: TestCar[]; held: Leased[] }> {
  await quotas(h);
  const cars: TestCar[] = [];
  for (let i = 0; i < 4; i++) cars.push(await h.enrollCar());
  await submit(h, "mapworks", 2, 0, 1);
  const held = [await leaseOne(cars[0]!), await leaseOne(cars[1]!)];
  await submit(h, "mapworks", 4, 5, 2);
  held.push(await leaseOne(cars[2]!), await leaseOne(cars[3]!));
  return { cars, held };
}

async function leaseRows(h: Harness, ids: string[]) {
  return h.t.db
    .select({ id: leases.id, status: leases.status, endReason: leases.endReason })
    .from(leases)
    .where(inArray(leases.id, ids));
}

describe("reclaiming borrowed capacity", () => {
  it("preempts the borrower's newest low-priority lease for the lender; the work is done and paid once", async () => {
    const h = await setup(database.get());
    const { cars, held } = await borrowedFleet(h);
    // The lender has no work: nothing is owed, nothing preempted.
    expect(await reclaimForGuarantees(h.api.deps)).toEqual({
      preemptedLeases: 0,
      preemptedCars: 0,
    });

    const lenderJob = await submit(h, "acme-vision", 1, 0, 3);
    // Two instances sweep at once: one lease is preempted, once. Core's order: the lowest
    // priority first (cars 0 and 1, not the newer priority-5 cars 2 and 3), and in it the most
    // recently leased (car 1).
    const other = secondDb(h.t);
    const second = await startInstance(other.db, h.clock, h.api.deps.config);
    try {
      const sweeps = await Promise.all([
        reclaimForGuarantees(h.api.deps),
        reclaimForGuarantees(second.deps),
      ]);
      expect(sweeps.reduce((n, s) => n + s.preemptedLeases, 0)).toBe(1);
    } finally {
      await second.close();
      await other.end();
    }
    const victim = held[1]!;
    const rows = await leaseRows(
      h,
      held.map((l) => l.leaseId),
    );
    expect(rows.find((r) => r.id === victim.leaseId)).toMatchObject({
      status: "preempted",
      endReason: "preempted",
    });
    expect(rows.filter((r) => r.status === "active")).toHaveLength(3);
    // The work is queued again; the task is untouched.
    const [unit] = await h.t.db
      .select({ status: workUnits.status })
      .from(workUnits)
      .where(eq(workUnits.taskId, victim.taskId));
    expect(unit?.status).toBe("open");
    const [task] = await h.t.db
      .select({ status: tasks.status, attempt: tasks.attempt })
      .from(tasks)
      .where(eq(tasks.id, victim.taskId));
    expect(task).toEqual({ status: "open", attempt: 0 });

    // The preempted car learns it at its renew, and its late result is refused, unrecorded.
    const renew = await cars[1]!.client.node.renew.mutate({ leaseIds: [victim.leaseId] });
    expect(renew.lost).toEqual([victim.leaseId]);
    expect(await answer(cars[1]!, victim)).toMatchObject({
      accepted: false,
      verdict: null,
      reason: "lease preempted",
    });

    // The freed car gets the lender's work; nothing more is due.
    const lenders = await leaseOne(cars[1]!);
    expect(lenders.jobId).toBe(lenderJob);
    expect((await reclaimForGuarantees(h.api.deps)).preemptedLeases).toBe(0);

    // Every car finishes what it holds, then what is left (the preempted task with it).
    for (const [i, l] of [held[0]!, held[2]!, held[3]!].entries()) {
      expect(await answer(cars[[0, 2, 3][i]!]!, l)).toMatchObject({ accepted: true });
    }
    expect(await answer(cars[1]!, lenders)).toMatchObject({ accepted: true, verdict: "valid" });
    let redone: { car: TestCar; task: Leased } | null = null;
    for (let round = 0; round < 10; round++) {
      let got = 0;
      for (const car of cars) {
        const { tasks: more } = await car.client.node.lease.mutate({ max: 4 });
        for (const t of more) {
          got++;
          if (t.taskId === victim.taskId) redone = { car, task: t };
          expect(await answer(car, t)).toMatchObject({ accepted: true, verdict: "valid" });
        }
      }
      if (got === 0) break;
    }
    expect(redone?.car.carId).toBeDefined();
    expect(redone?.car.carId).not.toBe(cars[1]!.carId);

    const all = await h.t.db.select({ status: tasks.status }).from(tasks);
    expect(all).toHaveLength(7);
    expect(all.every((t) => t.status === "valid")).toBe(true);
    // The preempted task: one result, one ledger entry, paid, none of it the preempted lease's.
    const recorded = await h.t.db.select().from(results).where(eq(results.taskId, victim.taskId));
    expect(recorded.map((r) => r.leaseId)).toEqual([redone!.task.leaseId]);
    const paid = await h.t.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.taskId, victim.taskId));
    expect(paid).toHaveLength(1);
    expect(paid[0]).toMatchObject({ leaseId: redone!.task.leaseId, validated: true });
    expect(paid[0]!.payoutUsd).toBeGreaterThan(0);
    // One ledger entry per task over the whole run: nothing paid twice.
    expect(await h.t.db.select().from(ledgerEntries)).toHaveLength(7);

    // The lease's end is shown with its reason.
    const history = await h.operator.operator.cars.tasks.query({ carId: cars[1]!.carId });
    expect(history.items.find((t) => t.leaseId === victim.leaseId)).toMatchObject({
      status: "preempted",
      endReason: "preempted",
    });
  });

  it("preempts nothing for a tenant below its guarantee with no work waiting", async () => {
    const h = await setup(database.get());
    await quotas(h);
    const cars: TestCar[] = [];
    for (let i = 0; i < 4; i++) cars.push(await h.enrollCar());
    // The lender's three tasks on one car: it is guaranteed two cars, holds one, and waits for
    // nothing. The borrower holds the other three cars, one more than it is entitled to.
    await submit(h, "acme-vision", 3, 0, 1);
    expect((await cars[0]!.client.node.lease.mutate({ max: 3 })).tasks).toHaveLength(3);
    await submit(h, "mapworks", 10, 0, 2);
    for (const car of cars.slice(1)) await leaseOne(car);

    expect(await reclaimForGuarantees(h.api.deps)).toEqual({
      preemptedLeases: 0,
      preemptedCars: 0,
    });
    const active = await h.t.db.select().from(leases).where(eq(leases.status, "active"));
    expect(active).toHaveLength(6);
  });

  it("preempts nothing while a car is free (online, eligible, holding nothing) for the lender", async () => {
    const h = await setup(database.get());
    await borrowedFleet(h);
    await submit(h, "acme-vision", 1, 0, 3);
    const free = await h.enrollCar();
    expect(await reclaimForGuarantees(h.api.deps)).toEqual({
      preemptedLeases: 0,
      preemptedCars: 0,
    });

    // The free car takes the lender's work; still nothing to preempt.
    expect((await leaseOne(free)).taskId).toBeDefined();
    expect((await reclaimForGuarantees(h.api.deps)).preemptedLeases).toBe(0);
    const active = await h.t.db.select().from(leases).where(eq(leases.status, "active"));
    expect(active).toHaveLength(5);
  });
});
