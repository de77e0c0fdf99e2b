// Crashes: PostgreSQL cut down mid-load (immediate shutdown, crash recovery at its restart),
// then kill -9 of one of two server instances mid-load (cars fail over to the other while it is
// started again). Every submit a car saw acknowledged must have its result and ledger entry,
// and every job must finish.
import { setTimeout as sleep } from "node:timers/promises";
import {
  enrollCars,
  FleetLog,
  STEADY,
  waitForJobs,
  withFleet,
} from "@nightshift/server-testkit/cars";
import { startCluster } from "./cluster";
import { figures, type Figure } from "./figures";
import { accounting, acknowledgedLost, submitTasks, tenantClient } from "./jobs";

export interface CrashesSize {
  cars: number;
  /** Tasks of each job: one replicated twice, one not. */
  tasks: number;
  /** PostgreSQL stays away at least this long, and until a car has met it away. */
  databaseDownMs: number;
  seed: number;
}

export const CRASHES_CI: CrashesSize = {
  cars: 40,
  tasks: 300,
  databaseDownMs: 1500,
  seed: 2,
};
export const CRASHES_LONG: CrashesSize = {
  cars: 200,
  tasks: 3000,
  databaseDownMs: 5000,
  seed: 2,
};

/**
 * What the cars saw after a fault at `t0` (acknowledgement times, ms): the longest stretch
 * without any acknowledged submit in the minute after (the outage as the fleet felt it), and
 * when the fleet was back to at least half its acknowledged rate of the 3 s before the fault:
 * the end of the first 1 s window after that stretch with that many, ms after t0.
 */
function recovery(acks: readonly number[], t0: number): { gapMs: number; recoveryMs: number } {
  const before = acks.filter((t) => t >= t0 - 3000 && t < t0).length / 3;
  const after = acks.filter((t) => t >= t0 && t < t0 + 60_000).sort((a, b) => a - b);
  let gapMs = 0;
  let gapEnd = t0;
  let previous = t0;
  for (const t of after) {
    if (t - previous > gapMs) {
      gapMs = t - previous;
      gapEnd = t;
    }
    previous = t;
  }
  const rest = after.filter((t) => t >= gapEnd);
  for (let i = 0, j = 0; i < rest.length; i++) {
    while (rest[j]! < rest[i]! - 1000) j++;
    if (i - j + 1 >= before / 2) return { gapMs, recoveryMs: rest[i]! - t0 };
  }
  return { gapMs, recoveryMs: NaN };
}

export async function crashes(size: CrashesSize): Promise<Figure[]> {
  const cluster = await startCluster({ instances: 2 });
  try {
    const tenant = tenantClient(cluster);
    const cars = await enrollCars(cluster.urls, size.cars, {
      code: cluster.enrollmentCode,
      seed: size.seed,
    });
    const jobIds = [
      ...(await submitTasks(tenant, size.tasks, { salt: size.seed, replication: 2 })),
      ...(await submitTasks(tenant, size.tasks, { salt: size.seed + 1, replication: 1 })),
    ];
    const replicas = size.tasks * 3;
    const log = new FleetLog();
    const marks: Record<string, number> = {};
    const startedAt = performance.now();
    const untilAcked = (share: number) =>
      log.until(() => log.acked.size >= replicas * share, `${share * 100}% of the results`);
    const unavailable = () => log.errors.get("SERVICE_UNAVAILABLE") ?? 0;
    // A lease call whose answer died with the killed instance is retried with its requestId and
    // gets its leases back: counted below (leasesNoCarSaw), so no deadline stands in for it.
    const { value: finished } = await withFleet(
      cars,
      // No retry of internal errors: a database that is away must be answered 503, not 500.
      { log, behaviour: STEADY },
      async (stopped) => {
        // PostgreSQL first: every instance loses it at once. It stays away at least
        // databaseDownMs and until the fleet has met it away (a call answered 503), however
        // slowly the cars come by.
        await untilAcked(0.25);
        marks.database = performance.now();
        marks.ackedAtDatabase = log.acked.size;
        const unavailableBefore = unavailable();
        marks.databaseDownMs = (
          await cluster.restartDatabase(async () => {
            await Promise.all([
              sleep(size.databaseDownMs),
              log.until(() => unavailable() > unavailableBefore, "a call answered 503"),
            ]);
          })
        ).downMs;
        marks.databaseBack = performance.now();

        // Then one instance dies; its cars go on at the other (the driver waits until one has
        // failed over) while it starts again.
        await untilAcked(0.6);
        marks.kill = performance.now();
        marks.ackedAtKill = log.acked.size;
        const failoversBefore = log.failovers;
        await cluster.kill(1);
        await log.until(() => log.failovers > failoversBefore, "a car failing over");
        marks.restartFrom = performance.now();
        const restarted = cluster.restart(1).then(() => {
          marks.restartMs = performance.now() - marks.restartFrom!;
        });
        const outcome = await waitForJobs(tenant, jobIds, stopped);
        if (outcome.why) console.log(`crashes: ${outcome.why}`);
        marks.finished = performance.now();
        await restarted;
        return outcome.finished;
      },
    );
    const ms = performance.now() - startedAt;
    const acks = [...log.acked.values()].map((a) => a.at);
    const afterKill = recovery(acks, marks.kill!);
    const afterDatabase = recovery(acks, marks.database!);
    const firstAfterBack = Math.min(...acks.filter((t) => t >= marks.databaseBack!));
    const lost = await acknowledgedLost(cluster.pool, [...log.acked.keys()]);
    // Leases made for a call whose answer no car ever got: handed back blind, or held by
    // nobody until they run out (a retry with the call's requestId gets them instead).
    const made = await cluster.pool.query<{ id: string }>(
      `SELECT l.id FROM leases l JOIN tasks t ON t.id = l.task_id WHERE t.job_id = ANY($1)`,
      [jobIds],
    );
    const unseen = made.rows.filter((l) => !log.leases.has(l.id)).length;
    const a = await accounting(cluster.pool, jobIds);
    const ready = await Promise.all(
      cluster.urls.map((u) => fetch(`${u}/readyz`).then((r) => r.status === 200)),
    );
    return figures({
      cars: [size.cars, "cars"],
      replicas: [replicas, "results expected"],
      seconds: [ms / 1000, "s"],
      acknowledged: [log.acked.size, "submits"],
      acknowledgedLost: [lost, "submits"],
      jobsFinished: [jobIds.length - a.jobsUnfinished, `of ${jobIds.length} jobs`],
      finished: [finished ? 1 : 0, "1 = every job finished (nothing stalled)"],
      tasksLost: [a.tasksLost, "tasks"],
      doubleCounted: [a.doubleCounted, "leases or tasks counted twice"],
      leasesNoCarSaw: [unseen, "leases made whose answer no car got"],
      killedAtAcked: [marks.ackedAtKill!, "submits"],
      killNoAckMs: [afterKill.gapMs, "ms, longest stretch without an acknowledged submit"],
      killRecoveryMs: [afterKill.recoveryMs, "ms, kill -9 → half the rate before"],
      // Every task done, the ones whose lease call lost its answer to the kill included: before
      // lease calls were idempotent, those waited out the lease lifetime (120 s).
      killToFinishedMs: [marks.finished! - marks.kill!, "ms, kill -9 → every job finished"],
      serverRestartMs: [marks.restartMs!, "ms, start of the killed instance"],
      databaseAtAcked: [marks.ackedAtDatabase!, "submits"],
      databaseDownMs: [marks.databaseDownMs!, "ms, PostgreSQL away (stop → ready)"],
      databaseNoAckMs: [afterDatabase.gapMs, "ms, longest stretch without an acknowledged submit"],
      databaseBackFirstAckMs: [
        firstAfterBack - marks.databaseBack!,
        "ms, PostgreSQL ready again → next acknowledged submit",
      ],
      databaseRecoveryMs: [afterDatabase.recoveryMs, "ms, PostgreSQL down → half the rate before"],
      instancesReady: [ready.filter(Boolean).length, `of ${ready.length} instances`],
      failovers: [log.failovers, "calls moved to the other instance"],
      retriedCalls: [log.retries, "calls"],
      serverErrorsSeen: [log.errors.get("INTERNAL_SERVER_ERROR") ?? 0, "calls answered 500"],
      unavailableSeen: [log.errors.get("SERVICE_UNAVAILABLE") ?? 0, "calls answered 503 (retried)"],
      networkErrorsSeen: [log.errors.get("NETWORK") ?? 0, "calls"],
    });
  } finally {
    await cluster.stop();
  }
}
