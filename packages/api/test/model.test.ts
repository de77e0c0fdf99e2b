// A model-based test of the work path (fast-check's fc.commands): cars of distinct owners lease
// (and retry lease calls), renew, submit (one by one or all at once), fail, release, drive off,
// go silent and park; the clock moves past lease expiries and the sweeper runs; in whatever order
// fast-check draws, against the real API over HTTP on a real
// PostgreSQL with the server's own scheduling config. After every command the server's answer and
// what the database and the tenant see must be what the reference model (work-model.ts) says: the
// leases active, the tasks valid, one result and one ledger entry per submitted lease, pay for
// those of validated tasks only, each job complete once all its tasks are valid.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { type Db } from "@nightshift/db/client";
import { tasks } from "@nightshift/db/schema";
import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTiny, TEST_MODEL_ID } from "../src/seed";
import type { Job } from "../src/services/jobs";
import { sweepExpired } from "../src/sweeper";
import {
  type Client,
  type Harness,
  type Instance,
  PARKED,
  setup,
  startInstance,
  type TestCar,
  TestClock,
  testDatabase,
  tinyInput,
} from "./harness";
import {
  type FailReason,
  type ModelLease,
  type ModelTask,
  type SubmitAnswer,
  WorkModel,
} from "./work-model";

// fast-check prints the seed and path of any failure; replay with fc.assert(prop, { seed, path }).

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

/** Cars, each of its own owner (the seed's fleet code makes one vouched owner per car). */
const CARS = 4;
/**
 * A job whose tasks need two agreeing owners, and one whose tasks one result decides. The first
 * submitted is first in the queue: the one that takes more to complete goes first, so that runs
 * of thirty commands complete it too.
 */
const JOBS = [
  { replicas: 2, tasks: 2 },
  { replicas: 1, tasks: 3 },
] as const;

/**
 * How far one step moves the clock, s. No sum of steps is a lease's lifetime (120 s), its
 * longest life (3 lifetimes) or the heartbeat timeout (90 s), nor within 5 s of one: the real
 * clock, which runs a few ms ahead of the model's (it moves 1 ms each time it is read), then
 * never disagrees with the model about whether a lease has run out or a car is online.
 */
const STEPS_S = [35, 125] as const;
/** How far the real clock may run ahead of the model's whole seconds. */
const CLOCK_SLACK_MS = 5000;

/** A car that starts driving: its heartbeat hands its leases back. */
const DRIVING = {
  state: "driving",
  socPct: 70,
  pluggedIn: false,
  chargerKW: 0,
  predictedDepartureAt: null,
} as const;

const FAILED_BECAUSE: Record<FailReason, string> = {
  "bad-input": "not a tensor this engine reads",
  runtime: "out of memory",
};

/** The system under test, and how its ids map to the model's indices. */
interface Real {
  db: Db;
  api: Instance;
  clock: TestClock;
  tenant: Client;
  cars: TestCar[];
  jobIds: string[];
  /** Task ids by the model's task index. */
  taskIds: string[];
  taskIndex: Map<string, number>;
  /** What an honest car answers for each task (by id). */
  outputs: Map<string, number[]>;
  /** The real clock's epoch ms at the model's second 0. */
  startMs: number;
  /** Cars that have stopped heartbeating (Silence), until they park or drive again. */
  silent: Set<number>;
  /** Each car's last requestId: what a retried lease call sends. */
  requestIds: Map<number, string>;
}

/**
 * Empties what a run writes (everything but the seed's operators, tenants, models, regions and
 * codes): row by row, which on tables this small takes a few ms where a fresh seed takes
 * hundreds.
 */
async function emptyWorkPath(db: Db): Promise<void> {
  await db.execute(sql`
    DELETE FROM ledger_entries; DELETE FROM results; DELETE FROM verifications;
    DELETE FROM audit_events; DELETE FROM car_events; DELETE FROM fleet_samples;
    DELETE FROM leases; DELETE FROM jobs; DELETE FROM tenant_input_blobs; DELETE FROM input_blobs;
    DELETE FROM cars;
    DELETE FROM owners WHERE id NOT IN (SELECT owner_id FROM enrollment_codes WHERE owner_id IS NOT NULL)`);
}

/**
 * A run: the work path emptied, a new API instance (its own caches and rate limits) on a new
 * clock, cars enrolled and parked, the two jobs submitted.
 */
async function startRun(h: Harness): Promise<Real> {
  await emptyWorkPath(h.t.db);
  const clock = new TestClock();
  const api = await startInstance(h.t.db, clock, h.api.deps.config);
  const fleet = await Promise.all(
    Array.from({ length: CARS }, () => h.enrollCar({ instance: api })),
  );
  expect(new Set(fleet.map((c) => c.ownerId)).size).toBe(CARS);
  const tenant = api.client(h.tenantKeys["acme-vision"]);
  const jobIds: string[] = [];
  const taskIds: string[] = [];
  const outputs = new Map<string, number[]>();
  for (const [j, job] of JOBS.entries()) {
    const { jobId } = await tenant.tenant.jobs.submit.mutate({
      modelId: TEST_MODEL_ID,
      inputs: Array.from({ length: job.tasks }, (_, i) => tinyInput([j, i, 1, 2])),
      replication: job.replicas,
    });
    jobIds.push(jobId);
    const rows = await h.t.db
      .select({ id: tasks.id, input: tasks.input })
      .from(tasks)
      .where(eq(tasks.jobId, jobId))
      .orderBy(asc(tasks.seq));
    for (const row of rows) {
      taskIds.push(row.id);
      outputs.set(row.id, runTiny((row.input as { x: { data: number[] } }).x.data));
    }
  }
  const taskIndex = new Map(taskIds.map((id, i) => [id, i]));
  const startMs = clock.now().getTime();
  return {
    db: h.t.db,
    api,
    clock,
    tenant,
    cars: fleet,
    jobIds,
    taskIds,
    taskIndex,
    outputs,
    startMs,
    silent: new Set(),
    requestIds: new Map(),
  };
}

function newModel(r: Real): WorkModel {
  const { leaseTtlS, heartbeatTimeoutS, maxLeaseLifetimes } = r.api.deps.config;
  return new WorkModel(
    { leaseTtlS, heartbeatTimeoutS, maxLifetimes: maxLeaseLifetimes },
    JOBS,
    CARS,
  );
}

/** A time the server gave (ISO or Date) is the model's second `s`, give or take the slack. */
function expectAtS(r: Real, at: string | Date, s: number): void {
  const aheadMs = new Date(at).getTime() - (r.startMs + s * 1000);
  expect(aheadMs).toBeGreaterThanOrEqual(0);
  expect(aheadMs).toBeLessThan(CLOCK_SLACK_MS);
}

const countBy = <T>(items: readonly T[], key: (item: T) => string) =>
  items.reduce<Record<string, number>>((n, x) => ({ ...n, [key(x)]: (n[key(x)] ?? 0) + 1 }), {});

/** The rows of the work path a check reads. */
interface Observed {
  leases: { id: string; status: string; carId: string; taskId: string; expiresAt: string }[];
  units: { taskId: string; status: string }[];
  tasks: { id: string; status: string }[];
  results: { leaseId: string }[];
  ledger: {
    leaseId: string;
    taskId: string;
    ownerId: string;
    validated: boolean;
    payoutUsd: number;
    payoutOwedUsd: number;
  }[];
  verifications: { taskId: string; status: string }[];
  cars: { id: string; validResults: number; invalidResults: number; quarantined: boolean }[];
}

/** A table's rows as a JSON array of `fields` (name: SQL expression). */
const rowsOf = (table: string, fields: Record<string, string>) =>
  `(SELECT coalesce(json_agg(json_build_object(${Object.entries(fields)
    .map(([name, column]) => `'${name}', ${column}`)
    .join(", ")})), '[]') FROM ${table})`;

/** All of Observed in one statement: a check costs one round trip on a busy machine. */
const OBSERVE = sql.raw(`SELECT
  ${rowsOf("leases", { id: "id", status: "status", carId: "car_id", taskId: "task_id", expiresAt: "expires_at" })} AS leases,
  ${rowsOf("work_units", { taskId: "task_id", status: "status" })} AS units,
  ${rowsOf("tasks", { id: "id", status: "status" })} AS tasks,
  ${rowsOf("results", { leaseId: "lease_id" })} AS results,
  ${rowsOf("ledger_entries", {
    leaseId: "lease_id",
    taskId: "task_id",
    ownerId: "owner_id",
    validated: "validated",
    payoutUsd: "payout_usd",
    payoutOwedUsd: "payout_owed_usd",
  })} AS ledger,
  ${rowsOf("verifications", { taskId: "task_id", status: "status" })} AS verifications,
  ${rowsOf("cars", {
    id: "id",
    validResults: "valid_results",
    invalidResults: "invalid_results",
    quarantined: "quarantined",
  })} AS cars`);

/** Everything observable of the work path is what the model says. */
async function expectSameState(m: WorkModel, r: Real): Promise<void> {
  const [{ rows }, jobList] = await Promise.all([
    r.db.execute(OBSERVE),
    r.tenant.tenant.jobs.list.query({}),
  ]);
  const {
    leases: leaseRows,
    units: unitRows,
    tasks: taskRows,
    results: resultRows,
    ledger,
    verifications: verified,
    cars: carRows,
  } = rows[0] as unknown as Observed;
  const jobViews = r.jobIds.map((id) => jobList.items.find((j) => j.id === id) as Job);
  const taskOf = (id: string) => r.taskIndex.get(id) as number;
  const carOf = new Map(r.cars.map((c, i) => [c.carId, i]));
  const valid = (task: number) => m.taskStatus(task) === "valid";

  // Each lease active in the model is active in the database and the other way round; every
  // ended lease ended the way the model says; an active lease runs out when the model says.
  expect(Object.fromEntries(leaseRows.map((l) => [l.id, l.status]))).toEqual(
    Object.fromEntries(m.leases.map((l) => [l.id, l.status])),
  );
  for (const l of leaseRows) {
    const model = m.leases.find((x) => x.id === l.id) as ModelLease;
    expect({ car: carOf.get(l.carId), task: taskOf(l.taskId) }).toEqual({
      car: model.car,
      task: model.task,
    });
    if (l.status === "active") expectAtS(r, l.expiresAt, model.expiresAtS);
  }

  // Tasks, and their units: open (nobody holds it), leased, done (its result is in).
  expect(taskRows.map((t) => [taskOf(t.id), t.status]).sort()).toEqual(
    m.tasks.map((_, i) => [i, m.taskStatus(i)]),
  );
  const units = r.taskIds.map((id) =>
    countBy(
      unitRows.filter((u) => u.taskId === id),
      (u) => u.status,
    ),
  );
  expect(units).toEqual(
    m.tasks.map((_, i) => {
      const want = {
        open: m.openUnits(i),
        leased: m.leasesOf(i, "active").length,
        done: m.leasesOf(i, "submitted").length,
      };
      return Object.fromEntries(Object.entries(want).filter(([, n]) => n > 0));
    }),
  );
  expect(verified.map((v) => [taskOf(v.taskId), v.status]).sort()).toEqual(
    m.tasks
      .map((_, i) => i)
      .filter(valid)
      .map((i) => [i, "valid"]),
  );

  // One result and one ledger entry per submitted lease, never more; an entry is paid exactly
  // when its task is valid, what it owes and nothing else.
  const submitted = m.leases
    .filter((l) => l.status === "submitted")
    .map((l) => l.id)
    .sort();
  expect(resultRows.map((x) => x.leaseId).sort()).toEqual(submitted);
  expect(ledger.map((e) => e.leaseId).sort()).toEqual(submitted);
  for (const e of ledger) {
    const paid = valid(taskOf(e.taskId));
    expect({ validated: e.validated, payoutUsd: e.payoutUsd }).toEqual({
      validated: paid,
      payoutUsd: paid ? e.payoutOwedUsd : 0,
    });
    expect(e.payoutOwedUsd).toBeGreaterThan(0);
  }
  // Per owner: what it is owed and paid for.
  expect(
    r.cars.map((c) => {
      const mine = ledger.filter((e) => e.ownerId === c.ownerId);
      return { entries: mine.length, validated: mine.filter((e) => e.validated).length };
    }),
  ).toEqual(r.cars.map((_, i) => m.earnings(i)));

  // Reputation: checked results only (a one-replica result is paid, not counted), all good.
  expect(
    r.cars.map((c) => {
      const row = carRows.find((x) => x.id === c.carId);
      return [row?.validResults, row?.invalidResults, row?.quarantined];
    }),
  ).toEqual(r.cars.map((_, i) => [m.validResults(i), 0, false]));

  // The tenant's view: a job completes once all its tasks are valid.
  expect(
    jobViews.map((j) => ({
      status: j.status,
      tasksValidated: j.tasksValidated,
      tasksFailed: j.tasksFailed,
      completed: j.completedAt !== null,
    })),
  ).toEqual(
    m.jobs.map((_, j) => ({
      status: m.jobStatus(j),
      tasksValidated: m.validatedOf(j),
      tasksFailed: 0,
      completed: m.jobStatus(j) === "completed",
    })),
  );
}

type WorkCommand = fc.AsyncCommand<WorkModel, Real>;

/**
 * What the runs did, over all of them: a guard against a property that holds because nothing
 * happened (the seed is fixed, so these counts are the same on every run of the suite).
 */
const seen = new Map<string, number>();
const tally = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

function tallySubmit(m: WorkModel, l: ModelLease, want: SubmitAnswer): void {
  const replicas = (m.tasks[l.task] as ModelTask).replicas;
  tally(
    want.accepted
      ? `submit ${want.duplicate ? "again" : "accepted"}: ${want.verdict} (${replicas} replicas)`
      : `submit refused: ${want.reason}`,
  );
}

const completedJobs = (m: WorkModel) =>
  m.jobs.map((_, j) => j).filter((j) => m.jobStatus(j) === "completed");

function tallyCompleted(m: WorkModel, before: readonly number[]): void {
  for (const j of completedJobs(m)) if (!before.includes(j)) tally(`job ${j} completed`);
}

/**
 * The lease a command names: `pick` among the leases made so far (taken modulo their number),
 * those still active (as the model has it) when `which` says so, else ended ones too.
 */
function pickLease(m: Readonly<WorkModel>, pick: number, which: Which): ModelLease {
  const among = which === "active" ? m.leases.filter((l) => l.status === "active") : m.leases;
  return among[pick % among.length] as ModelLease;
}

type Which = "active" | "any";

const hasLease = (m: Readonly<WorkModel>, which: Which) =>
  which === "active" ? m.leases.some((l) => l.status === "active") : m.leases.length > 0;

/**
 * How a lease call is sent: without a requestId, with a new one, or with the car's last one
 * again (a retry whose answer was lost).
 */
type Asking = "plain" | "new" | "retry";

class Lease implements WorkCommand {
  constructor(
    readonly car: number,
    readonly max: number,
    readonly asking: Asking,
  ) {}
  check = () => true;
  async run(m: WorkModel, r: Real): Promise<void> {
    const last = r.requestIds.get(this.car);
    const requestId =
      this.asking === "plain" ? null : this.asking === "retry" && last ? last : randomUUID();
    if (requestId !== null) r.requestIds.set(this.car, requestId);
    const want = m.expectLease(this.car, this.max, requestId);
    const got = await (r.cars[this.car] as TestCar).client.node.lease.mutate({
      max: this.max,
      ...(requestId === null ? {} : { requestId }),
    });
    if (want.kind === "replay") {
      expect({ leaseIds: got.tasks.map((t) => t.leaseId).sort(), reason: got.reason }).toEqual({
        leaseIds: want.leases.map((l) => l.id).sort(),
        reason: want.reason,
      });
      for (const t of got.tasks) {
        const l = want.leases.find((x) => x.id === t.leaseId) as ModelLease;
        expect(t.taskId).toBe(r.taskIds[l.task]);
        expectAtS(r, t.expiresAt, l.expiresAtS);
      }
      tally(`lease retried: ${want.leases.length > 0 ? "replayed" : want.reason}`);
      await expectSameState(m, r);
      return;
    }
    expect({ count: got.tasks.length, reason: got.reason }).toEqual({
      count: want.count,
      reason: want.reason,
    });
    const taken = got.tasks.map((t) => ({
      task: r.taskIndex.get(t.taskId) as number,
      leaseId: t.leaseId,
    }));
    // Any of the tasks this car may have, each once: which ones is the scheduler's choice.
    expect(new Set(taken.map((t) => t.task)).size).toBe(taken.length);
    for (const t of taken) expect(want.leasable).toContain(t.task);
    for (const t of got.tasks) expectAtS(r, t.expiresAt, m.nowS + m.limits.leaseTtlS);
    m.leased(this.car, taken, requestId);
    tally(
      want.count > 0 || want.reason === "no-work"
        ? `leased ${taken.length}`
        : `lease refused: ${want.reason}`,
    );
    await expectSameState(m, r);
  }
  toString = () => `lease(car ${this.car}, max ${this.max}, ${this.asking})`;
}

/** The car sends the results of every lease it was ever given, in one call (node.submitMany). */
class SubmitAll implements WorkCommand {
  constructor(readonly car: number) {}
  check = (m: Readonly<WorkModel>) => m.leases.some((l) => l.car === this.car);
  async run(m: WorkModel, r: Real): Promise<void> {
    const mine = m.leases.filter((l) => l.car === this.car);
    const got = await (r.cars[this.car] as TestCar).client.node.submitMany.mutate({
      results: mine.map((l) => ({
        leaseId: l.id,
        output: r.outputs.get(r.taskIds[l.task] as string) as number[],
        durationMs: 5,
        backend: "wasm" as const,
      })),
    });
    const before = completedJobs(m);
    const want = mine.map((l) => ({ ...m.submit(l), leaseId: l.id }));
    expect(got.results).toEqual(want);
    tally("submitted all at once");
    mine.forEach((l, i) => tallySubmit(m, l, want[i] as SubmitAnswer));
    tallyCompleted(m, before);
    await expectSameState(m, r);
  }
  toString = () => `submitAll(car ${this.car})`;
}

class Submit implements WorkCommand {
  constructor(
    readonly pick: number,
    readonly which: Which,
  ) {}
  check = (m: Readonly<WorkModel>) => hasLease(m, this.which);
  async run(m: WorkModel, r: Real): Promise<void> {
    const l = pickLease(m, this.pick, this.which);
    const got = await (r.cars[l.car] as TestCar).client.node.submit.mutate({
      leaseId: l.id,
      output: r.outputs.get(r.taskIds[l.task] as string) as number[],
      durationMs: 5,
      backend: "native",
    });
    const before = completedJobs(m);
    const want = m.submit(l);
    expect(got).toEqual(want);
    tallySubmit(m, l, want);
    tallyCompleted(m, before);
    await expectSameState(m, r);
  }
  toString = () => `submit(${this.which} lease #${this.pick})`;
}

class Renew implements WorkCommand {
  constructor(
    readonly pick: number,
    readonly which: Which,
  ) {}
  check = (m: Readonly<WorkModel>) => hasLease(m, this.which);
  async run(m: WorkModel, r: Real): Promise<void> {
    const l = pickLease(m, this.pick, this.which);
    const got = await (r.cars[l.car] as TestCar).client.node.renew.mutate({ leaseIds: [l.id] });
    const want = m.renew(l);
    expect({
      renewed: got.renewed.map((x) => x.leaseId),
      lost: got.lost,
      notExtended: got.notExtended,
    }).toEqual(want);
    for (const x of got.renewed) expectAtS(r, x.expiresAt, l.expiresAtS);
    tally(
      want.renewed.length > 0
        ? "renewed"
        : want.lost.length > 0
          ? "renew: lost"
          : "renew: not extended",
    );
    await expectSameState(m, r);
  }
  toString = () => `renew(${this.which} lease #${this.pick})`;
}

class Fail implements WorkCommand {
  constructor(
    readonly pick: number,
    readonly which: Which,
    readonly reason: FailReason,
  ) {}
  check = (m: Readonly<WorkModel>) => hasLease(m, this.which);
  async run(m: WorkModel, r: Real): Promise<void> {
    const l = pickLease(m, this.pick, this.which);
    const got = await (r.cars[l.car] as TestCar).client.node.fail.mutate({
      leaseId: l.id,
      reason: this.reason,
      message: FAILED_BECAUSE[this.reason],
    });
    const want = m.fail(l, this.reason);
    expect(got).toEqual(want);
    tally(want.accepted ? "fail accepted" : want.duplicate ? "fail again" : "fail refused");
    await expectSameState(m, r);
  }
  toString = () => `fail(${this.which} lease #${this.pick}, ${this.reason})`;
}

/** The car hands back all it holds: by node.release, or by starting to drive. */
class Depart implements WorkCommand {
  constructor(
    readonly car: number,
    readonly how: "release" | "drive",
  ) {}
  check = () => true;
  async run(m: WorkModel, r: Real): Promise<void> {
    const car = r.cars[this.car] as TestCar;
    if (this.how === "release") {
      const released = m.releaseAll(this.car);
      expect(await car.client.node.release.mutate()).toEqual({ released });
      if (released > 0) tally("released");
    } else {
      const beat = await car.client.node.heartbeat.mutate(DRIVING);
      r.silent.delete(this.car);
      const released = m.heartbeat(this.car, true);
      expect(beat.released).toBe(released);
      if (released > 0) tally("departed");
    }
    await expectSameState(m, r);
  }
  toString = () => `${this.how}(car ${this.car})`;
}

class Park implements WorkCommand {
  constructor(readonly car: number) {}
  check = () => true;
  async run(m: WorkModel, r: Real): Promise<void> {
    const beat = await (r.cars[this.car] as TestCar).park();
    expect({ renewed: beat.renewed, released: beat.released }).toEqual({ renewed: 0, released: 0 });
    r.silent.delete(this.car);
    m.heartbeat(this.car, false);
    await expectSameState(m, r);
  }
  toString = () => `park(car ${this.car})`;
}

/** A car stops heartbeating (its agent hangs, it loses signal) until it parks or drives again. */
class Silence implements WorkCommand {
  constructor(readonly car: number) {}
  check = () => true;
  async run(m: WorkModel, r: Real): Promise<void> {
    r.silent.add(this.car);
    await expectSameState(m, r);
  }
  toString = () => `silence(car ${this.car})`;
}

/**
 * Time passes; every car heartbeats as it is (parked or driving), except silent ones: a parked
 * car stays online, holding its leases. With `naming`, parked cars name the leases they hold
 * (as the agent does while it runs them): those are renewed as node.renew would.
 */
class Tick implements WorkCommand {
  constructor(
    readonly s: number,
    readonly naming: boolean,
  ) {}
  check = () => true;
  async run(m: WorkModel, r: Real): Promise<void> {
    r.clock.advance(this.s);
    m.advance(this.s);
    const beating = r.cars.flatMap((car, i) => {
      if (r.silent.has(i)) return [];
      const held = m.leases.filter((l) => l.car === i && l.status === "active");
      return [{ car, i, named: this.naming && !m.driving[i] ? held : [] }];
    });
    const beats = await Promise.all(
      beating.map(({ car, i, named }) =>
        m.driving[i]
          ? car.client.node.heartbeat.mutate(DRIVING)
          : car.client.node.heartbeat.mutate({
              ...PARKED,
              ...(named.length > 0 ? { leaseIds: named.map((l) => l.id) } : {}),
            }),
      ),
    );
    for (const [k, beat] of beats.entries()) {
      const { i, named } = beating[k] as (typeof beating)[number];
      const renewed = named.filter((l) => m.renew(l).renewed.length > 0).length;
      expect({ renewed: beat.renewed, released: beat.released }).toEqual({
        renewed,
        released: m.heartbeat(i, m.driving[i] as boolean),
      });
      if (renewed > 0) tally("renewed by heartbeat");
    }
    await expectSameState(m, r);
  }
  toString = () => `tick(${this.s} s${this.naming ? ", naming leases" : ""})`;
}

class Sweep implements WorkCommand {
  check = () => true;
  async run(m: WorkModel, r: Real): Promise<void> {
    const want = m.sweep();
    expect(await sweepExpired(r.api.deps)).toEqual(want);
    if (want.expiredLeases > 0) tally("swept");
    if (want.silentCars > 0) tally("swept silent cars");
    await expectSameState(m, r);
  }
  toString = () => "sweep";
}

const car = fc.nat(CARS - 1);
/** A lease by its place among those made so far (taken modulo their number). */
const pick = fc.nat(15);
const which = fc.constantFrom<Which>("active", "any");
const asking = fc.constantFrom<Asking>("plain", "new", "retry");

const workCommands = fc.commands(
  [
    fc.oneof(
      {
        arbitrary: fc
          .tuple(car, fc.integer({ min: 1, max: 3 }), asking)
          .map(([c, n, how]) => new Lease(c, n, how)),
        weight: 4,
      },
      { arbitrary: pick.map((p) => new Submit(p, "active")), weight: 4 },
      { arbitrary: pick.map((p) => new Submit(p, "any")), weight: 1 },
      { arbitrary: car.map((c) => new SubmitAll(c)), weight: 1 },
      { arbitrary: fc.tuple(pick, which).map(([p, w]) => new Renew(p, w)), weight: 1 },
      {
        arbitrary: fc
          .tuple(pick, which, fc.constantFrom<FailReason>("bad-input", "runtime"))
          .map(([p, w, why]) => new Fail(p, w, why)),
        weight: 1,
      },
      {
        arbitrary: fc
          .tuple(car, fc.constantFrom("release" as const, "drive" as const))
          .map(([c, how]) => new Depart(c, how)),
        weight: 1,
      },
      { arbitrary: car.map((c) => new Park(c)), weight: 1 },
      { arbitrary: car.map((c) => new Silence(c)), weight: 1 },
      {
        arbitrary: fc
          .tuple(fc.constantFrom(...STEPS_S), fc.boolean())
          .map(([s, naming]) => new Tick(s, naming)),
        weight: 2,
      },
      { arbitrary: fc.constant(new Sweep()), weight: 2 },
    ),
  ],
  { maxCommands: 30, size: "max" },
);

/**
 * What each owner reads on the car's page at the end of a run: the leases it holds, its results,
 * those validated, and pay for those alone.
 */
async function expectOwnersSee(m: WorkModel, r: Real): Promise<void> {
  const pages = await Promise.all(r.cars.map((car) => car.client.node.me.query()));
  for (const [i, page] of pages.entries()) {
    const { entries, validated } = m.earnings(i);
    const { earnings } = page;
    expect({
      activeLeases: page.activeLeases,
      results: earnings.results,
      validated: earnings.validated,
      owed: earnings.payoutOwedUsd > 0,
      paid: earnings.payoutUsd > 0,
    }).toEqual({
      activeLeases: m.leases.filter((l) => l.car === i && l.status === "active").length,
      results: entries,
      validated,
      owed: entries > 0,
      paid: validated > 0,
    });
    expect(earnings.payoutUsd).toBeLessThanOrEqual(earnings.payoutOwedUsd);
    if (validated === entries) expect(earnings.payoutUsd).toBe(earnings.payoutOwedUsd);
  }
}

/** Runs `commands` on an emptied work path and a new API, then stops the API. */
async function runAgainstModel(h: Harness, commands: Iterable<WorkCommand>): Promise<void> {
  const r = await startRun(h);
  try {
    await expectSameState(newModel(r), r);
    let model = newModel(r);
    await fc.asyncModelRun(() => ({ model: (model = newModel(r)), real: r }), commands);
    await expectOwnersSee(model, r);
  } finally {
    await r.api.close();
  }
}

describe("the work path against its reference model", () => {
  it("agrees with the model after every command, whatever the order", async () => {
    const h = await setup(database.get());
    try {
      await fc.assert(
        fc.asyncProperty(workCommands, (commands) => runAgainstModel(h, commands)),
        { numRuns: 25 },
      );
    } finally {
      await h.api.close();
    }
    // The runs did what the property is about: a property that held because nothing happened
    // would pass as well.
    const times = (prefix: string) =>
      [...seen].filter(([what]) => what.startsWith(prefix)).reduce((n, [, k]) => n + k, 0);
    for (const what of [
      "submit accepted: pending",
      "submit accepted: valid (1",
      "submit accepted: valid (2",
      "submit refused: lease expired",
      "submitted all at once",
      "job",
      "swept",
      "fail accepted",
      "lease retried: replayed",
      "renewed",
    ])
      expect(times(what), what).toBeGreaterThan(0);
  });
});
