// Cheaters: some cars lie. Perturbers return wrong outputs on half their tasks; colluders return
// the same wrong output for the same input, so that two of them on one task agree. Verification
// is on (replication "auto": core's adaptive replication, quorum and quarantine). Figures: wrong
// results accepted (from the database, against tiny-mlp computed here), how fast each cheater
// is quarantined, and what verification costs in extra replicas.
import { runTiny } from "@nightshift/api/seed";
import { outputsAgree, TOLERANCE_CPU } from "@nightshift/core/verify";
import {
  type Answer,
  colluding,
  enrollCars,
  FleetLog,
  honest,
  perturbing,
  STEADY,
  waitForJobs,
  withFleet,
} from "./cars";
import { startCluster } from "./cluster";
import { figures, type Figure, quantile, upperBound95 } from "./figures";
import { accounting, submitTasks, tenantClient } from "./jobs";

export interface CheatersSize {
  cars: number;
  tasks: number;
  /** Shares of the fleet. */
  perturberShare: number;
  colluderShare: number;
  /** Share of its tasks a perturber lies on. */
  perturbRate: number;
  deadlineMs: number;
  seed: number;
}

export const CHEATERS_CI: CheatersSize = {
  cars: 100,
  tasks: 800,
  perturberShare: 0.1,
  colluderShare: 0.02,
  perturbRate: 0.5,
  deadlineMs: 120_000,
  seed: 3,
};
export const CHEATERS_LONG: CheatersSize = {
  ...CHEATERS_CI,
  cars: 500,
  tasks: 10_000,
  deadlineMs: 480_000,
};

type Role = "honest" | "perturber" | "colluder";

export async function cheaters(size: CheatersSize): Promise<Figure[]> {
  // Cars spread the roles evenly: of every 50, the first 5 perturb and the next 1 colludes.
  const per50 = {
    perturber: Math.round(size.perturberShare * 50),
    colluder: Math.round(size.colluderShare * 50),
  };
  const roleOf = (i: number): Role =>
    i % 50 < per50.perturber
      ? "perturber"
      : i % 50 < per50.perturber + per50.colluder
        ? "colluder"
        : "honest";
  const answers: Record<Role, Answer> = {
    honest,
    perturber: perturbing(size.perturbRate),
    colluder: colluding,
  };
  const cluster = await startCluster({ instances: 1 });
  try {
    const tenant = tenantClient(cluster);
    const cars = await enrollCars(cluster.urls, size.cars, {
      seed: size.seed,
      answer: (i) => answers[roleOf(i)],
    });
    const role = new Map(cars.map((c) => [c.carId, roleOf(c.index)]));
    const jobIds = await submitTasks(tenant, size.tasks, { salt: size.seed, replication: "auto" });
    const log = new FleetLog();
    const startedAt = performance.now();
    const finished = await withFleet(cars, { ...STEADY, leaseMax: 2 }, log, (stopped) =>
      waitForJobs(tenant, jobIds, size.deadlineMs, stopped),
    );
    const ms = performance.now() - startedAt;
    const a = await accounting(cluster.pool, jobIds);

    // Every validated answer against the truth.
    const { rows: decided } = await cluster.pool.query<{
      input: { x: { data: number[] } };
      output: number[];
    }>(
      `SELECT t.input, r.output FROM tasks t
         JOIN verifications v ON v.task_id = t.id JOIN results r ON r.id = v.canonical_result_id
        WHERE t.job_id = ANY($1) AND t.status = 'valid'`,
      [jobIds],
    );
    const wrong = decided.filter(
      (d) => !outputsAgree(d.output, runTiny(d.input.x.data), TOLERANCE_CPU),
    ).length;

    // Each car: its results, the lies among them, and whether it ended quarantined.
    const { rows: perCar } = await cluster.pool.query<{
      car_id: string;
      results: number;
      lies: number;
      quarantined: boolean;
      trusted: boolean;
    }>(
      `SELECT c.id AS car_id, c.quarantined, c.consecutive_valid >= $2 AS trusted,
              count(r.id)::int AS results,
              count(r.id) FILTER (WHERE r.output::text <> '[]' AND r.id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM verifications v WHERE v.canonical_result_id = r.id))::int AS lies
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
    const { rows: canaries } = await cluster.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM tasks WHERE job_id = ANY($1) AND canary",
      [jobIds],
    );
    return figures({
      cars: [size.cars, "cars"],
      perturbers: [of("perturber").length, `cars, lying on ${size.perturbRate * 100}% of tasks`],
      colluders: [of("colluder").length, "cars, the same wrong output"],
      tasks: [a.tasks, "tasks"],
      finished: [finished ? 1 : 0, "1 = every job finished in time"],
      seconds: [ms / 1000, "s"],
      tasksValid: [decided.length, "tasks"],
      wrongAccepted: [wrong, "tasks whose accepted answer is wrong"],
      wrongAcceptedRate: [decided.length ? wrong / decided.length : 0, "of validated tasks"],
      wrongAcceptedUpper95: [upperBound95(wrong, decided.length), "95% upper bound of the rate"],
      doubleCounted: [a.doubleCounted, "leases or tasks counted twice"],
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
      overhead: [
        a.tasks ? (100 * a.results) / a.tasks - 100 : 0,
        "% extra replicas (results ÷ tasks − 1)",
      ],
      canaries: [canaries[0]!.n, "canary tasks issued"],
    });
  } finally {
    await cluster.stop();
  }
}
