// A server process stopped in the middle of the load (SIGTERM: it drains; SIGKILL: it just
// dies) and started again on the same database and port: cars retry on the other instance or
// the restarted one, every submit the servers acknowledged has its result and ledger entry, no
// result is recorded twice, every lease made reached a car (none waited out its lifetime), and
// every job completes.
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { startTestDatabase, type TestDatabase } from "@nightshift/db/testing";
import { parseDemo, type ServeProcess, spawnServe } from "@nightshift/server-testkit/serve";
import {
  enrollCars,
  FleetLog,
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

const CARS = 100;
const R2_TASKS = 60;
const R1_TASKS = 60;
const REPLICAS = R2_TASKS * 2 + R1_TASKS;
/** A job submitted once the stopped instance is back. */
const LATE_TASKS = 60;
/** The instance goes down once this share of the replicas is acknowledged. */
const KILL_AT = 0.25;
/** Lease calls the restarted instance answers before the late job is submitted. */
const BACK_AT_WORK = 10;

// A database of the test's own (embedded, or on DATABASE_URL), so that either instance can die.
let database: TestDatabase;
let stable: ServeProcess;
/** The instance that is stopped and started again (on the same port). */
let restarting: ServeProcess | undefined;
let tenant: NightshiftClient;
/** The demo fleet's code: owners vouched for, so that two cars make a quorum. */
let fleetCode: string;

beforeAll(async () => {
  database = await startTestDatabase();
  stable = await spawnServe(["--port", "0", "--database-url", database.url, "--demo"]);
  restarting = await spawnServe(["--port", "0", "--database-url", database.url]);
  const demo = parseDemo(stable.banner);
  fleetCode = demo.enrollmentCode;
  const [, key] = [...demo.tenantKeys][0]!;
  tenant = createNightshiftClient({ url: stable.url, credential: key });
});

afterAll(async () => {
  await restarting?.stop();
  await stable?.stop();
  await database?.stop();
});

describe.each(["SIGTERM", "SIGKILL"] as const)("a server stopped by %s mid-load", (signal) => {
  it("loses nothing acknowledged, records nothing twice, and every job completes", async () => {
    const victim = restarting!;
    const port = new URL(victim.url).port;
    const cars = await enrollCars([stable.url, victim.url], CARS, { code: fleetCode });
    const salt = signal === "SIGTERM" ? 1 : 2;
    const rows = (n: number, k: number) =>
      Array.from({ length: n }, (_, i) => [i, salt, k, -i / 3]);
    const jobIds = await Promise.all(
      [
        { inputs: tinyInputs(rows(R2_TASKS, 2)), replication: 2 },
        { inputs: tinyInputs(rows(R1_TASKS, 1)), replication: 1 },
      ].map(async (job) => {
        const out = await tenant.tenant.jobs.submit.mutate({ modelId: "tiny-mlp", ...job });
        return out.jobId;
      }),
    );

    const log = new FleetLog();
    let exit: number | string | undefined;
    let resultsAtKill = 0;
    let beforeRestart = { answered: 0, withTasks: 0 };
    const { value: finished, ...run } = await withFleet(
      cars,
      { log, sampleLeasesOf: database.pool },
      async (stopped) => {
        // Mid-load: a quarter of the results in, cars working on both instances.
        await log.until(() => log.acked.size >= REPLICAS * KILL_AT, "a quarter of the results");
        resultsAtKill = log.acked.size;
        const failoversBefore = log.failovers;
        victim.child.kill(signal);
        exit = await victim.exited;
        // Its cars noticed it gone and moved to the other instance before it comes back.
        await log.until(() => log.failovers > failoversBefore, "a car failing over");
        restarting = await spawnServe(["--port", port, "--database-url", database.url]);
        beforeRestart = { ...(log.leaseCalls.get(victim.url) ?? beforeRestart) };
        // More work once cars are back on the restarted process (same URL: each car starts
        // every round at its home instance): work submitted after the restart completes too.
        const servedSinceRestart = () =>
          (log.leaseCalls.get(victim.url)?.answered ?? 0) - beforeRestart.answered;
        await log.until(
          () => servedSinceRestart() >= BACK_AT_WORK,
          `${BACK_AT_WORK} lease calls answered by the restarted instance`,
        );
        const late = await tenant.tenant.jobs.submit.mutate({
          modelId: "tiny-mlp",
          inputs: tinyInputs(rows(LATE_TASKS, 3)),
          replication: 1,
        });
        jobIds.push(late.jobId);
        return waitForJobs(tenant, jobIds, stopped);
      },
    );
    const fmt = (url: string, minus = { answered: 0, withTasks: 0 }) => {
      const c = log.leaseCalls.get(url) ?? { answered: 0, withTasks: 0 };
      return `${c.answered - minus.answered}/${c.withTasks - minus.withTasks}`;
    };
    console.log(
      `${signal}: ${REPLICAS + LATE_TASKS} replicas by ${CARS} cars in ${run.ms} ms, killed after ` +
        `${resultsAtKill} acknowledged results; ${log.failovers} fail-overs, ${log.retries} retried calls, ` +
        `${log.unansweredLeaseCalls} lease calls unanswered (retried with their requestId), ` +
        `${[...log.acked.values()].filter((a) => a.duplicate).length} submits acknowledged on retry; ` +
        `lease calls (answered/with tasks) on the other instance ${fmt(stable.url)}, on the restarted one ${fmt(victim.url, beforeRestart)}`,
    );

    expect(resultsAtKill).toBeLessThan(REPLICAS);
    expect(exit).toBe(signal === "SIGTERM" ? 0 : "SIGKILL");
    expect(finished.finished, finished.why ?? "").toBe(true);
    expect(log.failovers).toBeGreaterThan(0);
    // The restarted process took its cars back (the driver waited for their lease calls); who
    // gets the late job's work is a race, so the work it served is a figure, not a check.
    expect((await fetch(`${restarting!.url}/readyz`)).status).toBe(200);

    expect(run.doubled).toEqual([]);
    expect(log.refused).toEqual([]);
    const { results } = await expectJobsAccounted(database.pool, jobIds);
    expect(results).toBe(REPLICAS + LATE_TASKS);
    await expectAcknowledgedRecorded(database.pool, jobIds, log);
    await expectNoUnitHeldTwice(database.pool, jobIds, log);
    // A lease call whose answer died with the instance is retried with its requestId and gets
    // its leases back: none is left to wait out its lifetime (120 s) held by no car. Counted,
    // not timed: a slow run passes, a lost lease fails however fast the run.
    await expectEveryLeaseSeen(database.pool, jobIds, log);
    expect(run.samples).toBe(run.leaseCallsWithTasks);
  });
});
