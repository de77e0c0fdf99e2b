// The work path end to end over HTTP: enroll → heartbeat → lease → submit → verify → ledger →
// job result, and what happens when cars retry, drive off or go silent.
import { DEFAULT_VERIFICATION } from "@nightshift/core/verify";
import {
  cars,
  jobs,
  leases,
  ledgerEntries,
  owners,
  results,
  tasks,
  workUnits,
} from "@nightshift/db/schema";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny } from "../src/seed";
import { endOverdueJobs, settleCanaries, sweepExpired } from "../src/sweeper";
import {
  failure,
  type Harness,
  PARKED,
  setup,
  type TestCar,
  testDatabase,
  tinyInput,
} from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

async function submitJob(h: Harness, inputs: number[][], replication: number | "auto") {
  return h.tenant().tenant.jobs.submit.mutate({
    modelId: "tiny-mlp",
    inputs: inputs.map(tinyInput),
    replication,
  });
}

function xOf(input: unknown): number[] {
  return (input as { x: { data: number[] } }).x.data;
}

/** A car hands back `output` for its lease (5 ms on WASM). */
function answer(car: TestCar, leaseId: string, output: number[]) {
  return car.client.node.submit.mutate({ leaseId, output, durationMs: 5, backend: "wasm" });
}

/** The car has earned trust: ten checked results in a row. */
async function trust(h: Harness, car: TestCar) {
  await h.t.db
    .update(cars)
    .set({ validResults: 10, consecutiveValid: 10 })
    .where(eq(cars.id, car.carId));
}

/** A one-task job the tenant replicated on two cars, which both answer right: its lease. */
async function validateOnTwo(h: Harness, pair: [TestCar, TestCar], x: number[]) {
  await submitJob(h, [x], 2);
  let first: Awaited<ReturnType<TestCar["client"]["node"]["lease"]["mutate"]>>["tasks"][number];
  for (const car of pair) {
    const t = (await car.client.node.lease.mutate({})).tasks[0]!;
    first ??= t;
    await car.client.node.submit.mutate({
      leaseId: t.leaseId,
      output: runTiny(xOf(t.input)),
      durationMs: 5,
      backend: "native",
    });
  }
  return first!;
}

describe("the work path", () => {
  it("validates agreeing replicas on two owners' cars, then pays them and completes the job", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    const b = await h.enrollCar();
    expect(a.ownerId).not.toBe(b.ownerId);
    const { jobId } = await submitJob(h, [[1, 2, 3, 4]], 2);

    const leasedA = await a.client.node.lease.mutate({ max: 4 });
    expect(leasedA.tasks).toHaveLength(1);
    const taskA = leasedA.tasks[0]!;
    expect(taskA.modelId).toBe("tiny-mlp");
    expect(taskA.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    // The task's second replica exists now, but never for the car (or owner) holding the first.
    expect((await a.client.node.lease.mutate({ max: 4 })).tasks).toEqual([]);

    const output = runTiny(xOf(taskA.input));
    h.clock.advance(2);
    const first = await a.client.node.submit.mutate({
      leaseId: taskA.leaseId,
      output,
      durationMs: 1500,
      backend: "wasm",
    });
    expect(first).toMatchObject({ accepted: true, verdict: "pending", duplicate: false });
    const [owed] = await h.t.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.leaseId, taskA.leaseId));
    expect(owed).toMatchObject({ validated: false, payoutUsd: 0 });
    expect(owed!.payoutOwedUsd).toBeGreaterThan(0);
    expect(owed!.energyKWh).toBeGreaterThan(0);
    expect((await h.tenant().tenant.jobs.get.query({ jobId })).status).toBe("running");

    const leasedB = await b.client.node.lease.mutate({ max: 4 });
    expect(leasedB.tasks.map((t) => t.taskId)).toEqual([taskA.taskId]);
    const second = await b.client.node.submit.mutate({
      leaseId: leasedB.tasks[0]!.leaseId,
      output: output.map((v) => v + 1e-6), // within tolerance: another backend's last bits
      durationMs: 1200,
      backend: "webgpu",
    });
    expect(second).toMatchObject({ accepted: true, verdict: "valid" });

    const ledger = await h.t.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.taskId, taskA.taskId));
    expect(ledger).toHaveLength(2);
    for (const entry of ledger) {
      expect(entry.validated).toBe(true);
      expect(entry.payoutUsd).toBe(entry.payoutOwedUsd);
    }
    const job = await h.tenant().tenant.jobs.get.query({ jobId });
    expect(job).toMatchObject({ status: "completed", tasksValidated: 1, progress: 1 });
    const page = await h.tenant().tenant.jobs.results.query({ jobId });
    expect(page.items).toEqual([
      {
        seq: 0,
        taskId: taskA.taskId,
        status: "valid",
        output,
        // tiny-mlp's post-processing: the raw tensor, previewed.
        interpretation: { kind: "tensor", values: 4, preview: output },
        image: null,
        error: null,
      },
    ]);
    expect(page.nextCursor).toBeNull();

    const car = await h.operator.operator.cars.get.query({ carId: a.carId });
    expect(car).toMatchObject({ validResults: 1, consecutiveValid: 1, activeLeases: 0 });
    const byOwner = await h.operator.operator.ledger.summary.query({ by: "owner" });
    expect(byOwner.rows.map((r) => r.key).sort()).toEqual([a.ownerId, b.ownerId].sort());
    expect(byOwner.total.payoutUsd).toBeCloseTo(
      ledger.reduce((s, e) => s + e.payoutUsd, 0),
      12,
    );
  });

  it("lets the owner set limits and see the car's earnings", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    await submitJob(h, [[1, 2, 3, 4]], 1);
    const policy = {
      optedIn: false,
      allowedHours: { startHour: 0, endHour: 24 },
      minDepartureChargePct: 50,
      reservePct: 20,
    };
    expect((await a.client.node.setPolicy.mutate(policy)).policy).toEqual(policy);
    expect(await a.client.node.lease.mutate({})).toMatchObject({ tasks: [], reason: "opted-out" });
    await a.client.node.setPolicy.mutate({ ...policy, optedIn: true });
    const [task] = (await a.client.node.lease.mutate({})).tasks;
    h.clock.advance(1);
    await a.client.node.submit.mutate({
      leaseId: task!.leaseId,
      output: runTiny(xOf(task!.input)),
      durationMs: 900,
      backend: "wasm",
    });
    const me = await a.client.node.me.query();
    expect(me.earnings).toMatchObject({ results: 1, validated: 1 });
    expect(me.earnings.payoutUsd).toBeGreaterThan(0);
    expect(me.earnings.payoutUsd).toBe(me.earnings.payoutOwedUsd);
  });

  it("takes several results in one call: all or nothing, each recorded and paid once", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    const b = await h.enrollCar();
    const { jobId } = await submitJob(
      h,
      [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
      ],
      1,
    );
    const leased = (await a.client.node.lease.mutate({ max: 3 })).tasks;
    expect(leased).toHaveLength(3);
    const results3 = leased.map((t) => ({
      leaseId: t.leaseId,
      output: runTiny(xOf(t.input)),
      durationMs: 10,
      backend: "native" as const,
    }));

    // One malformed result, or a lease that is not the car's, refuses the whole call.
    const malformed = results3.map((r, i) => (i === 2 ? { ...r, output: [1, 2] } : r));
    expect(await failure(a.client.node.submitMany.mutate({ results: malformed }))).toMatchObject({
      code: "BAD_REQUEST",
      issues: [{ path: "results[2].output" }],
    });
    expect(await failure(b.client.node.submitMany.mutate({ results: results3 }))).toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringMatching(/^results\[0\]\.leaseId/),
    });
    expect(await h.counts()).toMatchObject({ results: 0, ledger_entries: 0, verifications: 0 });

    const first = await a.client.node.submitMany.mutate({ results: results3 });
    expect(first.results.map((r) => r.leaseId)).toEqual(results3.map((r) => r.leaseId));
    for (const r of first.results)
      expect(r).toMatchObject({ accepted: true, verdict: "valid", duplicate: false });
    const again = await a.client.node.submitMany.mutate({ results: results3 });
    for (const r of again.results)
      expect(r).toMatchObject({ accepted: true, verdict: "valid", duplicate: true });

    expect(await h.counts()).toMatchObject({ results: 3, ledger_entries: 3, verifications: 3 });
    const ledger = await h.t.db.select().from(ledgerEntries);
    expect(ledger.every((e) => e.validated && e.payoutUsd === e.payoutOwedUsd)).toBe(true);
    expect(await h.tenant().tenant.jobs.get.query({ jobId })).toMatchObject({
      status: "completed",
      tasksValidated: 3,
    });
  });

  it("treats a retried submit as the same submit: one result, one ledger entry", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    await submitJob(h, [[1, 0, 0, 0]], 1);
    const [task] = (await a.client.node.lease.mutate({ max: 1 })).tasks;
    const call = {
      leaseId: task!.leaseId,
      output: runTiny(xOf(task!.input)),
      durationMs: 10,
      backend: "native" as const,
    };
    const answers = await Promise.all([
      a.client.node.submit.mutate(call),
      a.client.node.submit.mutate(call),
    ]);
    const again = await a.client.node.submit.mutate(call);
    expect(answers.map((x) => x.duplicate).sort()).toEqual([false, true]);
    for (const answer of [...answers, again])
      expect(answer).toMatchObject({ accepted: true, verdict: "valid" });
    expect(
      await h.t.db.select().from(results).where(eq(results.leaseId, task!.leaseId)),
    ).toHaveLength(1);
    expect(
      await h.t.db.select().from(ledgerEntries).where(eq(ledgerEntries.leaseId, task!.leaseId)),
    ).toHaveLength(1);
    const [job] = await h.t.db.select().from(jobs);
    expect(job).toMatchObject({ tasksValidated: 1, status: "completed" });
  });

  it("settles disagreeing replicas with a third car and pays only the agreeing ones", async () => {
    const h = await setup(database.get());
    const [a, b, c] = [await h.enrollCar(), await h.enrollCar(), await h.enrollCar()];
    await submitJob(h, [[1, 1, 1, 1]], 2);
    const ta = (await a.client.node.lease.mutate({})).tasks[0]!;
    const tb = (await b.client.node.lease.mutate({})).tasks[0]!;
    const right = runTiny(xOf(ta.input));
    const wrong = right.map((v) => v + 1);
    expect(
      (
        await a.client.node.submit.mutate({
          leaseId: ta.leaseId,
          output: right,
          durationMs: 5,
          backend: "wasm",
        })
      ).verdict,
    ).toBe("pending");
    expect(
      (
        await b.client.node.submit.mutate({
          leaseId: tb.leaseId,
          output: wrong,
          durationMs: 5,
          backend: "wasm",
        })
      ).verdict,
    ).toBe("pending");
    // No quorum yet: the task asks for one more replica, which only the third owner may take.
    const tc = (await c.client.node.lease.mutate({})).tasks[0]!;
    expect(tc.taskId).toBe(ta.taskId);
    expect(
      (
        await c.client.node.submit.mutate({
          leaseId: tc.leaseId,
          output: right,
          durationMs: 5,
          backend: "wasm",
        })
      ).verdict,
    ).toBe("valid");
    const paid = await h.t.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.taskId, ta.taskId));
    expect(Object.fromEntries(paid.map((e) => [e.carId, e.validated]))).toEqual({
      [a.carId]: true,
      [b.carId]: false,
      [c.carId]: true,
    });
    const cheat = await h.operator.operator.cars.get.query({ carId: b.carId });
    expect(cheat).toMatchObject({ invalidResults: 1, consecutiveValid: 0 });
    // A retried submit of the losing replica reports its verdict and still pays nothing.
    expect(
      await b.client.node.submit.mutate({
        leaseId: tb.leaseId,
        output: wrong,
        durationMs: 5,
        backend: "wasm",
      }),
    ).toMatchObject({
      verdict: "invalid",
      duplicate: true,
    });
  });

  it("asks a third car when two cars nobody trusts agree (auto replication)", async () => {
    const h = await setup(database.get());
    const [a, b, c] = [await h.enrollCar(), await h.enrollCar(), await h.enrollCar()];
    const { jobId } = await submitJob(h, [[2, 2, 2, 2]], "auto");
    const ta = (await a.client.node.lease.mutate({})).tasks[0]!;
    const tb = (await b.client.node.lease.mutate({})).tasks[0]!;
    expect(tb.taskId).toBe(ta.taskId);
    const right = runTiny(xOf(ta.input));
    const send = (car: TestCar, leaseId: string) => answer(car, leaseId, right);
    expect((await send(a, ta.leaseId)).verdict).toBe("pending");
    // Two new cars that agree could be two colluders: one more independent car must agree.
    expect((await send(b, tb.leaseId)).verdict).toBe("pending");
    expect((await h.tenant().tenant.jobs.get.query({ jobId })).status).toBe("running");
    const tc = (await c.client.node.lease.mutate({})).tasks[0]!;
    expect(tc.taskId).toBe(ta.taskId);
    expect((await send(c, tc.leaseId)).verdict).toBe("valid");
    expect((await h.tenant().tenant.jobs.get.query({ jobId })).status).toBe("completed");
    const paid = await h.t.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.taskId, ta.taskId));
    expect(paid.map((e) => e.validated)).toEqual([true, true, true]);
  });

  it("counts strangers (owners nobody vouched for) as one: their agreeing lie decides nothing", async () => {
    const h = await setup(database.get());
    // The issue's break: two cars from the public code agreed on a lie and a replication 2 job
    // completed with it.
    const sybils = [await h.enrollCar(), await h.enrollCar()];
    const honest = [await h.enrollCar(), await h.enrollCar()];
    await h.t.db
      .update(owners)
      .set({ vouched: false })
      .where(
        inArray(
          owners.id,
          sybils.map((c) => c.ownerId),
        ),
      );
    const { jobId } = await submitJob(h, [[6, 6, 6, 6]], 2);
    const lie = (input: unknown) => runTiny(xOf(input)).map((v) => v + 1);
    const leased = [];
    for (const car of sybils) {
      const t = (await car.client.node.lease.mutate({})).tasks[0]!;
      leased.push(t);
      expect((await answer(car, t.leaseId, lie(t.input))).verdict).toBe("pending");
    }
    expect((await h.tenant().tenant.jobs.get.query({ jobId })).status).toBe("running");
    // Two vouched owners outvote them.
    for (const car of honest) {
      const t = (await car.client.node.lease.mutate({})).tasks[0]!;
      expect(t?.taskId).toBe(leased[0]!.taskId);
      await answer(car, t.leaseId, runTiny(xOf(t.input)));
    }
    const results = await h.tenant().tenant.jobs.results.query({ jobId });
    expect(results.items[0]).toMatchObject({
      status: "valid",
      output: runTiny(xOf(leased[0]!.input)),
    });
    for (const car of sybils)
      expect(await h.operator.operator.cars.get.query({ carId: car.carId })).toMatchObject({
        invalidResults: 1,
      });
  });

  it("runs a caught car's unchecked answers again on other cars", async () => {
    // No spot checks: a trusted car's auto work runs alone.
    const h = await setup(database.get(), {
      verification: {
        ...DEFAULT_VERIFICATION,
        canaryRate: 0,
        trustedSpotCheckRate: 0,
        spotCheckNewTrust: 0,
      },
    });
    const [sleeper, a, b, c] = [
      await h.enrollCar(),
      await h.enrollCar(),
      await h.enrollCar(),
      await h.enrollCar(),
    ];
    // The sleeper has earned trust (ten checked results in a row).
    await h.t.db
      .update(cars)
      .set({ validResults: 10, consecutiveValid: 10 })
      .where(eq(cars.id, sleeper.carId));
    const lieAbout = (input: unknown) => runTiny(xOf(input)).map((v) => v + 1);

    // Trusted, it runs a task alone and lies: nobody checks, the lie is accepted and paid.
    const first = await submitJob(h, [[3, 1, 4, 1]], "auto");
    const alone = (await sleeper.client.node.lease.mutate({})).tasks[0]!;
    expect(await answer(sleeper, alone.leaseId, lieAbout(alone.input))).toMatchObject({
      verdict: "valid",
    });
    expect((await h.tenant().tenant.jobs.get.query({ jobId: first.jobId })).status).toBe(
      "completed",
    );

    // A tenant that asked for one replica asked for no check: that answer stands, whatever.
    const unchecked = await submitJob(h, [[1, 6, 1, 8]], 1);
    const asked = (await sleeper.client.node.lease.mutate({})).tasks[0]!;
    expect(asked.jobId).toBe(unchecked.jobId);
    await answer(sleeper, asked.leaseId, lieAbout(asked.input));

    // Then it lies on a task the tenant replicated: two honest cars outvote it.
    await submitJob(h, [[2, 7, 1, 8]], 3);
    const caught = (await sleeper.client.node.lease.mutate({})).tasks[0]!;
    const honest = [
      (await a.client.node.lease.mutate({})).tasks[0]!,
      (await b.client.node.lease.mutate({})).tasks[0]!,
    ];
    await answer(sleeper, caught.leaseId, lieAbout(caught.input));
    for (const [car, t] of [
      [a, honest[0]!],
      [b, honest[1]!],
    ] as const) {
      await answer(car, t.leaseId, runTiny(xOf(t.input)));
    }

    // Caught: the answer it gave alone is withdrawn. The task runs again, the job is running
    // again, the lie is not paid, and the audit log says why.
    const job = await h.tenant().tenant.jobs.get.query({ jobId: first.jobId });
    expect(job).toMatchObject({ status: "running", tasksValidated: 0 });
    const [task] = await h.t.db.select().from(tasks).where(eq(tasks.id, alone.taskId));
    expect(task).toMatchObject({
      status: "open",
      attempt: 1,
      replicasRequired: 2,
      interpretation: null,
    });
    const [entry] = await h.t.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.leaseId, alone.leaseId));
    expect(entry).toMatchObject({ validated: false, payoutUsd: 0 });
    const events = await h.operator.operator.audit.list.query({ action: "verification.recheck" });
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({ subjectId: sleeper.carId, detail: { tasks: 1 } });
    const page = await h.tenant().tenant.jobs.results.query({ jobId: first.jobId });
    expect(page.items[0]).toMatchObject({ status: "open", output: null });
    expect((await h.tenant().tenant.jobs.get.query({ jobId: unchecked.jobId })).status).toBe(
      "completed",
    );

    // The sleeper's owner never gets it back; three honest cars (none trusted yet) decide it.
    expect((await sleeper.client.node.lease.mutate({})).tasks).toEqual([]);
    for (const car of [a, b, c]) {
      const t = (await car.client.node.lease.mutate({})).tasks[0]!;
      expect(t.taskId).toBe(alone.taskId);
      await answer(car, t.leaseId, runTiny(xOf(t.input)));
    }
    const done = await h.tenant().tenant.jobs.results.query({ jobId: first.jobId });
    expect(done.items[0]).toMatchObject({ status: "valid", output: runTiny(xOf(alone.input)) });
    expect((await h.tenant().tenant.jobs.get.query({ jobId: first.jobId })).status).toBe(
      "completed",
    );
  });

  it("hands a departing car's leases back at once, and another car finishes the task", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    const b = await h.enrollCar();
    const { jobId } = await submitJob(h, [[0, 1, 0, 1]], 1);
    const task = (await a.client.node.lease.mutate({})).tasks[0]!;
    const beat = await a.client.node.heartbeat.mutate({ ...PARKED_DRIVING });
    expect(beat.released).toBe(1);
    const [ended] = await h.t.db.select().from(leases).where(eq(leases.id, task.leaseId));
    expect(ended).toMatchObject({ status: "released", endReason: "departed" });
    // Driving: no more work for this car; its late result is refused and writes nothing.
    expect(await a.client.node.lease.mutate({})).toMatchObject({ tasks: [], reason: "driving" });
    const late = await a.client.node.submit.mutate({
      leaseId: task.leaseId,
      output: [0, 0, 0, 0],
      durationMs: 5,
      backend: "wasm",
    });
    expect(late).toMatchObject({ accepted: false, reason: "lease released" });
    expect(await h.t.db.select().from(results)).toHaveLength(0);

    const again = (await b.client.node.lease.mutate({})).tasks[0]!;
    expect(again.taskId).toBe(task.taskId);
    await b.client.node.submit.mutate({
      leaseId: again.leaseId,
      output: runTiny(xOf(again.input)),
      durationMs: 5,
      backend: "wasm",
    });
    expect((await h.tenant().tenant.jobs.get.query({ jobId })).status).toBe("completed");
  });

  it("sweeps an expired lease and leases the task again; the late submit is refused", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    await submitJob(h, [[2, 2, 2, 2]], 1);
    const task = (await a.client.node.lease.mutate({})).tasks[0]!;
    expect(await sweepExpired(h.api.deps)).toEqual({ expiredLeases: 0, silentCars: 0 });

    h.clock.advance(h.api.deps.config.leaseTtlS + 1);
    const b = await h.enrollCar(); // heartbeats now, after the jump
    // Two sweepers at once (two instances): the lease ends once.
    const sweeps = await Promise.all([sweepExpired(h.api.deps), sweepExpired(h.api.deps)]);
    expect(sweeps.reduce((n, s) => n + s.expiredLeases, 0)).toBe(1);
    const [expired] = await h.t.db.select().from(leases).where(eq(leases.id, task.leaseId));
    expect(expired).toMatchObject({ status: "expired", endReason: "expired" });

    const again = (await b.client.node.lease.mutate({})).tasks[0]!;
    expect(again.taskId).toBe(task.taskId);
    const late = await a.client.node.submit.mutate({
      leaseId: task.leaseId,
      output: runTiny(xOf(task.input)),
      durationMs: 5,
      backend: "wasm",
    });
    expect(late).toMatchObject({ accepted: false, reason: "lease expired" });
    const done = await b.client.node.submit.mutate({
      leaseId: again.leaseId,
      output: runTiny(xOf(again.input)),
      durationMs: 5,
      backend: "wasm",
    });
    expect(done.verdict).toBe("valid");
  });

  it("extends only the leases a heartbeat names: a lease the car lost runs out", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    await submitJob(
      h,
      [
        [1, 1, 1, 1],
        [2, 2, 2, 2],
      ],
      1,
    );
    const [kept, lost] = (await a.client.node.lease.mutate({ max: 2 })).tasks;
    const ttl = h.api.deps.config.leaseTtlS;
    // The car keeps heartbeating, naming only the lease it still works on.
    for (let s = 0; s < ttl + 30; s += 30) {
      h.clock.advance(30);
      const beat = await a.client.node.heartbeat.mutate({ ...PARKED, leaseIds: [kept!.leaseId] });
      expect(beat.renewed).toBe(1);
    }
    await sweepExpired(h.api.deps);
    const rows = await h.t.db.select().from(leases);
    const status = Object.fromEntries(rows.map((l) => [l.id, l.status]));
    expect(status).toEqual({ [kept!.leaseId]: "active", [lost!.leaseId]: "expired" });
    // The lost task goes to the next car that asks.
    const b = await h.enrollCar();
    expect((await b.client.node.lease.mutate({})).tasks.map((t) => t.taskId)).toEqual([
      lost!.taskId,
    ]);
  });

  it("sends a lease a car cannot run elsewhere; refusals of cars nobody trusts fail nothing", async () => {
    const h = await setup(database.get());
    const [a, b, c, d] = [
      await h.enrollCar(),
      await h.enrollCar(),
      await h.enrollCar(),
      await h.enrollCar(),
    ];
    const { jobId } = await submitJob(h, [[9, 9, 9, 9]], 1);
    const first = (await a.client.node.lease.mutate({})).tasks[0]!;
    const report = { leaseId: first.leaseId, reason: "bad-input", message: "not a PNG" } as const;
    expect(await a.client.node.fail.mutate(report)).toEqual({
      accepted: true,
      duplicate: false,
      taskFailed: false,
    });
    // Retried: recognised, nothing more happens.
    expect(await a.client.node.fail.mutate(report)).toEqual({
      accepted: false,
      duplicate: true,
      taskFailed: false,
    });
    // The car that refused it never gets it again.
    expect((await a.client.node.lease.mutate({})).tasks).toEqual([]);
    // An engine error on a second car: the task goes on to a third.
    const second = (await b.client.node.lease.mutate({})).tasks[0]!;
    expect(second.taskId).toBe(first.taskId);
    await b.client.node.fail.mutate({ leaseId: second.leaseId, reason: "runtime", message: "oom" });
    expect((await h.tenant().tenant.jobs.get.query({ jobId })).status).not.toBe("failed");
    // A second owner's car refuses it too. Neither car is trusted, and enrolling is free: their
    // word fails nothing, and the task goes on to a fourth car, which runs it.
    const third = (await c.client.node.lease.mutate({})).tasks[0]!;
    expect(third.taskId).toBe(first.taskId);
    expect(
      await c.client.node.fail.mutate({
        leaseId: third.leaseId,
        reason: "bad-input",
        message: "not a PNG",
      }),
    ).toMatchObject({ accepted: true, taskFailed: false });
    const fourth = (await d.client.node.lease.mutate({})).tasks[0]!;
    expect(fourth.taskId).toBe(first.taskId);
    expect((await answer(d, fourth.leaseId, runTiny(xOf(fourth.input)))).verdict).toBe("valid");
    const job = await h.tenant().tenant.jobs.get.query({ jobId });
    expect(job).toMatchObject({ status: "completed", tasksValidated: 1, tasksFailed: 0 });
    const ended = await h.t.db.select().from(leases);
    expect(ended.map((l) => l.status).sort()).toEqual(["failed", "failed", "failed", "submitted"]);
  });

  it("fails a task that two owners' cars refuse, one of them trusted, in the server's words", async () => {
    const h = await setup(database.get());
    const [stranger, veteran, other] = [
      await h.enrollCar(),
      await h.enrollCar(),
      await h.enrollCar(),
    ];
    // The veteran earned trust by validated work.
    const run = h.api.deps.config.verification.trustAfterConsecutiveValid;
    await h.t.db
      .update(cars)
      .set({ validResults: run, consecutiveValid: run })
      .where(eq(cars.id, veteran.carId));
    const { jobId } = await submitJob(h, [[7, 7, 7, 7]], 1);
    const refuse = async (car: TestCar, message: string) => {
      const t = (await car.client.node.lease.mutate({})).tasks[0]!;
      return car.client.node.fail.mutate({ leaseId: t.leaseId, reason: "bad-input", message });
    };
    // The trusted car alone: one owner's word, the task goes on.
    expect(await refuse(veteran, "the veteran's words")).toMatchObject({ taskFailed: false });
    // With a stranger's car of a second owner, it fails; what the cars said is for operators.
    const words = "Your key expired: sign in again at evil.example";
    expect(await refuse(stranger, words)).toMatchObject({ accepted: true, taskFailed: true });
    const job = await h.tenant().tenant.jobs.get.query({ jobId });
    expect(job).toMatchObject({ status: "failed", tasksFailed: 1 });
    const [item] = (await h.tenant().tenant.jobs.results.query({ jobId })).items;
    expect(item).toMatchObject({
      status: "failed",
      error: "bad input: cars of 2 owners, 1 of them trusted, could not run it",
    });
    expect(item!.error).not.toMatch(/veteran|evil|expired/);
    const reasons = (await h.t.db.select().from(leases)).map((l) => l.endReason).sort();
    expect(reasons).toEqual([`bad-input: ${words}`, "bad-input: the veteran's words"]);
    // Nothing is left for a third car.
    expect((await other.client.node.lease.mutate({})).tasks).toEqual([]);
    expect(await h.counts()).toMatchObject({ results: 0, ledger_entries: 0 });
  });

  it("runs an image job: the car gets the image's address, the result is read for people", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    const { jobId } = await h.tenant().tenant.jobs.submit.mutate({
      modelId: "ppocr-cls",
      inputs: [{ image: { demo: "line-hello-world-180.png" } }],
      replication: 1,
    });
    const task = (await a.client.node.lease.mutate({})).tasks[0]!;
    expect(task.modelUrl).toBe(`/models/ppocr-cls/${task.modelSha256}`);
    const image = (task.input as { image: Record<string, unknown> }).image;
    expect(image).toMatchObject({ mediaType: "image/png", url: `/inputs/${image.sha256}` });
    expect(image.width).toBeGreaterThan(0);
    expect(await h.counts()).toMatchObject({ input_blobs: 1 });
    // The classifier's softmax over ["0", "180"].
    await a.client.node.submit.mutate({
      leaseId: task.leaseId,
      output: [0.125, 0.875],
      durationMs: 3,
      backend: "native",
    });
    const [result] = (await h.tenant().tenant.jobs.results.query({ jobId })).items;
    expect(result).toMatchObject({
      status: "valid",
      interpretation: { kind: "direction", label: "180", angle: 180, confidence: 0.875 },
      image: { sha256: image.sha256, url: image.url },
      error: null,
    });
    // The same image in another job is stored once.
    await h.tenant().tenant.jobs.submit.mutate({
      modelId: "ppocr-cls",
      inputs: [{ image: { demo: "line-hello-world-180.png" } }],
    });
    expect(await h.counts()).toMatchObject({ input_blobs: 1 });
  });

  it("stops a job at its deadline and one whose budget is spent, keeping what was validated", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    const tenant = h.tenant();
    const late = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([1]), tinyInput([2]), tinyInput([3])],
      replication: 1,
      deadlineAt: new Date(h.clock.now().getTime() + 60_000).toISOString(),
    });
    const [first, second] = (await a.client.node.lease.mutate({ max: 2 })).tasks;
    await a.client.node.submit.mutate({
      leaseId: first!.leaseId,
      output: runTiny(xOf(first!.input)),
      durationMs: 5,
      backend: "native",
    });
    expect(await endOverdueJobs(h.api.deps)).toEqual({ jobsEnded: 0 });
    h.clock.advance(61);
    await a.park();
    // Two sweepers at once (two instances): the job ends once.
    const sweeps = await Promise.all([endOverdueJobs(h.api.deps), endOverdueJobs(h.api.deps)]);
    expect(sweeps.reduce((n, s) => n + s.jobsEnded, 0)).toBe(1);
    expect(await tenant.tenant.jobs.get.query({ jobId: late.jobId })).toMatchObject({
      status: "failed",
      endReason: "deadline",
      tasksValidated: 1,
      tasksFailed: 2,
    });
    const results = (await tenant.tenant.jobs.results.query({ jobId: late.jobId })).items;
    expect(results.map((r) => [r.taskId === first!.taskId, r.status, r.error]).sort()).toEqual([
      [false, "failed", "the job's deadline passed"],
      [false, "failed", "the job's deadline passed"],
      [true, "valid", null],
    ]);
    // The car's running lease is gone: its late result is refused, and nobody gets the work.
    const refused = await a.client.node.submit.mutate({
      leaseId: second!.leaseId,
      output: runTiny(xOf(second!.input)),
      durationMs: 5,
      backend: "native",
    });
    expect(refused.accepted).toBe(false);
    expect((await a.client.node.lease.mutate({})).tasks).toEqual([]);

    const cheap = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([4]), tinyInput([5])],
      replication: 1,
      // Less than one task costs: the ledger costs a tiny-mlp run at the server's estimate of it
      // (160 W for ~9e-12 s on fsd-hw4, ~1e-16 USD), whatever the car says it took.
      budgetUsd: 1e-18,
    });
    const task = (await a.client.node.lease.mutate({})).tasks[0]!;
    await a.client.node.submit.mutate({
      leaseId: task.leaseId,
      output: runTiny(xOf(task.input)),
      durationMs: 5,
      backend: "native",
    });
    expect(await endOverdueJobs(h.api.deps)).toEqual({ jobsEnded: 1 });
    expect(await tenant.tenant.jobs.get.query({ jobId: cheap.jobId })).toMatchObject({
      status: "failed",
      endReason: "budget",
      tasksValidated: 1,
      tasksFailed: 1,
    });
  });

  it("issues canaries: validated work again, as if new; a wrong answer counts against the car", async () => {
    const h = await setup(database.get(), {
      verification: { ...DEFAULT_VERIFICATION, canaryRate: 1 },
    });
    const [a, b, honest, cheat] = [
      await h.enrollCar(),
      await h.enrollCar(),
      await h.enrollCar(),
      await h.enrollCar(),
    ];
    await trust(h, a);
    // An answer one car gave alone is not known to be right: never a canary.
    await submitJob(h, [[5, 5, 5, 5]], 1);
    const alone = (await a.client.node.lease.mutate({})).tasks[0]!;
    await a.client.node.submit.mutate({
      leaseId: alone.leaseId,
      output: runTiny(xOf(alone.input)),
      durationMs: 5,
      backend: "native",
    });
    expect((await honest.client.node.lease.mutate({ max: 4 })).tasks).toEqual([]);

    const validated = [
      await validateOnTwo(h, [a, b], [7, 7, 7, 7]),
      await validateOnTwo(h, [a, b], [2, 7, 1, 8]),
    ];
    // No other work: the next cars get a validated task again, like any task, each its own.
    const canary = (await honest.client.node.lease.mutate({ max: 4 })).tasks;
    expect(canary).toHaveLength(1);
    const trap = (await cheat.client.node.lease.mutate({})).tasks;
    expect(trap).toHaveLength(1);
    expect(new Set([canary[0]!.taskId, trap[0]!.taskId])).toEqual(
      new Set(validated.map((t) => t.taskId)),
    );
    // Its verdict reads as new replicated work's first result does, right or wrong, retried too.
    const honestAnswer = {
      leaseId: canary[0]!.leaseId,
      output: runTiny(xOf(canary[0]!.input)),
      durationMs: 5,
      backend: "native" as const,
    };
    expect(await honest.client.node.submit.mutate(honestAnswer)).toMatchObject({
      accepted: true,
      verdict: "pending",
    });
    expect(await honest.client.node.submit.mutate(honestAnswer)).toMatchObject({
      duplicate: true,
      verdict: "pending",
    });
    expect(
      await cheat.client.node.submit.mutate({
        leaseId: trap[0]!.leaseId,
        output: runTiny(xOf(trap[0]!.input)).map((v) => v + 1),
        durationMs: 5,
        backend: "native",
      }),
    ).toMatchObject({ accepted: true, verdict: "pending" });
    // Its pay, too, waits: for its lease's expiry, as a first result waits for its quorum.
    expect((await honest.client.node.me.query()).earnings).toMatchObject({
      results: 1,
      validated: 0,
      payoutUsd: 0,
    });
    expect(await settleCanaries(h.api.deps)).toEqual({ canariesSettled: 0 });
    h.clock.advance(h.api.deps.config.leaseTtlS);
    expect(await settleCanaries(h.api.deps)).toEqual({ canariesSettled: 1 });
    expect(await settleCanaries(h.api.deps)).toEqual({ canariesSettled: 0 });
    const earned = (await honest.client.node.me.query()).earnings;
    expect(earned).toMatchObject({ results: 1, validated: 1 });
    expect(earned.payoutUsd).toBeGreaterThan(0);
    // The operator sees what the car does not: one valid result, one invalid.
    expect(await h.operator.operator.cars.get.query({ carId: honest.carId })).toMatchObject({
      invalidResults: 0,
      validResults: 1,
    });
    expect(await h.operator.operator.cars.get.query({ carId: cheat.carId })).toMatchObject({
      invalidResults: 1,
      validResults: 0,
    });
    // Each owner gets a task once: the cars that decided it are never sent it back; and a task
    // is a canary once.
    for (const car of [a, b, honest, cheat])
      expect((await car.client.node.lease.mutate({})).tasks).toEqual([]);
    // The jobs stay done; of the canaries only the honest one is paid.
    const paid = await h.t.db
      .select()
      .from(ledgerEntries)
      .where(
        inArray(
          ledgerEntries.taskId,
          validated.map((t) => t.taskId),
        ),
      );
    expect(paid.filter((e) => e.validated)).toHaveLength(5);
  });

  it("never makes a canary of an answer that no trusted car gave, or that a car caught since gave", async () => {
    const h = await setup(database.get(), {
      verification: { ...DEFAULT_VERIFICATION, canaryRate: 1 },
    });
    // The issue's break: colluders validated wrong answers together; those became canaries and
    // an honest car was judged wrong on them. Three colluders of three owners make the quorum
    // cars nobody trusts need (auto replication), once.
    const colluders = [await h.enrollCar(), await h.enrollCar(), await h.enrollCar()];
    await submitJob(h, [[9, 9, 9, 9]], "auto");
    for (const car of colluders) {
      const t = (await car.client.node.lease.mutate({})).tasks[0]!;
      await answer(
        car,
        t.leaseId,
        runTiny(xOf(t.input)).map((v) => v + 1),
      );
    }
    const [poisoned] = await h.t.db.select().from(tasks).where(eq(tasks.status, "valid"));
    expect(poisoned).toBeDefined();
    const honest = await h.enrollCar();
    expect((await honest.client.node.lease.mutate({})).tasks).toEqual([]);

    // Agreed by a trusted car: material, until one of the group is caught.
    const [a, b] = [await h.enrollCar(), await h.enrollCar()];
    await trust(h, a);
    const known = await validateOnTwo(h, [a, b], [1, 1, 2, 3]);
    await h.t.db.update(cars).set({ quarantined: true }).where(eq(cars.id, b.carId));
    expect((await honest.client.node.lease.mutate({})).tasks).toEqual([]);
    await h.t.db.update(cars).set({ quarantined: false }).where(eq(cars.id, b.carId));
    expect((await honest.client.node.lease.mutate({})).tasks.map((t) => t.taskId)).toEqual([
      known.taskId,
    ]);
  });

  it("gives a validated task to one car only as a canary, however many ask at once", async () => {
    const h = await setup(database.get(), {
      verification: { ...DEFAULT_VERIFICATION, canaryRate: 1 },
    });
    const trusted = await h.enrollCar();
    await trust(h, trusted);
    const task = await validateOnTwo(h, [trusted, await h.enrollCar()], [3, 1, 4, 1]);
    const cars = await Promise.all(Array.from({ length: 8 }, () => h.enrollCar()));
    // All at once: a car that loses the race gets nothing this time, never an error.
    const got = await Promise.all(cars.map((c) => c.client.node.lease.mutate({})));
    const canaries = got.flatMap((g) => g.tasks);
    expect(canaries.map((t) => t.taskId)).toEqual([task.taskId]);
    const units = await h.t.db.select().from(workUnits).where(eq(workUnits.taskId, task.taskId));
    expect(units.filter((u) => u.canary)).toHaveLength(1);
    expect(new Set(units.map((u) => u.replicaIndex)).size).toBe(units.length);
    // Asked again, one by one: still nobody else.
    for (const c of cars) expect((await c.client.node.lease.mutate({})).tasks).toEqual([]);
  });

  it("hides a canary among real work: the same expiry, any place in the answer", async () => {
    const h = await setup(database.get(), {
      verification: { ...DEFAULT_VERIFICATION, canaryRate: 1 },
    });
    const [a, b] = [await h.enrollCar(), await h.enrollCar()];
    await trust(h, a);
    const places = new Set<number>();
    // Each round: a canary to be (validated by a and b) and two real tasks for a fresh car.
    for (let round = 0; round < 40 && !places.has(0); round++) {
      const known = await validateOnTwo(h, [a, b], [round, 1, 2, 3]);
      await submitJob(
        h,
        [
          [round, 4, 5, 6],
          [round, 7, 8, 9],
        ],
        1,
      );
      const car = await h.enrollCar();
      const { tasks } = await car.client.node.lease.mutate({ max: 3 });
      expect(tasks).toHaveLength(3);
      expect(new Set(tasks.map((t) => t.expiresAt)).size).toBe(1);
      places.add(tasks.findIndex((t) => t.taskId === known.taskId));
    }
    // Uniform over three places: never first in forty rounds with probability (2/3)^40 < 1e-7.
    expect(places.has(0)).toBe(true);
  });

  it("records a model that failed its sha256 on a car for the operators", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    await submitJob(h, [[1, 0, 0, 0]], 1);
    const lease = (await a.client.node.lease.mutate({})).tasks[0]!;
    await a.client.node.fail.mutate({
      leaseId: lease.leaseId,
      reason: "model-integrity",
      message: `tiny-mlp: expected sha256 ${lease.modelSha256}, got 00ff`,
    });
    const events = await h.operator.operator.audit.list.query({});
    expect(events.items.map((e) => e.action)).toContain("model.integrity-failed");
    // The work is open again for another car.
    const b = await h.enrollCar();
    expect((await b.client.node.lease.mutate({})).tasks[0]?.taskId).toBe(lease.taskId);
  });

  it("takes the leases of a car that stopped heartbeating before they expire", async () => {
    const h = await setup(database.get());
    const a = await h.enrollCar();
    await submitJob(
      h,
      [
        [1, 2, 1, 2],
        [3, 4, 3, 4],
      ],
      1,
    );
    expect((await a.client.node.lease.mutate({ max: 2 })).tasks).toHaveLength(2);
    // Past the heartbeat timeout, still inside the lease's lifetime.
    h.clock.advance(h.api.deps.config.heartbeatTimeoutS + 5);
    expect(await sweepExpired(h.api.deps)).toEqual({ expiredLeases: 2, silentCars: 1 });
    const ended = await h.t.db.select().from(leases);
    expect(ended.map((l) => l.endReason)).toEqual(["silent", "silent"]);
    const open = await h.t.db.select().from(tasks);
    expect(open.map((t) => t.status)).toEqual(["open", "open"]);
    // A silent car gets nothing until it heartbeats again.
    expect(await a.client.node.lease.mutate({})).toMatchObject({
      tasks: [],
      reason: "no-heartbeat",
    });
  });
});

const PARKED_DRIVING = {
  state: "driving",
  socPct: 70,
  pluggedIn: false,
  chargerKW: 0,
  predictedDepartureAt: null,
} as const;
