// Many cars at once against two server instances on one database: every unit goes to one car at
// a time, replicas to distinct cars and owners, every task is decided once, the job completes
// once, and the ledger holds exactly one entry per replica.
import { jobs, leases, ledgerEntries, results, tasks, verifications } from "@nightshift/db/schema";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runTiny } from "../src/seed";
import { sweepExpired } from "../src/sweeper";
import {
  STALL_MS,
  tinyInput,
  secondDb,
  setup,
  startInstance,
  type TestCar,
  testDatabase,
} from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

/** Map.groupBy, which Node 20 lacks. */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

const CARS = 40;
const TASKS = 200;
const REPLICAS = 2;

it(`${CARS} cars on two instances finish a ${TASKS}-task job with ${REPLICAS} replicas exactly once`, async () => {
  const h = await setup(database.get());
  const other = secondDb(h.t);
  const second = await startInstance(other.db, h.clock, h.api.deps.config);
  try {
    const cars: TestCar[] = [];
    for (let i = 0; i < CARS; i++)
      cars.push(await h.enrollCar({ instance: i % 2 ? second : h.api, batch: true }));
    const inputs = Array.from({ length: TASKS }, (_, i) => [i, i + 1, -i, 0.5 * i]);
    const { jobId } = await h.tenant().tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: inputs.map(tinyInput),
      replication: REPLICAS,
    });

    let done = false;
    const batched = new Set(cars.filter((_, i) => i % 4 < 2));
    const work = async (car: TestCar) => {
      while (!done) {
        const { tasks: got } = await car.client.node.lease.mutate({ max: 3 });
        if (got.length === 0) {
          // Nothing for this car now: others hold the rest, or the job is finished. (The pause
          // only paces the asking; the watcher below decides when the run is stuck.)
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const outputs = got.map((t) => ({
          leaseId: t.leaseId,
          output: runTiny((t.input as { x: { data: number[] } }).x.data),
          durationMs: 3,
          backend: "native" as const,
        }));
        // Half the cars send their results one per call, concurrently; the others in one call.
        if (batched.has(car)) await car.client.node.submitMany.mutate({ results: outputs });
        else await Promise.all(outputs.map((r) => car.client.node.submit.mutate(r)));
      }
    };
    // Ends the run when the job is done, and fails it when no task has been validated for
    // STALL_MS: a progress watchdog, not a time budget, so a slow machine finishes late and
    // passes. Who gets the last units is a race (a car may ask in vain many times), so no car is
    // held to a count of its own.
    const watcher = async () => {
      let validated = -1;
      let changedAt = performance.now();
      try {
        while (!done) {
          const job = await h.tenant().tenant.jobs.get.query({ jobId });
          if (job.status !== "running" && job.status !== "queued") return;
          if (job.tasksValidated !== validated)
            [validated, changedAt] = [job.tasksValidated, performance.now()];
          else if (performance.now() - changedAt > STALL_MS)
            throw new Error(`no task validated for ${STALL_MS / 1000} s (${validated} so far)`);
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        done = true;
      }
    };
    const started = performance.now();
    await Promise.all([watcher(), ...cars.map(work)]);
    console.log(
      `${TASKS * REPLICAS} replicas by ${CARS} cars in ${Math.round(performance.now() - started)} ms`,
    );

    const db = h.t.db;
    const [job] = await db.select().from(jobs);
    expect(job).toMatchObject({ status: "completed", tasksValidated: TASKS, tasksFailed: 0 });

    // Every task decided once, valid, with one verification row.
    const allTasks = await db.select().from(tasks);
    expect(allTasks.filter((t) => t.status === "valid")).toHaveLength(TASKS);
    expect(await db.select().from(verifications)).toHaveLength(TASKS);

    // No unit ever held by two leases at once; a task's replicas on distinct cars and owners.
    const all = await db.select().from(leases);
    const byUnit = groupBy(all, (l) => l.workUnitId);
    for (const held of byUnit.values()) {
      const spans = held.map(
        (l) => [l.leasedAt.getTime(), (l.endedAt ?? new Date(8.64e15)).getTime()] as const,
      );
      spans.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++)
        expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    }
    for (const held of groupBy(all, (l) => l.taskId).values()) {
      expect(new Set(held.map((l) => l.carId)).size).toBe(held.length);
      expect(new Set(held.map((l) => l.ownerId)).size).toBe(held.length);
    }

    // Exactly-once accounting: one result and one paid ledger entry per replica.
    expect(await db.select().from(results)).toHaveLength(TASKS * REPLICAS);
    const ledger = await db.select().from(ledgerEntries);
    expect(ledger).toHaveLength(TASKS * REPLICAS);
    expect(ledger.every((e) => e.validated && e.payoutUsd === e.payoutOwedUsd)).toBe(true);
    const summary = await h.operator.operator.ledger.summary.query({ by: "tenant" });
    expect(summary.total).toMatchObject({ entries: TASKS * REPLICAS, validated: TASKS * REPLICAS });
    expect(await sweepExpired(h.api.deps)).toEqual({ expiredLeases: 0, silentCars: 0 });
  } finally {
    await second.close();
    await other.end();
  }
});
