// The cars of the adversaries test: light headless cars over real HTTP, each playing one part.
// Honest cars (vouched for by an operator's code) and honest strangers (the public demo code)
// answer truly; the others are the strangers of issue 13, each using only what any car may
// send and see:
// - sybils: groups enrolled through the demo code (free identities), every member of a group
//   returning the same wrong answer for the same input, so that members that meet on a task
//   agree; a caught one comes back under a fresh identity;
// - figure forgers: true answers, but enrolled with a tiny charge efficiency (the smallest the
//   server takes when it refuses that), charging at 350 kW with no departure, each run claimed
//   to last 24 h: pay that follows the car's word grows with all three;
// - hoarders: the biggest lease calls the server answers, again and again, every lease renewed
//   forever, nothing ever run;
// - canary detectors: honest until trusted, then lying on every task except those that look
//   like canaries by what a lease answer shows (order, expiry), with what the verdicts of their
//   honest start taught them about which signs to believe;
// - result forgers: wrong on half their tasks under their own vouched identities;
// - sleepers: honest until trusted, then always wrong.
//
// Nothing here decides by the clock: the pauses only pace the cars; the test waits for what the
// cars and the database report.
import { setTimeout as sleep } from "node:timers/promises";
import { runTiny } from "@nightshift/api/seed";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { apiErrorCode, isApiError } from "@nightshift/client/errors";
import { PLAUSIBLE_CHARGE_EFFICIENCY } from "@nightshift/core/pay";
import { outputsAgree, TOLERANCE_CROSS_BACKEND } from "@nightshift/core/verify";
import { DEFAULT_API_CONFIG } from "@nightshift/api/config";
import {
  type Answer,
  perturbing,
  rng,
  type Rng,
  sleeping,
  xOf,
} from "@nightshift/server-testkit/cars";
import { PUBLIC_DEMO_CODE, PARKED } from "@nightshift/server-testkit/serve";
import { HANG_MS } from "@nightshift/testkit/waits";

type EnrollInput = Parameters<NightshiftClient["node"]["enroll"]["mutate"]>[0];
/** A task of a lease answer, as a car reads it. */
type LeasedTask = Awaited<ReturnType<NightshiftClient["node"]["lease"]["mutate"]>>["tasks"][number];

export const ROLES = [
  "honest",
  "stranger",
  "sybil",
  "figureForger",
  "hoarder",
  "detector",
  "resultForger",
  "sleeper",
] as const;
export type Role = (typeof ROLES)[number];

/** Cars that answer every task truly: none of them may lose its standing. */
export const HONEST_ROLES: readonly Role[] = ["honest", "stranger"];
/** Cars that lie under identities an operator vouched for: each lie must be caught. */
export const VOUCHED_LIARS: readonly Role[] = ["detector", "resultForger", "sleeper"];

/**
 * Where each role's identity comes from: an operator's code (one new owner per car, vouched for)
 * or the public demo code (an owner nobody vouched for, free: the cheapest identity there is).
 */
const IDENTITY: Record<Role, "vouched" | "demo"> = {
  honest: "vouched",
  stranger: "demo",
  sybil: "demo",
  figureForger: "vouched",
  hoarder: "demo",
  detector: "vouched",
  resultForger: "vouched",
  sleeper: "vouched",
};

/** A car that reports charging at the fastest public charger's power, with no departure. */
const FORGED_CHARGING = {
  state: "charging",
  socPct: 80,
  pluggedIn: true,
  chargerKW: 350,
  predictedDepartureAt: null,
  batteryTempC: 20,
} as const;

/** The charge efficiency a figure forger asks for first: pay that divides by it explodes. */
const FORGED_CHARGE_EFFICIENCY = 1e-300;
/** The longest run the submit schema takes, ms (24 h), and what an honest car reports. */
const FORGED_DURATION_MS = 24 * 3600 * 1000;
const HONEST_DURATION_MS = 1;

/** How a fleet's cars pace themselves: parked cars as in the server's fleet tests. */
const HEARTBEAT_EVERY_MS = 2000;
const IDLE_MS = 300;
/** Tasks per lease call: a car's usual, and the most the server answers (a hoarder's). */
const LEASE_MAX = 4;
const HOARD_MAX = DEFAULT_API_CONFIG.maxLeasePerCall;
/** Lease ids one heartbeat or renew call may name (their schemas' limit). */
const IDS_PER_CALL = 256;

export interface AdversaryCar {
  index: number;
  role: Role;
  /** A sybil's group (the same wrong answer for the same input); -1 for other roles. */
  group: number;
  carId: string;
  client: NightshiftClient;
  /** The instance it calls (car i at instance i mod n). */
  url: string;
  random: Rng;
  /** Every identity it has had: a caught sybil enrolls again. */
  identities: string[];
  /** Fresh identities it may still take. */
  rebirthsLeft: number;
  /** Results it gave that disagree with the truth. */
  lies: number;
  /** Lease calls in a row that brought nothing to decide (see lease). */
  emptyStreak: number;
  /** Quarantined for good (a caught sybil with no identity left, any other caught car). */
  out: boolean;
  /** A hoarder's leases, held and renewed without ever being run. */
  held: string[];
  /** What the car answers for each task of one lease answer (hoarders answer nothing). */
  answer: (tasks: readonly LeasedTask[], asked: number) => number[][];
  /** What the car learns from its verdicts (detectors). */
  learn: (tasks: readonly LeasedTask[], asked: number, verdicts: (string | null)[]) => void;
}

/** What the cars saw, for the figures and for the waits. */
export class AdversaryLog {
  /** Calls answered: the fleet's progress. */
  answered = 0;
  /** Results the servers accepted. */
  accepted = 0;
  /** Calls refused or failed, by code ("NETWORK": no answer). */
  readonly errors = new Map<string, number>();
  /** Every answer with an HTTP status of 500 or more: what was called, and the status. */
  readonly serverErrors: string[] = [];
  /** Results refused, by the server's reason. */
  readonly refused = new Map<string, number>();
  /** Detectors: the leases they took for canaries (and answered truly). */
  readonly flagged = new Set<string>();
  /** Hoarders: the most leases one of them held at once, and renewals granted to them. */
  hoardedMax = 0;
  hoarderRenewals = 0;
  /** Figure forgers whose tiny charge efficiency was refused at enrollment. */
  forgedEnrollmentsRefused = 0;
  /** Caught sybils that came back under a fresh identity, and those the demo code refused. */
  reEnrollments = 0;
  reEnrollmentsRefused = 0;
}

/** Counts every answer with a 5xx status, whatever the call, before tRPC reads it. */
export function countingFetch(log: AdversaryLog): typeof fetch {
  return async (input, init) => {
    const answer = await fetch(input, init);
    if (answer.status >= 500) {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      log.serverErrors.push(`${new URL(url).pathname} → ${answer.status}`);
    }
    return answer;
  };
}

/** One call: answered is progress; a refusal is counted by its code and thrown. */
async function call<T>(log: AdversaryLog, fn: () => Promise<T>): Promise<T> {
  try {
    const out = await fn();
    log.answered += 1;
    return out;
  } catch (error) {
    const code = apiErrorCode(error) ?? "NETWORK";
    log.errors.set(code, (log.errors.get(code) ?? 0) + 1);
    throw error;
  }
}

/**
 * One enrollment; past the anonymous rate limit it waits and tries again, as a car would, for
 * as long as the limit refills (HANG_MS without one going through is a hang).
 */
async function enrollOnce(
  anonymous: NightshiftClient,
  input: EnrollInput,
  stopped: () => boolean = () => false,
) {
  const giveUpAt = performance.now() + HANG_MS;
  for (;;) {
    try {
      return await anonymous.node.enroll.mutate(input);
    } catch (error) {
      const limited = apiErrorCode(error) === "TOO_MANY_REQUESTS";
      if (!limited || performance.now() > giveUpAt || stopped()) throw error;
      await sleep(200 + 300 * Math.random());
    }
  }
}

const truth = (task: LeasedTask) => runTiny(xOf(task.input));
const isLie = (task: LeasedTask, output: readonly number[]) =>
  !outputsAgree(output, truth(task), TOLERANCE_CROSS_BACKEND);

/**
 * Whether the task at `i` of a lease answer looks like a canary, by each sign a car can read in
 * the answer: its expiry (real tasks of one call share one; a canary stamped after them differs)
 * and its place (a canary is added last, and only to a call the real work did not fill).
 */
export function canarySigns(
  tasks: readonly LeasedTask[],
  i: number,
  asked: number,
): { expiry: boolean; order: boolean } {
  const others = tasks.filter((_, k) => k !== i);
  return {
    expiry: others.length > 0 && others.every((o) => o.expiresAt !== tasks[i]!.expiresAt),
    order: tasks.length < asked && i === tasks.length - 1,
  };
}

/**
 * A canary detector: honest for its first `honestFirst` tasks, then lying on every task that
 * shows no sign it believes. While it is honest, and so not yet trusted, its real work is
 * replicated and mostly answers "pending"; a verdict that comes at once marks a canary (or a
 * result that completed a quorum). A sign it has seen on tasks that mostly got "pending" it
 * stops believing; one it has not seen yet it believes.
 */
function detector(honestFirst: number, log: AdversaryLog) {
  const seen = { expiry: { shown: 0, atOnce: 0 }, order: { shown: 0, atOnce: 0 } };
  const believed = (s: keyof typeof seen) =>
    seen[s].shown === 0 || seen[s].atOnce * 2 >= seen[s].shown;
  let answered = 0;
  /** Whether the last lease answer was answered truly throughout (what `learn` learns from). */
  let lastHonest = true;
  return {
    answer(tasks: readonly LeasedTask[], asked: number, random: Rng): number[][] {
      const lying = answered >= honestFirst;
      lastHonest = !lying;
      return tasks.map((t, i) => {
        answered += 1;
        if (!lying) return truth(t);
        const signs = canarySigns(tasks, i, asked);
        if ((signs.expiry && believed("expiry")) || (signs.order && believed("order"))) {
          log.flagged.add(t.leaseId);
          return truth(t);
        }
        return perturbing(1)(xOf(t.input), random);
      });
    },
    learn(tasks: readonly LeasedTask[], asked: number, verdicts: (string | null)[]) {
      if (!lastHonest) return;
      tasks.forEach((_, i) => {
        const signs = canarySigns(tasks, i, asked);
        const atOnce = verdicts[i] === "valid" || verdicts[i] === "invalid";
        for (const s of ["expiry", "order"] as const) {
          if (!signs[s]) continue;
          seen[s].shown += 1;
          if (atOnce) seen[s].atOnce += 1;
        }
      });
    },
  };
}

/** A sybil group's wrong answer: the same for every member, different for each group. */
const sybilAnswer = (group: number) => (x: readonly number[]) =>
  runTiny(x).map((v) => v * 2 + 1 + group);

export interface AdversaryCounts {
  honest: number;
  strangers: number;
  sybilGroups: number;
  sybilsPerGroup: number;
  sybilRebirths: number;
  figureForgers: number;
  hoarders: number;
  detectors: number;
  resultForgers: number;
  sleepers: number;
  /** Tasks a sleeper or detector answers truly first (trust comes after 10 consecutive valid). */
  honestFirst: number;
  /** Share of its tasks a result forger lies on. */
  resultForgerLieRate: number;
  seed: number;
}

/** The roles of a fleet of these counts, car by car, each sybil with its group. */
function castOf(c: AdversaryCounts): { role: Role; group: number }[] {
  const cast: { role: Role; group: number }[] = [];
  const add = (role: Role, n: number) => {
    for (let i = 0; i < n; i++) cast.push({ role, group: -1 });
  };
  add("honest", c.honest);
  add("stranger", c.strangers);
  for (let g = 0; g < c.sybilGroups; g++)
    for (let i = 0; i < c.sybilsPerGroup; i++) cast.push({ role: "sybil", group: g });
  add("figureForger", c.figureForgers);
  add("hoarder", c.hoarders);
  add("detector", c.detectors);
  add("resultForger", c.resultForgers);
  add("sleeper", c.sleepers);
  return cast;
}

/** How many cars of a fleet of these counts enroll with an operator's code. */
export function vouchedCars(c: AdversaryCounts): number {
  return castOf(c).filter(({ role }) => IDENTITY[role] === "vouched").length;
}

/**
 * Enrolls the fleet, 20 cars at a time, car i at instance i mod n: vouched roles with
 * `vouchedCode` (an operator's, one new owner per car), the others with the demo code.
 */
export async function enrollAdversaries(
  urls: readonly string[],
  counts: AdversaryCounts,
  vouchedCode: string,
  log: AdversaryLog,
): Promise<AdversaryCar[]> {
  const fetchFn = countingFetch(log);
  const anonymous = urls.map((url) => createNightshiftClient({ url, fetch: fetchFn }));
  const cast = castOf(counts);
  const cars: AdversaryCar[] = [];
  for (let from = 0; from < cast.length; from += 20) {
    const batch = cast.slice(from, from + 20).map(async ({ role, group }, k) => {
      const index = from + k;
      const url = urls[index % urls.length]!;
      const anon = anonymous[index % urls.length]!;
      const code = IDENTITY[role] === "vouched" ? vouchedCode : PUBLIC_DEMO_CODE;
      const name = `${role}-${index}`;
      let enrolled;
      if (role === "figureForger") {
        try {
          enrolled = await enrollOnce(anon, {
            code,
            name,
            chargeEfficiency: FORGED_CHARGE_EFFICIENCY,
          });
        } catch (error) {
          if (apiErrorCode(error) !== "BAD_REQUEST") throw error;
          log.forgedEnrollmentsRefused += 1;
          enrolled = await enrollOnce(anon, {
            code,
            name,
            chargeEfficiency: PLAUSIBLE_CHARGE_EFFICIENCY.min,
          });
        }
      } else {
        enrolled = await enrollOnce(anon, { code, name });
      }
      const random = rng(counts.seed * 100_003 + index);
      const plain = (answer: Answer) => (tasks: readonly LeasedTask[]) =>
        tasks.map((t) => answer(xOf(t.input), random));
      const spy = role === "detector" ? detector(counts.honestFirst, log) : null;
      const answer: AdversaryCar["answer"] =
        role === "sybil"
          ? plain(sybilAnswer(group))
          : role === "resultForger"
            ? plain(perturbing(counts.resultForgerLieRate))
            : role === "sleeper"
              ? plain(sleeping(counts.honestFirst))
              : spy
                ? (tasks, asked) => spy.answer(tasks, asked, random)
                : plain((x) => runTiny(x));
      const car: AdversaryCar = {
        index,
        role,
        group,
        carId: enrolled.carId,
        client: createNightshiftClient({ url, credential: enrolled.credential, fetch: fetchFn }),
        url,
        random,
        identities: [enrolled.carId],
        rebirthsLeft: role === "sybil" ? counts.sybilRebirths : 0,
        lies: 0,
        emptyStreak: 0,
        out: false,
        held: [],
        answer,
        learn: spy ? (tasks, asked, verdicts) => spy.learn(tasks, asked, verdicts) : () => {},
      };
      return car;
    });
    cars.push(...(await Promise.all(batch)));
  }
  return cars;
}

/** What every car's loop needs: the log, and whether (and when) the fleet stops. */
interface FleetControl {
  log: AdversaryLog;
  stopped: () => boolean;
  stopping: Promise<void>;
  /** A fresh identity from the demo code, for a caught sybil. */
  reEnroll: (car: AdversaryCar) => Promise<void>;
  /** How many of these tasks are still to be decided (the database's answer, not a car's). */
  undecided: (taskIds: readonly string[]) => Promise<number>;
}

/** A pause that ends early when the fleet stops. */
const pause = (f: FleetControl, ms: number, random: Rng) =>
  Promise.race([sleep(ms * (0.5 + random.next())), f.stopping]);

/** Runs one pass of a car's loop; a refusal or failed call is counted, paced and survived. */
async function survive(f: FleetControl, car: AdversaryCar, pass: () => Promise<void>) {
  try {
    await pass();
  } catch (error) {
    if (!isApiError(error)) throw error;
    await pause(f, IDLE_MS, car.random);
  }
}

const heartbeatOf = (role: Role) =>
  role === "figureForger" || role === "hoarder" ? FORGED_CHARGING : PARKED;

/** Leases up to `max` tasks; a car told it is quarantined is out, unless it may enroll again. */
async function lease(f: FleetControl, car: AdversaryCar, max: number): Promise<LeasedTask[]> {
  const { tasks, reason } = await call(f.log, () => car.client.node.lease.mutate({ max }));
  // What counts as work, for an honest car's streak: a task still to be decided. A call the
  // open work did not fill may bring a canary alone (a task decided long ago), and on a server
  // whose work is all held elsewhere that is all an honest car gets.
  const worked =
    tasks.length === max ||
    (tasks.length > 0 &&
      (!HONEST_ROLES.includes(car.role) || (await f.undecided(tasks.map((t) => t.taskId))) > 0));
  car.emptyStreak = worked ? 0 : car.emptyStreak + 1;
  if (tasks.length > 0) return tasks;
  if (reason === "quarantined") {
    if (car.rebirthsLeft === 0) car.out = true;
    else {
      try {
        await f.reEnroll(car);
      } catch (error) {
        // The code took no more cars (a bounded demo code): no identity left. (Still limited
        // when the fleet stopped: it tries again next time.)
        if (!isApiError(error) || apiErrorCode(error) === "TOO_MANY_REQUESTS") throw error;
        f.log.reEnrollmentsRefused += 1;
        car.out = true;
      }
    }
  }
  return [];
}

/** Runs the car's answers for the tasks of one lease call and hands them in, in one call. */
async function answerAndSubmit(
  f: FleetControl,
  car: AdversaryCar,
  tasks: LeasedTask[],
  max: number,
  outputs: number[][] = car.answer(tasks, max),
) {
  tasks.forEach((t, i) => {
    if (isLie(t, outputs[i]!)) car.lies += 1;
  });
  const durationMs = car.role === "figureForger" ? FORGED_DURATION_MS : HONEST_DURATION_MS;
  const { results } = await call(f.log, () =>
    car.client.node.submitMany.mutate({
      results: tasks.map((t, i) => ({
        leaseId: t.leaseId,
        output: outputs[i]!,
        durationMs,
        backend: "native" as const,
      })),
    }),
  );
  for (const r of results) {
    if (r.accepted) f.log.accepted += 1;
    else f.log.refused.set(r.reason ?? "none", (f.log.refused.get(r.reason ?? "none") ?? 0) + 1);
  }
  car.learn(
    tasks,
    max,
    results.map((r) => r.verdict),
  );
}

/** Heartbeat, lease, answer, submit: every role but the hoarder. */
async function soloCar(f: FleetControl, car: AdversaryCar): Promise<void> {
  let lastBeat = -Infinity;
  while (!f.stopped() && !car.out) {
    await survive(f, car, async () => {
      if (performance.now() - lastBeat > HEARTBEAT_EVERY_MS) {
        await call(f.log, () => car.client.node.heartbeat.mutate(heartbeatOf(car.role)));
        lastBeat = performance.now();
      }
      const tasks = await lease(f, car, LEASE_MAX);
      if (tasks.length === 0) await pause(f, IDLE_MS, car.random);
      else await answerAndSubmit(f, car, tasks, LEASE_MAX);
    });
  }
}

/**
 * A hoarder: the biggest lease calls, one after another, and every lease it holds renewed at
 * each heartbeat (named in the heartbeat, and through node.renew), nothing ever run.
 */
async function hoarder(f: FleetControl, car: AdversaryCar): Promise<void> {
  let lastBeat = -Infinity;
  while (!f.stopped()) {
    await survive(f, car, async () => {
      if (performance.now() - lastBeat > HEARTBEAT_EVERY_MS) {
        const beat = await call(f.log, () =>
          car.client.node.heartbeat.mutate({
            ...FORGED_CHARGING,
            leaseIds: car.held.slice(0, IDS_PER_CALL),
          }),
        );
        f.log.hoarderRenewals += beat.renewed;
        const lost = new Set<string>();
        for (let from = IDS_PER_CALL; from < car.held.length; from += IDS_PER_CALL) {
          const leaseIds = car.held.slice(from, from + IDS_PER_CALL);
          const out = await call(f.log, () => car.client.node.renew.mutate({ leaseIds }));
          f.log.hoarderRenewals += out.renewed.length;
          for (const id of out.lost) lost.add(id);
        }
        car.held = car.held.filter((id) => !lost.has(id));
        lastBeat = performance.now();
      }
      const tasks = await lease(f, car, HOARD_MAX);
      car.held.push(...tasks.map((t) => t.leaseId));
      f.log.hoardedMax = Math.max(f.log.hoardedMax, car.held.length);
      await pause(f, IDLE_MS, car.random);
    });
  }
}

/** Whether every honest car still working asked `emptyCalls` times in a row and got nothing to decide. */
export function honestStarved(cars: readonly AdversaryCar[], emptyCalls: number): boolean {
  return cars
    .filter((c) => HONEST_ROLES.includes(c.role) && !c.out)
    .every((c) => c.emptyStreak >= emptyCalls);
}

/**
 * Runs the cars while `drive` waits for what the test waits for; when it returns (or fails),
 * the cars stop after their call under way. A car's own failure (not a refusal: a defect of
 * this test) stops everything and is thrown.
 */
export async function withAdversaries<T>(
  cars: readonly AdversaryCar[],
  o: { log: AdversaryLog; undecided: FleetControl["undecided"] },
  drive: () => Promise<T>,
): Promise<T> {
  const log = o.log;
  let stop = false;
  let signal!: () => void;
  const stopping = new Promise<void>((resolve) => (signal = resolve));
  const demo = new Map(
    cars.map((c) => [c.url, createNightshiftClient({ url: c.url, fetch: countingFetch(log) })]),
  );
  const f: FleetControl = {
    log,
    undecided: o.undecided,
    stopped: () => stop,
    stopping,
    async reEnroll(car) {
      const enrolled = await enrollOnce(
        demo.get(car.url)!,
        { code: PUBLIC_DEMO_CODE, name: `${car.role}-${car.index}-${car.identities.length}` },
        () => stop,
      );
      car.carId = enrolled.carId;
      car.client = createNightshiftClient({
        url: car.url,
        credential: enrolled.credential,
        fetch: countingFetch(log),
      });
      car.identities.push(enrolled.carId);
      car.rebirthsLeft -= 1;
      car.emptyStreak = 0;
      log.reEnrollments += 1;
    },
  };
  for (const c of cars) c.emptyStreak = 0;
  const loops = cars.map((c) => (c.role === "hoarder" ? hoarder(f, c) : soloCar(f, c)));
  const working = Promise.all(loops);
  // Settles only when a car fails; handled here so that a failure after `drive` is not lost
  // as an unhandled rejection (the race below has already settled then).
  const failed = new Promise<never>((_, reject) => void working.catch(reject));
  failed.catch(() => {});
  const stopAll = () => {
    stop = true;
    signal();
  };
  try {
    const value = await Promise.race([drive(), failed]);
    stopAll();
    await working;
    return value;
  } catch (error) {
    stopAll();
    await working.catch(() => {});
    throw error;
  }
}
