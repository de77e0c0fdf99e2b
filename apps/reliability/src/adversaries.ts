// Adversaries: cars are strangers (issue 13). Honest cars and honest tenants beside Sybil groups
// on the public demo code, self-reported figure forgers, lease hoarders, canary detectors,
// result forgers and sleepers (adversary-cars.ts), over two server instances on one PostgreSQL,
// with verification on as in production (replication "auto", canaries at core's default rate).
//
// The run ends by events: every task decided, or the honest cars starved (each asked for work
// some number of times in a row and got nothing still to decide, while tasks were left). While a vouched liar that has
// lied is still free, more work comes a batch at a time, as in the cheaters test: a liar caught
// has its unchecked answers run again, so every lie it told is judged before the figures.
//
// Figures, each from the database or the cars' own calls: wrong answers accepted (against
// tiny-mlp computed here), honest cars quarantined, pay above the server's own estimate, tasks
// of the honest tenants left undecided, 5xx answers, and what verification costs in executions
// beyond one per task, over the whole run and once the fleet has built trust (its second half).
// The claims the test holds them to are `brokenClaims`, shared with the command line.
import { DEFAULT_API_CONFIG } from "@nightshift/api/config";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { DEFAULT_VERIFICATION } from "@nightshift/core/verify";
import { untilDone } from "@nightshift/testkit/waits";
import {
  type AdversaryCar,
  type AdversaryCounts,
  AdversaryLog,
  countingFetch,
  enrollAdversaries,
  HONEST_ROLES,
  honestStarved,
  type Role,
  ROLES,
  VOUCHED_LIARS,
  vouchedCars,
  withAdversaries,
} from "./adversary-cars";
import { type Cluster, startCluster } from "./cluster";
import { figures, type Figure } from "./figures";
import { accounting, submitTasks } from "./jobs";
import { overpayment } from "./overpayment";
import { acceptedAnswers, canaryLeases, executionsByHalf, extraPct } from "./verdicts";

export interface AdversariesSize extends AdversaryCounts {
  /** Tasks the honest tenants submit at the start, shared among them. */
  tasks: number;
  /** Batches of more work, at most, while a vouched liar that has lied is still free. */
  catchUpBatches: number;
  catchUpTasks: number;
  /** Lease calls in a row without work after which an honest car counts as starved. */
  starvedAfterEmptyCalls: number;
  /**
   * The most the second half of the run may cost in executions beyond one per task, %: BOINC's
   * target for adaptive replication. Null at a size whose cars do not live long enough to build
   * trust (the CI fleet: each honest car gives about a hundred results, and a car's spot checks
   * fall to core's floor only after a run of 50 checked ones).
   */
  steadyOverheadMaxPct: number | null;
}

export const ADVERSARIES_CI: AdversariesSize = {
  honest: 16,
  strangers: 4,
  sybilGroups: 2,
  sybilsPerGroup: 6,
  sybilRebirths: 3,
  figureForgers: 2,
  hoarders: 2,
  detectors: 2,
  resultForgers: 2,
  sleepers: 2,
  honestFirst: 15,
  resultForgerLieRate: 0.5,
  tasks: 1200,
  catchUpBatches: 5,
  catchUpTasks: 100,
  starvedAfterEmptyCalls: 10,
  steadyOverheadMaxPct: null,
  seed: 13,
};
export const ADVERSARIES_LONG: AdversariesSize = {
  ...ADVERSARIES_CI,
  honest: 60,
  strangers: 10,
  sybilGroups: 4,
  sybilRebirths: 10,
  figureForgers: 4,
  hoarders: 4,
  detectors: 6,
  resultForgers: 6,
  sleepers: 6,
  // About 400 results per honest car: long runs of checked results, so spot checks at their floor.
  tasks: 24_000,
  steadyOverheadMaxPct: 10,
};

/** The claims the figures are held to; each broken one says what it found. */
export function brokenClaims(f: Readonly<Record<string, number>>, size: AdversariesSize): string[] {
  const claims: [boolean, string][] = [
    [f.wrongAccepted === 0, `${f.wrongAccepted} wrong answers accepted (must be 0)`],
    [f.honestQuarantined === 0, `${f.honestQuarantined} honest cars quarantined (must be 0)`],
    [
      f.overpaidEntries === 0,
      `${f.overpaidEntries} ledger entries paid $${f.overpaymentUsd} above the server's estimate (must be 0)`,
    ],
    [f.serverErrors === 0, `${f.serverErrors} answers with a 5xx status (must be 0)`],
    [
      f.tasksStarved! <= f.tasksStarvedBound!,
      `${f.tasksStarved} tasks of honest tenants left undecided (at most ${f.tasksStarvedBound}: what the hoarders may hold)`,
    ],
  ];
  if (size.steadyOverheadMaxPct !== null)
    claims.push([
      f.overheadSecondHalf! <= size.steadyOverheadMaxPct,
      `verification cost ${f.overheadSecondHalf}% once trust was built (at most ${size.steadyOverheadMaxPct}%)`,
    ]);
  return claims.filter(([holds]) => !holds).map(([, what]) => what);
}

/** An enrollment code of the operator's, for `uses` cars: one new owner per car, vouched for. */
async function vouchedCode(cluster: Cluster, uses: number): Promise<string> {
  const url = cluster.urls[0]!;
  const { token } = await createNightshiftClient({ url }).operator.auth.signIn.mutate(
    cluster.operator,
  );
  const operator = createNightshiftClient({ url, credential: token });
  return (await operator.operator.enrollmentCodes.create.mutate({ uses })).code;
}

interface Standing {
  tasks: number;
  decided: number;
  starved: boolean;
}

export async function adversaries(size: AdversariesSize): Promise<Figure[]> {
  const cluster = await startCluster({
    instances: 2,
    env: { NIGHTSHIFT_CANARY_RATE: String(DEFAULT_VERIFICATION.canaryRate) },
  });
  try {
    const log = new AdversaryLog();
    const cars = await enrollAdversaries(
      cluster.urls,
      size,
      await vouchedCode(cluster, vouchedCars(size)),
      log,
    );
    // The honest tenants, each on an instance of its own in turn.
    const tenants: NightshiftClient[] = [...cluster.tenantKeys.values()].map((key, i) =>
      createNightshiftClient({
        url: cluster.urls[i % cluster.urls.length]!,
        credential: key,
        fetch: countingFetch(log),
      }),
    );
    let salt = size.seed;
    const submit = async (tasks: number): Promise<string[]> => {
      const ids: string[] = [];
      for (const [i, tenant] of tenants.entries()) {
        const share = Math.floor(tasks / tenants.length) + (i < tasks % tenants.length ? 1 : 0);
        ids.push(...(await submitTasks(tenant, share, { salt: salt++, replication: "auto" })));
      }
      return ids;
    };

    const undecided = async (taskIds: readonly string[]) => {
      const { rows } = await cluster.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks
          WHERE id = ANY($1::uuid[]) AND status NOT IN ('valid', 'failed')`,
        [taskIds],
      );
      return rows[0]!.n;
    };
    const standing = async (ids: readonly string[]): Promise<Standing> => {
      const { rows } = await cluster.pool.query<{ tasks: number; decided: number }>(
        `SELECT count(*)::int AS tasks,
                count(*) FILTER (WHERE status IN ('valid', 'failed'))::int AS decided
           FROM tasks WHERE job_id = ANY($1)`,
        [ids],
      );
      return { ...rows[0]!, starved: honestStarved(cars, size.starvedAfterEmptyCalls) };
    };
    // Until every task is decided or the honest cars starve. A liar caught once the cars have
    // stopped has its unchecked answers reopened: then they go on, at most three times.
    const runUntilDecided = async (ids: readonly string[]): Promise<Standing> => {
      let now = await standing(ids);
      for (let round = 0; round < 3; round++) {
        const end = await withAdversaries(cars, { log, undecided }, () =>
          untilDone("every task decided, or the honest cars starved", () => standing(ids), {
            done: (s) => s.decided === s.tasks || s.starved,
            // Tasks decided, results taken, or the honest cars' idleness growing: any is progress.
            progress: (s) =>
              `${s.decided} ${log.accepted} ${Math.min(
                ...cars.filter((c) => HONEST_ROLES.includes(c.role)).map((c) => c.emptyStreak),
              )}`,
          }),
        );
        if (end.starved) return end;
        now = await standing(ids);
        if (now.decided === now.tasks) return now;
      }
      return now;
    };

    const startedAt = performance.now();
    const jobIds = await submit(size.tasks);
    let end = await runUntilDecided(jobIds);
    // A liar is caught by the lies the checks catch, and how many tasks it drew depends on the
    // fleet's timing. While one that has lied is free, more work, a batch at a time.
    const liarsFree = async (): Promise<number> => {
      const ids = cars
        .filter((c) => VOUCHED_LIARS.includes(c.role) && c.lies > 0)
        .map((c) => c.carId);
      const { rows } = await cluster.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM cars WHERE id = ANY($1::uuid[]) AND NOT quarantined`,
        [ids],
      );
      return rows[0]!.n;
    };
    // Whether the last round ended with the honest cars starved does not matter here: a server
    // that lets a hoarder hold some tasks still gives the honest cars the new ones.
    let catchUpTasks = 0;
    for (let batch = 1; batch <= size.catchUpBatches; batch++) {
      if ((await liarsFree()) === 0) break;
      const more = await submit(size.catchUpTasks);
      jobIds.push(...more);
      catchUpTasks += size.catchUpTasks;
      // All of the work: a liar caught now has earlier answers of its reopened.
      end = await runUntilDecided(jobIds);
    }
    const ms = performance.now() - startedAt;
    const final = await standing(jobIds);
    return await figuresOf(cluster, size, cars, log, jobIds, {
      ms,
      catchUpTasks,
      starved: end.starved,
      undecided: final.tasks - final.decided,
    });
  } finally {
    await cluster.stop();
  }
}

async function figuresOf(
  cluster: Cluster,
  size: AdversariesSize,
  cars: readonly AdversaryCar[],
  log: AdversaryLog,
  jobIds: readonly string[],
  run: { ms: number; catchUpTasks: number; starved: boolean; undecided: number },
): Promise<Figure[]> {
  const pool = cluster.pool;
  // Every identity a car had, with its role: a caught sybil's earlier ones included.
  const roleOf = new Map<string, Role>();
  for (const c of cars) for (const id of c.identities) roleOf.set(id, c.role);
  const identitiesOf = (roles: readonly Role[]) =>
    [...roleOf].filter(([, r]) => roles.includes(r)).map(([id]) => id);
  const { rows: perCar } = await pool.query<{
    id: string;
    quarantined: boolean;
    trusted: boolean;
  }>(
    `SELECT id, quarantined, consecutive_valid >= $2 AS trusted FROM cars WHERE id = ANY($1::uuid[])`,
    [[...roleOf.keys()], DEFAULT_VERIFICATION.trustAfterConsecutiveValid],
  );
  const trustedSybils = perCar.filter((c) => c.trusted && roleOf.get(c.id) === "sybil").length;
  const quarantined = (roles: readonly Role[]) =>
    perCar.filter((c) => c.quarantined && roles.includes(roleOf.get(c.id)!)).length;
  const carsOf = (role: Role) => cars.filter((c) => c.role === role);

  const a = await accounting(pool, jobIds);
  const decided = await acceptedAnswers(pool, jobIds);
  const wrong = decided.filter((d) => d.wrong);
  // How each wrong answer got through: whose it was, and the verdict that accepted it.
  const how = new Map<string, number>();
  for (const d of wrong) {
    const k = `${roleOf.get(d.carId) ?? "unknown"} replicas=${d.replicasRequired} support=${d.support} agreeing=${d.agreeing} disagreeing=${d.disagreeing}`;
    how.set(k, (how.get(k) ?? 0) + 1);
  }
  if (how.size > 0)
    console.log(
      `wrong answers accepted, by how:\n  ${[...how].map(([k, n]) => `${n} × ${k}`).join("\n  ")}`,
    );
  const paid = await overpayment(pool, jobIds);
  if (paid.byCar.size > 0)
    console.log(
      `paid above the server's estimate, by car:\n  ${[...paid.byCar]
        .map(([id, usd]) => `${roleOf.get(id) ?? "unknown"} ${id}: $${usd}`)
        .join("\n  ")}`,
    );
  if (log.serverErrors.length > 0) {
    // What the servers logged about them (their errors, at LOG_LEVEL warn).
    const logged = cluster.servers
      .flatMap((s) => s?.stderr().split("\n") ?? [])
      .filter((l) => l.includes('"level":50') || l.includes('"level":60'));
    console.log(
      `5xx answers:\n  ${log.serverErrors.slice(0, 20).join("\n  ")}\nserver errors logged:\n  ${logged.slice(0, 10).join("\n  ")}`,
    );
  }
  const halves = await executionsByHalf(pool, jobIds);
  const canaries = await canaryLeases(pool, jobIds);
  const detectorIds = new Set(identitiesOf(["detector"]));
  const toDetectors = canaries.filter((c) => detectorIds.has(c.carId));
  const { rows: held } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM leases WHERE car_id = ANY($1::uuid[]) AND status = 'active'`,
    [identitiesOf(["hoarder"])],
  );
  const liesBy = (roles: readonly Role[]) =>
    cars.filter((c) => roles.includes(c.role)).reduce((s, c) => s + c.lies, 0);
  const wrongBy = (role: Role) => wrong.filter((d) => roleOf.get(d.carId) === role).length;

  return figures({
    cars: [cars.length, "cars"],
    ...Object.fromEntries(ROLES.map((r) => [`${r}Cars`, [carsOf(r).length, "cars"] as const])),
    sybilIdentities: [identitiesOf(["sybil"]).length, "identities (a caught sybil enrolls again)"],
    reEnrollmentsRefused: [log.reEnrollmentsRefused, "fresh identities the demo code refused"],
    instances: [cluster.urls.length, "server processes"],
    seconds: [run.ms / 1000, "s"],
    tasks: [a.tasks, "tasks"],
    catchUpTasks: [run.catchUpTasks, "tasks added to catch every vouched liar"],
    honestStarvedAtEnd: [run.starved ? 1 : 0, "1 = the run ended with the honest cars starved"],
    tasksValid: [decided.length, "tasks"],
    tasksStarved: [run.undecided, "tasks of honest tenants not decided by the end"],
    tasksStarvedBound: [
      size.hoarders * DEFAULT_API_CONFIG.maxLeasePerCall,
      "tasks: one full lease call per hoarder",
    ],
    heldByHoardersAtEnd: [held[0]!.n, "active leases"],
    hoardedMax: [log.hoardedMax, "leases one hoarder held at once, at most"],
    hoarderRenewals: [log.hoarderRenewals, "renewals granted to leases nobody worked on"],
    wrongAccepted: [wrong.length, "tasks whose accepted answer is wrong"],
    ...Object.fromEntries(
      ROLES.filter((r) => !HONEST_ROLES.includes(r)).map((r) => [
        `wrongAcceptedFrom${r[0]!.toUpperCase()}${r.slice(1)}s`,
        [wrongBy(r), "tasks"] as const,
      ]),
    ),
    ...Object.fromEntries(
      ROLES.filter((r) => !HONEST_ROLES.includes(r)).map((r) => [
        `liesBy${r[0]!.toUpperCase()}${r.slice(1)}s`,
        [liesBy([r]), "results that disagree with the truth"] as const,
      ]),
    ),
    trustedSybils: [trustedSybils, "identities trusted at the end (≥ 10 consecutive valid)"],
    honestQuarantined: [quarantined(HONEST_ROLES), "cars (honest strangers included)"],
    sybilsQuarantined: [quarantined(["sybil"]), "identities"],
    vouchedLiarsQuarantined: [
      quarantined(VOUCHED_LIARS),
      `of ${cars.filter((c) => VOUCHED_LIARS.includes(c.role) && c.lies > 0).length} that lied`,
    ],
    paidEntries: [paid.paidEntries, "ledger entries paid"],
    paidUsd: [paid.paidUsd, "USD"],
    overpaidEntries: [paid.overpaidEntries, "entries paid above the server's estimate"],
    overpaymentUsd: [paid.overpaidUsd, "USD paid above the server's estimate"],
    forgedEnrollmentsRefused: [
      log.forgedEnrollmentsRefused,
      `of ${size.figureForgers} enrollments with a charge efficiency of 1e-300`,
    ],
    serverErrors: [log.serverErrors.length, "answers with a 5xx status"],
    results: [a.results, "results (executions)"],
    overhead: [extraPct(a), "% executions beyond one per task (results ÷ tasks − 1)"],
    overheadFirstHalf: [extraPct(halves.first), "% among the tasks validated in the first half"],
    overheadSecondHalf: [
      extraPct(halves.second),
      "% among the tasks validated in the second half (trust built)",
    ],
    canaries: [canaries.length, "canaries issued"],
    canariesToDetectors: [toDetectors.length, "canaries"],
    canariesSpotted: [
      toDetectors.filter((c) => log.flagged.has(c.leaseId)).length,
      "canaries the detectors told apart",
    ],
    detectorFlags: [log.flagged.size, "tasks the detectors took for canaries"],
    doubleCounted: [a.doubleCounted, "leases or tasks counted twice"],
    submitsRefused: [
      [...log.refused.values()].reduce((s, n) => s + n, 0),
      `results (${JSON.stringify(Object.fromEntries(log.refused))})`,
    ],
    calls: [log.answered, "calls answered"],
    callErrors: [
      [...log.errors.values()].reduce((s, n) => s + n, 0),
      `calls refused or failed (${JSON.stringify(Object.fromEntries(log.errors))})`,
    ],
  });
}
