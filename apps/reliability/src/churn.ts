// Churn: cars across two server instances on one PostgreSQL drive off and come back at random,
// many of them while holding leases. Nothing may be lost or counted twice, and the work of a car
// that left should go to another car quickly.
import {
  enrollCars,
  FleetLog,
  STEADY,
  waitForJobs,
  withFleet,
} from "@nightshift/server-testkit/cars";
import { startCluster } from "./cluster";
import { figures, type Figure, quantile } from "./figures";
import { accounting, submitTasks, tenantClient } from "./jobs";

export interface ChurnSize {
  cars: number;
  tasks: number;
  /** Chance that a car drives off holding the tasks of a lease call. */
  departChance: number;
  seed: number;
}

export const CHURN_CI: ChurnSize = {
  cars: 60,
  tasks: 600,
  departChance: 0.35,
  seed: 1,
};
export const CHURN_LONG: ChurnSize = {
  cars: 500,
  tasks: 10_000,
  departChance: 0.35,
  seed: 1,
};

export async function churn(size: ChurnSize): Promise<Figure[]> {
  const cluster = await startCluster({ instances: 2 });
  try {
    const tenant = tenantClient(cluster);
    const cars = await enrollCars(cluster.urls, size.cars, {
      code: cluster.enrollmentCode,
      seed: size.seed,
    });
    const jobIds = await submitTasks(tenant, size.tasks, { salt: size.seed, replication: 1 });
    const log = new FleetLog();
    const startedAt = performance.now();
    const {
      value: { finished, why },
    } = await withFleet(
      cars,
      {
        log,
        // Each car takes one task at a time so that a departure breaks a lease mid-task rather
        // than a batch: the share of leases broken is then the chance of departing.
        behaviour: { ...STEADY, leaseMax: 1, departChance: size.departChance, awayMs: [50, 600] },
      },
      (stopped) => waitForJobs(tenant, jobIds, stopped),
    );
    if (why) console.log(`churn: ${why}`);
    const ms = performance.now() - startedAt;
    const a = await accounting(cluster.pool, jobIds);
    // From a lease broken by a departure (or a release) to the next lease of its task: the
    // first lease still held, or ended, after it. A lease's leased_at is when its lease call
    // started, which may be before the departure it followed: such a wait counts as 0.
    const { rows } = await cluster.pool.query<{ ms: number }>(
      `SELECT extract(epoch FROM (n.leased_at - l.ended_at)) * 1000 AS ms
         FROM leases l JOIN tasks t ON t.id = l.task_id
         CROSS JOIN LATERAL (SELECT leased_at FROM leases o
                              WHERE o.task_id = l.task_id AND o.id <> l.id
                                AND (o.ended_at IS NULL OR o.ended_at > l.ended_at)
                              ORDER BY o.leased_at LIMIT 1) n
        WHERE t.job_id = ANY($1) AND l.end_reason IN ('departed', 'released')`,
      [jobIds],
    );
    const releaseMs = rows.map((r) => Math.max(0, r.ms));
    const late = log.departures.flatMap((d) => (d.late ? [d.late] : []));
    return figures({
      cars: [size.cars, "cars"],
      instances: [2, "server processes"],
      tasks: [a.tasks, "tasks"],
      finished: [finished ? 1 : 0, "1 = every job finished (nothing stalled)"],
      seconds: [ms / 1000, "s"],
      tasksLost: [a.tasksLost, "tasks"],
      jobsUnfinished: [a.jobsUnfinished, "jobs"],
      doubleCounted: [a.doubleCounted, "leases or tasks counted twice"],
      lateResultsAccepted: [late.filter((l) => l.accepted).length, "results"],
      lateResultsRefused: [late.filter((l) => !l.accepted).length, "results"],
      submitsRefused: [log.refused.length, "results of leases still held, refused"],
      leases: [a.leases, "leases"],
      leasesBroken: [a.leasesBroken, "leases"],
      brokenShare: [a.leases ? (100 * a.leasesBroken) / a.leases : 0, "%"],
      departures: [log.departures.length, "departures holding leases"],
      releaseSamples: [releaseMs.length, "broken leases leased again"],
      releaseP50: [quantile(releaseMs, 0.5), "ms, departure → re-lease"],
      releaseP99: [quantile(releaseMs, 0.99), "ms, departure → re-lease"],
      releaseMax: [quantile(releaseMs, 1), "ms"],
      retriedCalls: [log.retries, "calls"],
    });
  } finally {
    await cluster.stop();
  }
}
