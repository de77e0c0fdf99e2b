// Two `nightshift serve` processes on one PostgreSQL and 200 car clients over real HTTP, some of
// which drive off while holding leases: no work unit is held by two cars at once, no task is
// lost, every job completes exactly once and the ledger holds one entry per result, paid only
// for agreeing replicas.
import { rmSync } from "node:fs";
import { createNightshiftClient } from "@nightshift/client/client";
import { createPool } from "@nightshift/db/client";
import {
  parseDemo,
  type ServeProcess,
  spawnServe,
  tempDir,
} from "@nightshift/server-testkit/serve";
import {
  enrollCars,
  type FleetCar,
  FleetLog,
  type FleetRun,
  type JobsOutcome,
  STEADY,
  tinyInputs,
  waitForJobs,
  withFleet,
} from "@nightshift/server-testkit/cars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectAcknowledgedRecorded,
  expectEveryLeaseSeen,
  expectJobsAccounted,
  expectNoUnitHeldTwice,
} from "./car-fleet";

const CARS = 200;
/** Every DEPART_EVERY-th car drives off mid-load, holding the leases of its first lease call. */
const DEPART_EVERY = 10;
const R2_TASKS = 150;
const R1_TASKS = 150;
/** The departing cars drive off once the others have had this many submits acknowledged. */
const OTHERS_AT_WORK = 20;

const tmp = tempDir();
let first: ServeProcess;
let second: ServeProcess;
let pool: ReturnType<typeof createPool>;
const log = new FleetLog();
let jobIds: string[] = [];
let run: Omit<FleetRun<unknown>, "value"> & JobsOutcome;

const rows = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => [i, salt, -i / 2, i % 7]);

beforeAll(async () => {
  first = await spawnServe(["--port", "0", "--data", tmp, "--demo", "--print-database-url"]);
  second = await spawnServe(["--port", "0", "--database-url", first.databaseUrl!]);
  pool = createPool(first.databaseUrl!);
  const demo = parseDemo(first.banner);
  const [, key] = [...demo.tenantKeys][0]!;
  const tenant = createNightshiftClient({ url: first.url, credential: key });

  const cars = await enrollCars([first.url, second.url], CARS, { code: demo.enrollmentCode });
  const r2 = await tenant.tenant.jobs.submit.mutate({
    modelId: "tiny-mlp",
    inputs: tinyInputs(rows(R2_TASKS, 1)),
    replication: 2,
  });
  const r1 = await tenant.tenant.jobs.submit.mutate({
    modelId: "tiny-mlp",
    inputs: tinyInputs(rows(R1_TASKS, 2)),
    replication: 1,
  });
  jobIds = [r2.jobId, r1.jobId];

  // The departing cars lease first and hold their leases (heartbeating, as parked cars do)
  // until every one of them holds its leases and the others are at work, then drive off: each
  // step waits for the event itself, however long it takes.
  const departing = (car: FleetCar) => car.index % DEPART_EVERY === DEPART_EVERY - 1;
  let holding = 0;
  let othersStart!: () => void;
  const started = new Promise<void>((resolve) => (othersStart = resolve));
  const { value, ...measured } = await withFleet(
    cars,
    {
      log,
      sampleLeasesOf: pool,
      script: (car) =>
        departing(car)
          ? {
              departAt: 1,
              departBy: car.index % 20 === 19 ? "release" : "driving",
              beforeDeparting: async () => {
                if (++holding === cars.filter(departing).length) othersStart();
                await started;
                // Only the others submit before the departures: the acknowledgements are theirs.
                await log.until(
                  () => log.acked.size >= OTHERS_AT_WORK,
                  `${OTHERS_AT_WORK} submits by the other cars`,
                );
              },
            }
          : { startAfter: started },
    },
    (stopped) => waitForJobs(tenant, jobIds, stopped),
  );
  run = { ...value, ...measured };
  console.log(
    `${CARS} cars on 2 processes ${run.finished ? "finished" : "did not finish"} ${R2_TASKS} tasks × 2 replicas + ${R1_TASKS} × 1 in ` +
      `${run.ms} ms; ${log.departures.length} departures; ${log.retries} retried calls; ` +
      `empty lease calls ${JSON.stringify(Object.fromEntries(log.emptyLeases))}`,
  );
});

afterAll(async () => {
  await pool?.end();
  await second?.stop();
  await first?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe(`${CARS} cars on two server processes`, () => {
  it("finish a replication-2 and a replication-1 job, each completed once", async () => {
    expect(run.finished, run.why ?? "").toBe(true);
    const { results, payoutUsd, releasedLeases } = await expectJobsAccounted(pool, jobIds);
    expect(results).toBe(R2_TASKS * 2 + R1_TASKS);
    console.log(
      `${results} results and ledger entries, payouts $${payoutUsd.toFixed(6)}; ` +
        `${releasedLeases} leases handed back by departing cars`,
    );
    // What the tenant saw when each job finished has not changed since.
    for (const [jobId, completedAt] of run.completedAt) {
      const { rows } = await pool.query<{ status: string; completed_at: Date }>(
        "SELECT status, completed_at FROM jobs WHERE id = $1",
        [jobId],
      );
      expect(completedAt).not.toBeNull();
      expect(rows[0]).toEqual({ status: "completed", completed_at: new Date(completedAt!) });
    }
  });

  it("never let two cars hold one work unit at once", async () => {
    // A snapshot of the leases table after every lease call that brought tasks: as many as the
    // work made, on any machine. Each of the units was leased at least once, at most
    // leaseMax to a call.
    expect(run.samples).toBe(run.leaseCallsWithTasks);
    expect(run.samples).toBeGreaterThanOrEqual((R2_TASKS * 2 + R1_TASKS) / STEADY.leaseMax);
    expect(run.doubled).toEqual([]);
    const leasedAgain = await expectNoUnitHeldTwice(pool, jobIds, log);
    console.log(`${run.samples} snapshots of the leases table; ${leasedAgain} units leased again`);
    expect(leasedAgain).toBeGreaterThan(0);
  });

  it("recorded every acknowledged submit once, and nothing else", async () => {
    expect(log.refused).toEqual([]);
    expect(log.acked.size).toBe(R2_TASKS * 2 + R1_TASKS);
    await expectAcknowledgedRecorded(pool, jobIds, log);
    await expectEveryLeaseSeen(pool, jobIds, log);
  });

  it("leased the work of departed cars again, and refused their late results", async () => {
    const departing = CARS / DEPART_EVERY;
    expect(log.departures).toHaveLength(departing);
    expect(new Set(log.departures.map((d) => d.how))).toEqual(new Set(["driving", "release"]));
    const given = log.departures.flatMap((d) => d.leaseIds);
    for (const d of log.departures) {
      expect(d.released).toBe(d.leaseIds.length);
      expect(d.late).toEqual({ accepted: false, reason: "lease released" });
    }
    // Each lease handed back ended without a result, and its unit was finished by another car.
    const { rows: ended } = await pool.query<{
      status: string;
      end_reason: string;
      results: number;
      finished_by_other: boolean;
    }>(
      `SELECT l.status, l.end_reason,
              (SELECT count(*)::int FROM results r WHERE r.lease_id = l.id) AS results,
              EXISTS (SELECT 1 FROM leases o WHERE o.work_unit_id = l.work_unit_id
                         AND o.status = 'submitted' AND o.car_id <> l.car_id) AS finished_by_other
         FROM leases l WHERE l.id = ANY($1::uuid[])`,
      [given],
    );
    expect(ended).toHaveLength(given.length);
    for (const row of ended) {
      expect(row).toMatchObject({ status: "released", results: 0, finished_by_other: true });
      expect(["departed", "released"]).toContain(row.end_reason);
    }
  });
});
