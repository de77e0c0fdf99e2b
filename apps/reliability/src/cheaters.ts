// Cheaters: some cars lie. Perturbers return wrong outputs on half their tasks; colluders return
// the same wrong output for the same input, so that two of them on one task agree; sleepers are
// honest until trusted and lie ever after (reported on their own: adaptive replication runs a
// trusted car's work unreplicated: spot checks and canaries catch them). Verification is on as
// in production: replication "auto" (core's adaptive replication, quorum and quarantine,
// recheck of a caught car's unchecked answers) and canaries at core's default rate. Figures: wrong
// results accepted (from the database, against tiny-mlp computed here), how fast each cheater
// is quarantined, and what verification costs in extra replicas.
import { DEFAULT_VERIFICATION } from "@nightshift/core/verify";
import {
  type Answer,
  colluding,
  sleeping,
  enrollCars,
  FleetLog,
  honest,
  jobsFinishedNow,
  perturbing,
  STEADY,
  waitForJobs,
  withFleet,
} from "@nightshift/server-testkit/cars";
import { startCluster } from "./cluster";
import { figures, type Figure, quantile, upperBound95 } from "./figures";
import { accounting, submitTasks, tenantClient } from "./jobs";
import { acceptedAnswers, canaryLeases, executionsByHalf, extraPct } from "./verdicts";

export interface CheatersSize {
  cars: number;
  tasks: number;
  /** Shares of the fleet. */
  perturberShare: number;
  colluderShare: number;
  /** Share of its tasks a perturber lies on. */
  perturbRate: number;
  sleeperShare: number;
  /** Tasks a sleeper answers honestly first (trust comes after 10 consecutive valid). */
  sleeperHonestTasks: number;
  /** Batches of more work, at most, while a cheater is still free once the tasks are done. */
  catchUpBatches: number;
  catchUpTasks: number;
  seed: number;
}

export const CHEATERS_CI: CheatersSize = {
  cars: 100,
  tasks: 800,
  perturberShare: 0.1,
  colluderShare: 0.02,
  perturbRate: 0.5,
  sleeperShare: 0.02,
  sleeperHonestTasks: 15,
  catchUpBatches: 5,
  catchUpTasks: 100,
  seed: 3,
};
export const CHEATERS_LONG: CheatersSize = {
  ...CHEATERS_CI,
  cars: 500,
  tasks: 10_000,
};

type Role = "honest" | "perturber" | "colluder" | "sleeper";
/** The cars the test holds to be caught (a sleeper's lies are a figure of their own). */
const isCheater = (r: Role | undefined): boolean => r === "perturber" || r === "colluder";

export async function cheaters(size: CheatersSize): Promise<Figure[]> {
  // Cars spread the roles evenly: of every 50, the first 5 perturb, the next 1 colludes, the
  // next 1 sleeps.
  const per50 = {
    perturber: Math.round(size.perturberShare * 50),
    colluder: Math.round(size.colluderShare * 50),
    sleeper: Math.round(size.sleeperShare * 50),
  };
  const roleOf = (i: number): Role => {
    const k = i % 50;
    if (k < per50.perturber) return "perturber";
    if (k < per50.perturber + per50.colluder) return "colluder";
    if (k < per50.perturber + per50.colluder + per50.sleeper) return "sleeper";
    return "honest";
  };
  const answerOf = (i: number): Answer => {
    const r = roleOf(i);
    if (r === "perturber") return perturbing(size.perturbRate);
    if (r === "colluder") return colluding;
    if (r === "sleeper") return sleeping(size.sleeperHonestTasks);
    return honest;
  };
  const cluster = await startCluster({
    instances: 1,
    env: { NIGHTSHIFT_CANARY_RATE: String(DEFAULT_VERIFICATION.canaryRate) },
  });
  try {
    const tenant = tenantClient(cluster);
    const cars = await enrollCars(cluster.urls, size.cars, {
      code: cluster.enrollmentCode,
      seed: size.seed,
      answer: answerOf,
    });
    const role = new Map(cars.map((c) => [c.carId, roleOf(c.index)]));
    const jobIds = await submitTasks(tenant, size.tasks, { salt: size.seed, replication: "auto" });
    const log = new FleetLog();
    const startedAt = performance.now();
    // A car caught between the poll that saw every job finished and the fleet's stop (a sleeper
    // failing a canary) reopens the jobs it answered alone: the fleet goes back until none is
    // left. Once the cars have stopped nothing reopens, so one look after each stop settles it.
    const runUntilFinished = async (ids: string[]): Promise<boolean> => {
      for (let round = 0; round < 3; round++) {
        const run = await withFleet(
          cars,
          { log, behaviour: { ...STEADY, leaseMax: 2 } },
          (stopped) => waitForJobs(tenant, ids, stopped),
        );
        if (run.value.why) console.log(`cheaters: ${run.value.why}`);
        if (run.value.finished && (await jobsFinishedNow(tenant, ids))) return true;
      }
      return false;
    };
    const cheaterIds = cars.map((c) => c.carId).filter((id) => isCheater(role.get(id)));
    const cheatersFree = async (): Promise<number> => {
      const { rows } = await cluster.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM cars WHERE id = ANY($1::uuid[]) AND NOT quarantined`,
        [cheaterIds],
      );
      return rows[0]!.n;
    };
    let finished = await runUntilFinished(jobIds);
    // A cheater is quarantined by the lies the checks caught, and how many tasks it got depends
    // on the fleet's timing: one that drew few may still be free when the work runs out. More
    // work, a batch at a time, until every cheater is caught: the claim is that each one is, and
    // the figures say how much work it took.
    let catchUpTasks = 0;
    for (let batch = 1; batch <= size.catchUpBatches && finished; batch++) {
      if ((await cheatersFree()) === 0) break;
      const more = await submitTasks(tenant, size.catchUpTasks, {
        salt: size.seed + 1000 * batch,
        replication: "auto",
      });
      jobIds.push(...more);
      catchUpTasks += size.catchUpTasks;
      finished = await runUntilFinished(more);
    }
    const ms = performance.now() - startedAt;
    const a = await accounting(cluster.pool, jobIds);

    // Every validated answer against the truth.
    const decided = await acceptedAnswers(cluster.pool, jobIds);
    // A round of untrusted cars needs three agreeing of four, so two bad results on one task
    // fail its round, and three such rounds fail the task: a tenant is told, and nothing wrong
    // is accepted. It is rare, not impossible: a figure, held to a bound by the test.
    const { rows: noQuorum } = await cluster.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasks t JOIN verifications v ON v.task_id = t.id
        WHERE t.job_id = ANY($1) AND t.status = 'failed' AND v.status = 'failed'`,
      [jobIds],
    );
    const wrongAnswers = decided.filter((d) => d.wrong);
    const fromSleepers = wrongAnswers.filter((d) => role.get(d.carId) === "sleeper").length;
    const wrong = wrongAnswers.length - fromSleepers;
    // How each wrong answer got through: whose it was, and the verdict that accepted it.
    const how = new Map<string, number>();
    for (const d of wrongAnswers) {
      const k = `${role.get(d.carId) ?? "unknown"} replicas=${d.replicasRequired} support=${d.support} agreeing=${d.agreeing} disagreeing=${d.disagreeing}`;
      how.set(k, (how.get(k) ?? 0) + 1);
    }
    if (how.size > 0)
      console.log(
        `wrong answers accepted, by how:\n  ${[...how].map(([k, n]) => `${n} × ${k}`).join("\n  ")}`,
      );

    // Each car: its results, and whether it ended quarantined.
    const { rows: perCar } = await cluster.pool.query<{
      car_id: string;
      results: number;
      quarantined: boolean;
      trusted: boolean;
    }>(
      `SELECT c.id AS car_id, c.quarantined, c.consecutive_valid >= $2 AS trusted,
              count(r.id)::int AS results
         FROM cars c LEFT JOIN results r ON r.car_id = c.id
        WHERE c.id = ANY($1::uuid[])
        GROUP BY c.id`,
      [cars.map((c) => c.carId), 10],
    );
    const of = (r: Role) => perCar.filter((c) => role.get(c.car_id) === r);
    const cheats = [...of("perturber"), ...of("colluder")];
    const caught = cheats.filter((c) => c.quarantined);
    // A quarantined car is sent no more work, so its results are the tasks it took to catch it.
    const untilQuarantine = caught.map((c) => c.results);
    const canaries = (await canaryLeases(cluster.pool, jobIds)).length;
    const late = (await executionsByHalf(cluster.pool, jobIds)).second;
    return figures({
      cars: [size.cars, "cars"],
      perturbers: [of("perturber").length, `cars, lying on ${size.perturbRate * 100}% of tasks`],
      colluders: [of("colluder").length, "cars, the same wrong output"],
      tasks: [a.tasks, "tasks"],
      catchUpTasks: [catchUpTasks, "tasks added after the first ones to catch every cheater"],
      finished: [finished ? 1 : 0, "1 = every job finished (nothing stalled)"],
      seconds: [ms / 1000, "s"],
      tasksValid: [decided.length, "tasks"],
      tasksLost: [a.tasksLost, "tasks not validated (failed for want of a quorum, or waiting)"],
      tasksNoQuorum: [noQuorum[0]!.n, "tasks failed: no group of their replicas reached a quorum"],
      wrongAccepted: [wrong, "tasks whose accepted answer is wrong"],
      wrongAcceptedRate: [decided.length ? wrong / decided.length : 0, "of validated tasks"],
      wrongAcceptedUpper95: [upperBound95(wrong, decided.length), "95% upper bound of the rate"],
      doubleCounted: [
        a.doubleCounted,
        `leases or tasks counted twice (${JSON.stringify(a.doubleCountedParts)})`,
      ],
      resultsByCheaters: [cheats.reduce((s, c) => s + c.results, 0), "results"],
      cheatersQuarantined: [caught.length, `of ${cheats.length} cheaters`],
      honestQuarantined: [
        of("honest").filter((c) => c.quarantined).length,
        "cars (false positives)",
      ],
      tasksUntilQuarantineMedian: [quantile(untilQuarantine, 0.5), "results per cheater"],
      tasksUntilQuarantineMax: [quantile(untilQuarantine, 1), "results per cheater"],
      trustedAtEnd: [perCar.filter((c) => c.trusted).length, "cars (≥ 10 consecutive valid)"],
      results: [a.results, "results (replicas run)"],
      leases: [a.leases, "leases"],
      overhead: [extraPct(a), "% extra replicas (results ÷ tasks − 1)"],
      overheadSecondHalf: [
        extraPct(late),
        "% extra replicas among the tasks validated in the run's second half",
      ],
      sleepers: [
        of("sleeper").length,
        `cars, honest for ${size.sleeperHonestTasks} tasks, then lying`,
      ],
      sleeperWrongAccepted: [fromSleepers, "tasks whose accepted answer is a sleeper's lie"],
      wrongAcceptedFromPerturbers: [
        wrongAnswers.filter((d) => role.get(d.carId) === "perturber").length,
        "tasks (lies that agree with nothing: must be 0)",
      ],
      wrongAcceptedFromColluders: [
        wrongAnswers.filter((d) => role.get(d.carId) === "colluder").length,
        "tasks",
      ],
      unreplicatedAccepted: [
        decided.filter((d) => d.support === 1).length,
        "tasks accepted on one result (a trusted car alone)",
      ],
      sleepersQuarantined: [of("sleeper").filter((c) => c.quarantined).length, "cars"],
      canaries: [canaries, "canary tasks issued"],
    });
  } finally {
    await cluster.stop();
  }
}
