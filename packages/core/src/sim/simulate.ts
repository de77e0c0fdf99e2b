// The fleet simulator: N cars with daily patterns in several grid zones, a workload from several
// tenants, and the same scheduler, energy model and verification rules as the server. Event
// driven and seeded: the same options give the same result, byte for byte.
//
// A car runs a "run": consecutive inferences of one job, bound by the scheduler in one decision
// and simulated as one event. Cars ask for work when they park and when a run ends (late
// binding); every tick the queue is also placed onto idle cars in one batch, and borrowed work is
// reclaimed for tenants below their guarantee.
import FlatQueue from "flatqueue";
import { workCost, type CostConfig, type WorkCost } from "../energy";
import { hardwareById, REFERENCE_GPU } from "../hardware";
import { type OffsetTable, validateOffsets } from "../local-time";
import { createRng, type Rng } from "../random";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleConfig,
  type ScheduleContext,
} from "../schedule/config";
import { decide, type TenantState } from "../schedule/decide";
import { carRejection, inferenceS } from "../schedule/filters";
import { place } from "../schedule/place";
import { WorkQueue } from "../schedule/queue";
import { carbonAt, priceAt } from "../tariff";
import {
  demandSlots,
  entitlements,
  meanSustainedTops,
  preemptions,
  reclaimDue,
  type RunningSlot,
} from "../tenants";
import type {
  ModelSpec,
  Objective,
  OwnerPolicy,
  Region,
  Reputation,
  Tenant,
  Vehicle,
  WorkItem,
} from "../types";
import {
  afterResult,
  afterValidResults,
  decideQuorum,
  isTrusted,
  judgedBy,
  DEFAULT_VERIFICATION,
  replicasFor,
  TOLERANCE_CROSS_BACKEND,
  validatedReplicas,
  type ReplicaResult,
  type VerificationConfig,
} from "../verify";
import {
  type CarProfile,
  carSeed,
  drawCar,
  firstStay,
  lifeRng,
  socOnArrival,
  type StayPlan,
  stayOnArrival,
  tripFrom,
  tripKWh,
} from "./car-life";
import { DAY_S, HOUR_S, type Place } from "./mobility";
import { DEFAULT_SCENARIO, type Scenario } from "./scenario";

export interface SimOptions {
  vehicles: number;
  hours: number;
  seed: number;
  scenario?: Scenario;
  /**
   * UTC offsets of each of the scenario's time zones, by zone name, in sim time (seconds since the
   * UTC midnight the run starts at) over the run and a day or two around it. The shell works them
   * out from the zones and the start date (`@nightshift/time-zones`); core reads them as data.
   */
  offsets: Readonly<Record<string, OffsetTable>>;
  schedule?: Partial<Omit<ScheduleConfig, "cost" | "weights">>;
  verification?: Partial<VerificationConfig>;
  /** Called after each tick with the share of simulated time done (0..1). */
  onProgress?: (doneShare: number) => void;
  /** Called as each run is bound, before it starts: for tests and tracing. */
  onBind?: (bind: {
    car: Vehicle;
    item: WorkItem;
    inferences: number;
    ctx: ScheduleContext;
  }) => void;
  /**
   * Called as each job arrives: the workload the run drew, so that a replay can submit the same
   * jobs to a real server (the draws interleave with placement's, so they cannot be drawn apart).
   */
  onJob?: (job: SimJob) => void;
}

/** A job of the simulated workload as it arrived. */
export interface SimJob {
  id: string;
  tenantId: string;
  modelId: string;
  priority: number;
  /** Seconds since the run's start (its UTC midnight). */
  arrivalS: number;
  deadlineS: number;
  replication: number | "auto";
  objective: Objective;
  inferences: number;
}

export interface TenantSummary {
  id: string;
  quotaShare: number;
  /** Share of all demanded compute that this tenant asked for. */
  demandShare: number;
  /** Share of all validated compute that went to this tenant. */
  deliveredShare: number;
  /** Jobs finished by their deadline, of those whose deadline fell inside the run; null if none. */
  deadlineAttainment: number | null;
  jobs: { arrived: number; completed: number };
  /** Time-averaged share of the fleet's running work that was this tenant's. */
  usageShare: number;
  /** Time-averaged min(1, usage ÷ guaranteed) over samples where it was guaranteed ≥ 1 car. */
  quotaAttainment: number | null;
}

export interface SimSummary {
  vehicles: number;
  hours: number;
  seed: number;
  scenario: string;
  parkedShare: number;
  pluggedShare: number;
  eligibleShare: number;
  tasksCompleted: number;
  tasksLostToDepartures: number;
  tasksPreempted: number;
  runs: number;
  energyKWh: number;
  gridEnergyKWh: number;
  batteryEnergyKWh: number;
  costUsd: number;
  carbonKg: number;
  ownerPayoutUsd: number;
  costUsdPerKWh: number | null;
  costUsdPerMillionTasks: number | null;
  availableKW: { peak: number; mean: number; min: number };
  availableTops: { peak: number; mean: number; min: number };
  referenceDatacenterMW: number;
  referenceDatacenter: string;
  /** Available compute ÷ the reference datacenter's (its GPUs × the H100's dense INT8 TOPS). */
  datacenterEquivalents: { peak: number; mean: number };
  /** Available power ÷ the reference datacenter's power. */
  datacenterPowerEquivalents: { peak: number; mean: number };
  h100Equivalents: { peak: number; mean: number };
  /** Min over departures of (charge − owner reserve), percentage points. */
  minReserveMarginPct: number;
  /** Departures below the owner's departure minimum, of cars that computed during that stay. */
  departuresBelowOwnerMinimum: number;
  departures: number;
  verification: {
    validatedGroups: number;
    replicaTasks: number;
    /** Extra executions for verification ÷ validated tasks. */
    overheadShare: number;
    wrongResultsAccepted: number;
    failedGroups: number;
    cheaters: number;
    /** Cheaters that returned at least one checked result. */
    cheatersActive: number;
    cheatersQuarantined: number;
    honestQuarantined: number;
  };
  tenants: TenantSummary[];
}

export interface SimSample {
  t: number;
  parked: number;
  plugged: number;
  eligible: number;
  availableKW: number;
  runningTasks: number;
  priceUsdPerKWh: number;
  carbonGPerKWh: number;
  queued: number;
}

export interface SimResult {
  summary: SimSummary;
  series: SimSample[];
}

// ---- internal state ----

const enum Honesty {
  Honest,
  /** Returns a perturbed output for a share of its tasks. */
  Cheater,
  /** Returns the same wrong output as every other colluder. */
  Colluder,
}

/** Share of a cheater's tasks it fakes; a run is wrong when any of its tasks is. */
const CHEAT_PROBABILITY = 0.05;
const COLLUDED_OUTPUT = [0.5];
const TRUE_OUTPUT = 1;
/** Share of the run cap a primary run may fill on the fleet's median car, so replicas fit too. */
const REPLICA_FRIENDLY_RUN_SHARE = 1;

interface Job {
  id: string;
  tenantId: string;
  model: ModelSpec;
  priority: number;
  arrivalS: number;
  deadlineS: number;
  replication: number | "auto";
  objective: Objective;
  total: number;
  validated: number;
  /** The job's waiting inferences; null while none wait. */
  primary: WorkItem | null;
  items: number;
  completedS: number | null;
  maxRunInferences: number;
}

interface Group {
  id: string;
  job: Job;
  inferences: number;
  required: number;
  results: ReplicaResult[];
  /** The car and cost behind each result, by result index. */
  cars: SimCar[];
  /** What each result's owner is owed if it validates (a number, not the cost record: groups
   * can wait hours for a replica, and a million cars keep many of them alive). */
  payoutsUsd: number[];
  inFlight: number;
  replicas: number;
  /** Cars and owners that ran or run this work; every replica item shares these lists. */
  vehicles: string[];
  owners: string[];
  /** Replica items still waiting in the queue. */
  queued: WorkItem[];
  decided: boolean;
}

interface Run {
  job: Job;
  group: Group | null;
  item: WorkItem;
  inferences: number;
  startS: number;
  endS: number;
  perInferenceS: number;
}

interface SimCar extends Vehicle {
  index: number;
  regionIndex: number;
  /** Who the car is, as a simulated vehicle node of the same seed and index draws it. */
  profile: CarProfile;
  /** Its own seed (carSeed), and the steps of its life so far (each departure and arrival). */
  seed: number;
  step: number;
  place: Place | "driving";
  /** The region's offsets: the car's local time. */
  offsets: OffsetTable;
  lastS: number;
  /** Actual time of the next departure or arrival. */
  nextMoveS: number;
  tripTo: Place;
  tripKWh: number;
  run: Run | null;
  honesty: Honesty;
  computedThisStay: boolean;
  idleSlot: number;
}

export function simulate(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

/** The offsets given for a region's zone; a missing or malformed table names the region. */
function offsetsOf(
  all: Readonly<Record<string, OffsetTable>> | undefined,
  timeZone: string,
  regionIndex: number,
): OffsetTable {
  const table = all !== undefined && Object.hasOwn(all, timeZone) ? all[timeZone] : undefined;
  if (table === undefined) {
    throw new RangeError(
      `offsets: none for time zone "${timeZone}" (regions[${regionIndex}]); ` +
        "the caller works them out from the zone and the start date",
    );
  }
  try {
    validateOffsets(table);
  } catch (error) {
    throw new RangeError(`offsets["${timeZone}"]: ${(error as Error).message}`);
  }
  return table;
}

class Simulation {
  private readonly scenario: Scenario;
  private readonly rng: Rng;
  private readonly verifyRng: Rng;
  private readonly ctx: ScheduleContext & { nowS: number };
  private readonly vcfg: VerificationConfig;
  /** How a job with an explicit replica count is judged (built once: evaluate is hot). */
  private readonly vcfgExplicit: VerificationConfig;
  private readonly cost: CostConfig;
  private readonly regions: Region[];
  private readonly tenants: Tenant[];
  private readonly models: Map<string, ModelSpec>;
  private readonly cars: SimCar[] = [];
  private readonly events = new FlatQueue<number>();
  private readonly queue: WorkQueue;
  private readonly usage = new Map<string, number>();
  private readonly runningByTenant = new Map<string, Set<SimCar>>();
  private readonly idle: SimCar[] = [];
  private readonly endS: number;
  private state: TenantState;
  private capacity = 0;
  private meanSustainedTops = 0;
  private medianSustainedTops = 0;
  private seq = 0;
  private jobs: Job[] = [];

  // figures
  private readonly series: SimSample[] = [];
  private readonly totals = {
    tasksCompleted: 0,
    tasksLost: 0,
    tasksPreempted: 0,
    runs: 0,
    energyKWh: 0,
    gridKWh: 0,
    batteryKWh: 0,
    costUsd: 0,
    carbonG: 0,
    payoutUsd: 0,
    minReserveMarginPct: Infinity,
    belowMinimum: 0,
    departures: 0,
    validatedGroups: 0,
    replicaTasks: 0,
    wrongAccepted: 0,
    failedGroups: 0,
  };
  private readonly availKW: number[] = [];
  private readonly availTops: number[] = [];
  private readonly demandTeraOps = new Map<string, number>();
  private readonly deliveredTeraOps = new Map<string, number>();
  private readonly usageSum = new Map<string, number>();
  private readonly quotaSum = new Map<string, { sum: number; n: number }>();
  private runningSum = 0;

  constructor(private readonly options: SimOptions) {
    const { vehicles, hours, seed } = options;
    if (!Number.isInteger(vehicles) || vehicles < 0)
      throw new RangeError(`vehicles must be an integer ≥ 0, got ${vehicles}`);
    if (!(hours > 0) || !Number.isFinite(hours))
      throw new RangeError(`hours must be a number > 0, got ${hours}`);
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.scenario = options.scenario ?? DEFAULT_SCENARIO;
    // Cars live on generators of their own (car-life.ts), seeded by `seed` and their index.
    const root = createRng(seed);
    root.fork();
    this.verifyRng = root.fork();
    this.rng = root;
    this.endS = hours * HOUR_S;
    this.cost = { ...DEFAULT_SCHEDULE_CONFIG.cost, ...this.scenario.cost };
    this.vcfg = { ...DEFAULT_VERIFICATION, ...options.verification };
    this.vcfgExplicit = judgedBy(1, this.vcfg);
    this.regions = this.scenario.regions.map(({ fleetShare: _share, ...region }, i) => ({
      ...region,
      offsets: offsetsOf(options.offsets, region.timeZone, i),
    }));
    this.ctx = {
      nowS: 0,
      regions: new Map(this.regions.map((r) => [r.id, r])),
      config: { ...DEFAULT_SCHEDULE_CONFIG, ...options.schedule, cost: this.cost },
    };
    this.tenants = this.scenario.tenants.map((t) => ({ ...t, paused: false }));
    this.models = new Map(this.scenario.models.map((m) => [m.id, m]));
    for (const t of this.tenants) {
      this.usage.set(t.id, 0);
      this.runningByTenant.set(t.id, new Set());
    }
    this.queue = new WorkQueue((item) => this.slotsOf(item));
    this.state = { tenants: this.tenants, usage: this.usage, entitlements: new Map() };
    this.createFleet();
  }

  run(): SimResult {
    const { tickS, sampleS } = this.scenario;
    let nextTick = 0;
    let nextSample = 0;
    for (;;) {
      const nextEvent = this.events.length > 0 ? (this.events.peekValue() as number) : Infinity;
      const t = Math.min(nextEvent, nextTick, nextSample);
      if (t >= this.endS) break;
      this.ctx.nowS = t;
      if (nextSample === t) {
        this.sample(t);
        nextSample += sampleS;
      } else if (nextTick === t) {
        this.tick(t);
        nextTick += tickS;
        this.options.onProgress?.(Math.min(1, nextTick / this.endS));
      } else {
        const id = this.events.pop() as number;
        const car = this.cars[id >> 1] as SimCar;
        if ((id & 1) === 0) this.move(car, t);
        else if (car.run !== null && car.run.endS === t)
          this.endRun(car, t, car.run.inferences, "done");
      }
    }
    return this.result();
  }

  // ---- fleet ----

  private createFleet(): void {
    const s = this.scenario;
    const seed = this.options.seed;
    // Owners with the same limits share one policy object: a million cars, a few hundred policies.
    const policies = new Map<string, OwnerPolicy>();
    const sustained: number[] = [];

    for (let i = 0; i < this.options.vehicles; i++) {
      const ownSeed = carSeed(seed, i);
      const rng = lifeRng(ownSeed, 0);
      const profile = drawCar(s, rng);
      const region = this.regions[profile.regionIndex] as Region;
      const hw = hardwareById(profile.hardwareId);
      const { optedIn, allowedHours, reservePct, minDepartureChargePct } = profile.policy;
      const key = `${optedIn}/${allowedHours.startHour}/${allowedHours.endHour}/${reservePct}/${minDepartureChargePct}`;
      let policy = policies.get(key);
      if (!policy) {
        policy = profile.policy;
        policies.set(key, policy);
      }
      const stay = firstStay(s, profile, 0, region.offsets, rng);
      // Honesty is the simulator's own question: a stream apart, so cars live the same lives.
      const honestyRng = lifeRng(ownSeed, -1);
      const honesty = honestyRng.chance(s.verification.colluderShare)
        ? Honesty.Colluder
        : honestyRng.chance(s.verification.cheaterShare)
          ? Honesty.Cheater
          : Honesty.Honest;
      const car: SimCar = {
        id: `car-${i}`,
        // One owner in ten has two cars.
        ownerId: `owner-${i % 10 === 9 ? i - 1 : i}`,
        regionId: region.id,
        hardware: hw,
        state: "parked",
        pluggedIn: false,
        chargerKW: 0,
        battery: {
          capacityKWh: profile.batteryKWh,
          socPct: profile.initialSocPct,
          chargeEfficiency: profile.chargeEfficiency,
        },
        policy,
        predictedDepartureS: stay.plannedDepartureS,
        departureUncertaintyS: s.mobility.departureSpreadS,
        reputation: { validResults: 0, invalidResults: 0, consecutiveValid: 0, quarantined: false },
        // Simulated cars never lose their link, and their batteries stay in range.
        lastHeardS: null,
        batteryTempC: null,
        index: i,
        regionIndex: profile.regionIndex,
        profile,
        seed: ownSeed,
        step: 0,
        place: stay.place,
        offsets: region.offsets,
        lastS: 0,
        nextMoveS: 0,
        tripTo: "home",
        tripKWh: 0,
        run: null,
        honesty,
        computedThisStay: false,
        idleSlot: -1,
      };
      this.beginStay(car, stay);
      this.cars.push(car);
      this.addIdle(car);
      sustained.push(hw.peakTops * this.ctx.config.sustainedTopsShare);
    }
    sustained.sort((a, b) => a - b);
    const fallback = 500 * this.ctx.config.sustainedTopsShare;
    this.meanSustainedTops = meanSustainedTops(
      this.cars.map((c) => c.hardware.peakTops),
      this.ctx.config.sustainedTopsShare,
    );
    this.medianSustainedTops = sustained.length
      ? (sustained[sustained.length >> 1] as number)
      : fallback;
  }

  /** A stay begins: plugged in or not, its departure predicted and scheduled. */
  private beginStay(car: SimCar, stay: StayPlan): void {
    car.place = stay.place;
    car.pluggedIn = stay.chargerKW > 0;
    car.chargerKW = stay.chargerKW;
    car.state = car.pluggedIn && car.battery.socPct < 100 ? "charging" : "parked";
    car.predictedDepartureS = stay.plannedDepartureS;
    car.nextMoveS = stay.departAtS;
    this.events.push(car.index << 1, car.nextMoveS);
  }

  // ---- mobility ----

  private move(car: SimCar, t: number): void {
    const rng = lifeRng(car.seed, ++car.step);
    if (car.place !== "driving") {
      this.advance(car, t);
      if (car.run) this.interrupt(car, t, "departure");
      this.recordDeparture(car);
      this.removeIdle(car);
      const trip = tripFrom(car.profile, car.place, t, car.offsets, rng);
      car.place = "driving";
      car.state = "driving";
      car.pluggedIn = false;
      car.chargerKW = 0;
      car.predictedDepartureS = null;
      car.tripTo = trip.to;
      car.tripKWh = tripKWh(this.scenario, trip);
      car.nextMoveS = t + trip.durationS;
      this.events.push(car.index << 1, car.nextMoveS);
      return;
    }
    // Arrival: the trip's energy comes off the battery (topped up on the way when it would run
    // below the owner's reserve).
    const b = car.battery;
    b.socPct = socOnArrival(car.profile, b.socPct, car.tripKWh);
    car.lastS = t;
    car.computedThisStay = false;
    this.beginStay(
      car,
      stayOnArrival(this.scenario, car.profile, car.tripTo, b.socPct, t, car.offsets, rng),
    );
    this.addIdle(car);
    this.offerWork(car, t);
  }

  private recordDeparture(car: SimCar): void {
    const soc = car.battery.socPct;
    this.totals.departures++;
    this.totals.minReserveMarginPct = Math.min(
      this.totals.minReserveMarginPct,
      soc - car.policy.reservePct,
    );
    if (car.computedThisStay && soc < car.policy.minDepartureChargePct - 1e-6)
      this.totals.belowMinimum++;
  }

  /** Brings the battery up to time t under the flows of the moment. */
  private advance(car: SimCar, t: number): void {
    const dtS = t - car.lastS;
    car.lastS = t;
    if (car.place === "driving" || dtS <= 0) return;
    const b = car.battery;
    const drawKW = car.run ? car.hardware.inferencePowerW / 1000 : 0;
    const chargeKW = car.pluggedIn ? car.chargerKW * b.chargeEfficiency : 0;
    const netKW = chargeKW - drawKW;
    if (netKW === 0) return;
    b.socPct = Math.min(100, b.socPct + ((netKW * dtS) / 3600 / b.capacityKWh) * 100);
    if (car.pluggedIn) car.state = b.socPct < 100 ? "charging" : "parked";
  }

  // ---- work ----

  private tick(t: number): void {
    this.arrivals(t);
    this.refreshEntitlements();
    if (this.queue.size > 0 && this.idle.length > 0) {
      for (const p of place(this.queue, this.idle.slice(), this.state, this.ctx, this.rng)) {
        this.startRun(p.vehicle, p.item, p.inferences, t);
      }
    }
    this.reclaimForGuarantees(t);
  }

  private arrivals(t: number): void {
    const s = this.scenario;
    const totalShare = s.workload.streams.reduce((a, w) => a + w.demandShare, 0);
    const hourUtc = Math.floor((t % DAY_S) / HOUR_S);
    for (const stream of s.workload.streams) {
      const profileMean = stream.hourlyProfile.reduce((a, b) => a + b, 0) / 24;
      if (profileMean <= 0) continue;
      const shape = (stream.hourlyProfile[hourUtc] as number) / profileMean;
      // Car-hours of work this stream asks for per hour, spread over its jobs. Small fleets get
      // smaller jobs so that every stream still sends work each hour.
      const carHoursPerHour =
        (s.workload.intensity * this.cars.length * stream.demandShare) / totalShare;
      const jobCarHours = Math.min(stream.jobCarHours, Math.max(0.25, carHoursPerHour / 2));
      const jobs = this.rng.poisson(((carHoursPerHour * shape) / jobCarHours) * (s.tickS / HOUR_S));
      const model = this.models.get(stream.modelId) as ModelSpec;
      for (let j = 0; j < jobs; j++) {
        const size = jobCarHours * (0.5 + this.rng.next());
        const total = Math.max(
          1,
          Math.round((size * HOUR_S * this.meanSustainedTops) / model.teraOpsPerInference),
        );
        this.addJob(
          t,
          stream.tenantId,
          model,
          stream.priority,
          t + stream.deadlineH * HOUR_S,
          stream.replication,
          stream.objective ?? "soonest",
          total,
        );
      }
    }
  }

  private addJob(
    t: number,
    tenantId: string,
    model: ModelSpec,
    priority: number,
    deadlineS: number,
    replication: number | "auto",
    objective: Objective,
    total: number,
  ): void {
    const job: Job = {
      id: `job-${this.jobs.length}`,
      tenantId,
      model,
      priority,
      arrivalS: t,
      deadlineS,
      replication,
      objective,
      total,
      validated: 0,
      primary: null,
      items: 0,
      completedS: null,
      maxRunInferences: Math.max(
        1,
        Math.floor(
          (this.ctx.config.maxRunS * REPLICA_FRIENDLY_RUN_SHARE * this.medianSustainedTops) /
            model.teraOpsPerInference,
        ),
      ),
    };
    this.jobs.push(job);
    this.jobById.set(job.id, job);
    this.options.onJob?.({
      id: job.id,
      tenantId,
      modelId: model.id,
      priority,
      arrivalS: t,
      deadlineS,
      replication,
      objective,
      inferences: total,
    });
    this.demandTeraOps.set(
      tenantId,
      (this.demandTeraOps.get(tenantId) ?? 0) + total * model.teraOpsPerInference,
    );
    this.giveBack(job, total);
  }

  /** Returns inferences to a job's waiting work. */
  private giveBack(job: Job, inferences: number): void {
    if (inferences <= 0) return;
    if (job.primary) {
      this.queue.grow(job.primary, inferences);
      return;
    }
    job.primary = {
      id: `${job.id}/p${job.items++}`,
      jobId: job.id,
      tenantId: job.tenantId,
      model: job.model,
      inferences,
      divisible: true,
      priority: job.priority,
      deadlineS: job.deadlineS,
      objective: job.objective,
      dataRegionId: null,
      excludeVehicleIds: [],
      excludeOwnerIds: [],
      maxRunInferences: job.maxRunInferences,
    };
    this.queue.push(job.primary);
  }

  /** Cars a queued item could keep busy at once. */
  private slotsOf(item: WorkItem): number {
    if (!item.divisible) return 1;
    const carS = (item.inferences * item.model.teraOpsPerInference) / this.meanSustainedTops;
    return Math.max(1, demandSlots(carS, this.ctx.config.maxRunS));
  }

  private refreshEntitlements(): void {
    const demand = new Map<string, number>();
    for (const t of this.tenants)
      demand.set(t.id, (this.usage.get(t.id) ?? 0) + this.queue.demand(t.id));
    this.state = {
      tenants: this.tenants,
      usage: this.usage,
      entitlements: entitlements(this.capacity, this.tenants, demand),
    };
  }

  /** A car that just parked or finished a run asks for work (late binding). */
  private offerWork(car: SimCar, t: number): void {
    if (this.queue.size === 0) return;
    const d = decide(car, this.queue, this.state, this.ctx);
    if (d.item !== null) this.startRun(car, d.item, d.inferences, t);
  }

  /** Starts a run the scheduler has bound (and so taken from the queue). */
  private startRun(car: SimCar, item: WorkItem, inferences: number, t: number): void {
    this.options.onBind?.({ car, item, inferences, ctx: this.ctx });
    const job = this.jobOf(item);
    if (job.primary === item && !this.queue.holds(item)) job.primary = null;
    this.advance(car, t);
    const perInferenceS = inferenceS(car, item, this.ctx);
    const group = item.divisible ? null : (this.groupOf.get(item.id) ?? null);
    if (group) {
      this.groupOf.delete(item.id);
      group.queued.splice(group.queued.indexOf(item), 1);
      group.vehicles.push(car.id);
      group.owners.push(car.ownerId);
    }
    car.run = {
      job,
      group,
      item,
      inferences,
      startS: t,
      endS: t + inferences * perInferenceS,
      perInferenceS,
    };
    car.computedThisStay = true;
    this.removeIdle(car);
    this.usage.set(job.tenantId, (this.usage.get(job.tenantId) ?? 0) + 1);
    this.runningByTenant.get(job.tenantId)?.add(car);
    this.events.push((car.index << 1) | 1, car.run.endS);
    this.totals.runs++;
  }

  private readonly groupOf = new Map<string, Group>();
  private readonly jobById = new Map<string, Job>();

  private jobOf(item: WorkItem): Job {
    const job = this.jobById.get(item.jobId);
    if (!job) throw new Error(`unknown job ${item.jobId}`);
    return job;
  }

  /** A run stops early: the car drives off, or the work is preempted. */
  private interrupt(car: SimCar, t: number, why: "departure" | "preempted"): void {
    const run = car.run as Run;
    const done = Math.min(run.inferences, Math.floor((t - run.startS) / run.perInferenceS + 1e-9));
    if (why === "departure") this.totals.tasksLost++;
    else this.totals.tasksPreempted++;
    this.endRun(car, t, done, why);
  }

  private endRun(
    car: SimCar,
    t: number,
    done: number,
    why: "done" | "departure" | "preempted",
  ): void {
    this.advance(car, t);
    const run = car.run as Run;
    car.run = null;
    this.usage.set(run.job.tenantId, (this.usage.get(run.job.tenantId) ?? 1) - 1);
    this.runningByTenant.get(run.job.tenantId)?.delete(car);

    const cost = workCost(
      car,
      this.ctx.regions.get(car.regionId) as Region,
      {
        startS: run.startS,
        durationS: t - run.startS,
        teraOps: done * run.job.model.teraOpsPerInference,
      },
      this.cost,
    );
    this.account(cost);

    if (run.group === null) {
      // A primary run: what it finished goes to verification, the rest back to the job.
      this.giveBack(run.job, run.inferences - done);
      if (done > 0) {
        const required = replicasFor(
          run.job.replication,
          car.reputation,
          this.vcfg,
          this.verifyRng,
        );
        const group: Group = {
          id: `${run.item.id}/g${this.seq++}`,
          job: run.job,
          inferences: done,
          required,
          results: [],
          cars: [],
          payoutsUsd: [],
          inFlight: 0,
          replicas: 0,
          vehicles: [car.id],
          owners: [car.ownerId],
          queued: [],
          decided: false,
        };
        this.addResult(group, car, cost);
        this.evaluate(group);
      }
    } else {
      const group = run.group;
      group.inFlight--;
      if (why === "done") {
        this.addResult(group, car, cost);
        this.evaluate(group);
      } else {
        // A replica is all or nothing: ask another car, unless a quorum formed meanwhile.
        this.totals.replicaTasks += done;
        if (!group.decided) this.pushReplica(group);
      }
    }
    if (why !== "departure") {
      this.addIdle(car);
      if (why === "done") this.offerWork(car, t);
    }
  }

  private account(cost: WorkCost): void {
    const s = this.totals;
    s.energyKWh += cost.energyKWh;
    s.gridKWh += cost.gridEnergyKWh;
    s.batteryKWh += cost.batteryEnergyKWh;
    s.costUsd += cost.costUsd;
    s.carbonG += cost.carbonG;
  }

  private addResult(group: Group, car: SimCar, cost: WorkCost): void {
    // Replica ids only need to be unique within their group.
    const replicaId = String(group.results.length);
    let output: number[];
    if (car.honesty === Honesty.Colluder) output = COLLUDED_OUTPUT;
    else if (
      car.honesty === Honesty.Cheater &&
      this.verifyRng.chance(1 - (1 - CHEAT_PROBABILITY) ** group.inferences)
    )
      output = [TRUE_OUTPUT + 0.05 + this.verifyRng.next()];
    else output = [TRUE_OUTPUT + (this.verifyRng.next() - 0.5) * 1e-5];
    group.results.push({
      replicaId,
      vehicleId: car.id,
      ownerId: car.ownerId,
      output,
      trusted: isTrusted(car.reputation, this.vcfg),
    });
    group.cars.push(car);
    group.payoutsUsd.push(cost.ownerPayoutUsd);
  }

  private evaluate(group: Group): void {
    if (group.decided) {
      // A replica that was still running when the quorum formed: verification overhead.
      this.totals.replicaTasks += group.inferences;
      return;
    }
    const vcfg = group.job.replication === "auto" ? this.vcfg : this.vcfgExplicit;
    const outcome = decideQuorum(group.results, group.required, TOLERANCE_CROSS_BACKEND, vcfg);
    if (outcome.status === "pending") {
      for (let i = group.inFlight; i < outcome.moreReplicas; i++) this.pushReplica(group);
      return;
    }
    const executed = group.results.length * group.inferences;
    group.decided = true;
    for (const item of group.queued) {
      this.queue.remove(item);
      this.groupOf.delete(item.id);
    }
    group.queued = [];
    if (outcome.status === "failed") {
      // No quorum: nobody is paid, nobody is judged, and the work runs again.
      this.totals.failedGroups++;
      this.totals.replicaTasks += executed;
      this.giveBack(group.job, group.inferences);
      return;
    }
    const paid = new Set(validatedReplicas(outcome));
    for (let i = 0; i < group.results.length; i++) {
      const car = group.cars[i] as SimCar;
      const valid = paid.has(String(i));
      if (valid) this.totals.payoutUsd += group.payoutsUsd[i] as number;
      // Updated in place: the car record is long-lived, so replacing its reputation would leave
      // old-generation garbage behind on every verdict.
      if (outcome.support > 1)
        Object.assign(car.reputation, this.judge(car.reputation, valid, group.inferences));
    }
    const canonical = group.results.find((r) => r.replicaId === outcome.canonicalReplicaId);
    if (canonical && Math.abs((canonical.output[0] as number) - TRUE_OUTPUT) > 1e-3)
      this.totals.wrongAccepted++;
    this.totals.validatedGroups++;
    this.totals.replicaTasks += executed - group.inferences;
    this.totals.tasksCompleted += group.inferences;
    const job = group.job;
    job.validated += group.inferences;
    this.deliveredTeraOps.set(
      job.tenantId,
      (this.deliveredTeraOps.get(job.tenantId) ?? 0) +
        group.inferences * job.model.teraOpsPerInference,
    );
    if (job.validated >= job.total && job.completedS === null) job.completedS = this.ctx.nowS;
  }

  /** A checked run is that many checked tasks: all valid, or (one disagreement) one invalid. */
  private judge(rep: Reputation, valid: boolean, tasks: number): Reputation {
    return valid ? afterValidResults(rep, tasks) : afterResult(rep, false, this.vcfg);
  }

  private pushReplica(group: Group): void {
    const item: WorkItem = {
      id: `${group.id}/r${group.replicas++}`,
      jobId: group.job.id,
      tenantId: group.job.tenantId,
      model: group.job.model,
      inferences: group.inferences,
      divisible: false,
      // Verification finishes what is already half paid for before new work starts.
      priority: group.job.priority + 1,
      deadlineS: group.job.deadlineS,
      objective: group.job.objective,
      dataRegionId: null,
      excludeVehicleIds: group.vehicles,
      excludeOwnerIds: group.owners,
    };
    group.inFlight++;
    group.queued.push(item);
    this.groupOf.set(item.id, group);
    this.queue.push(item);
  }

  /** Takes borrowed work back for tenants below their guarantee when no car is free for them. */
  private reclaimForGuarantees(t: number): void {
    const ent = this.state.entitlements;
    // Work in the queue is divisible: a tenant with any waits could fill any number of slots.
    const waiting = (tenantId: string) => (this.queue.hasWork(tenantId) ? Infinity : 0);
    if (!reclaimDue(this.tenants, this.usage, ent, waiting)) return;
    const slots: RunningSlot<SimCar>[] = [];
    for (const running of this.runningByTenant.values()) {
      for (const car of running) {
        const run = car.run as Run;
        slots.push({
          tenantId: run.job.tenantId,
          priority: run.item.priority,
          startedS: run.startS,
          ref: car,
        });
      }
    }
    // Runs that started together are preempted in fleet order.
    slots.sort((a, b) => a.ref.index - b.ref.index);
    const freed: SimCar[] = [];
    for (const { ref: car } of preemptions(this.tenants, slots, ent, { waiting })) {
      this.interrupt(car, t, "preempted");
      freed.push(car);
    }
    for (const car of freed) if (car.run === null) this.offerWork(car, t);
  }

  // ---- idle pool ----

  private addIdle(car: SimCar): void {
    if (car.idleSlot >= 0 || car.run !== null || car.place === "driving") return;
    car.idleSlot = this.idle.length;
    this.idle.push(car);
  }

  private removeIdle(car: SimCar): void {
    if (car.idleSlot < 0) return;
    const last = this.idle.pop() as SimCar;
    if (last !== car) {
      this.idle[car.idleSlot] = last;
      last.idleSlot = car.idleSlot;
    }
    car.idleSlot = -1;
  }

  // ---- figures ----

  private sample(t: number): void {
    let parked = 0;
    let plugged = 0;
    let eligible = 0;
    let availableW = 0;
    let availableTops = 0;
    let running = 0;
    const carsByRegion = new Float64Array(this.regions.length);
    for (const car of this.cars) {
      this.advance(car, t);
      if (car.place === "driving") continue;
      parked++;
      if (car.pluggedIn) plugged++;
      if (car.run) running++;
      carsByRegion[car.regionIndex] = (carsByRegion[car.regionIndex] as number) + 1;
      if (car.run || carRejection(car, this.ctx) === null) {
        eligible++;
        availableW += car.hardware.inferencePowerW;
        availableTops += car.hardware.peakTops;
      }
    }
    let price = 0;
    let carbon = 0;
    const n = Math.max(1, parked);
    for (const [i, region] of this.regions.entries()) {
      const share = (carsByRegion[i] as number) / n;
      price += share * priceAt(region, t);
      carbon += share * carbonAt(region, t);
    }
    this.capacity = eligible;
    this.availKW.push(availableW / 1000);
    this.availTops.push(availableTops);
    this.runningSum += running;
    for (const tenant of this.tenants) {
      const u = this.usage.get(tenant.id) ?? 0;
      this.usageSum.set(tenant.id, (this.usageSum.get(tenant.id) ?? 0) + u);
      const g = this.state.entitlements.get(tenant.id)?.guaranteed ?? 0;
      if (g >= 1) {
        const q = this.quotaSum.get(tenant.id) ?? { sum: 0, n: 0 };
        q.sum += Math.min(1, u / g);
        q.n++;
        this.quotaSum.set(tenant.id, q);
      }
    }
    this.series.push({
      t,
      parked,
      plugged,
      eligible,
      availableKW: round(availableW / 1000, 3),
      runningTasks: running,
      priceUsdPerKWh: round(price, 5),
      carbonGPerKWh: round(carbon, 2),
      queued: this.queue.size,
    });
  }

  private result(): SimResult {
    const s = this.totals;
    const n = this.cars.length;
    const samples = this.series.length;
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    const dc = this.scenario.referenceDatacenter;
    const dcTops = dc.gpus * REFERENCE_GPU.peakTops;
    const kwPeak = Math.max(0, ...this.availKW);
    const topsPeak = Math.max(0, ...this.availTops);
    const share = (key: "parked" | "plugged" | "eligible") =>
      n && samples ? this.series.reduce((a, x) => a + x[key], 0) / (samples * n) : 0;
    const totalDemand = [...this.demandTeraOps.values()].reduce((a, b) => a + b, 0);
    const totalDelivered = [...this.deliveredTeraOps.values()].reduce((a, b) => a + b, 0);
    const totalUsage = [...this.usageSum.values()].reduce((a, b) => a + b, 0);
    const cheaters = this.cars.filter((c) => c.honesty !== Honesty.Honest);
    const summary: SimSummary = {
      vehicles: n,
      hours: this.options.hours,
      seed: this.options.seed,
      scenario: this.scenario.name,
      parkedShare: round(share("parked"), 4),
      pluggedShare: round(share("plugged"), 4),
      eligibleShare: round(share("eligible"), 4),
      tasksCompleted: s.tasksCompleted,
      tasksLostToDepartures: s.tasksLost,
      tasksPreempted: s.tasksPreempted,
      runs: s.runs,
      energyKWh: round(s.energyKWh, 3),
      gridEnergyKWh: round(s.gridKWh, 3),
      batteryEnergyKWh: round(s.batteryKWh, 3),
      costUsd: round(s.costUsd, 2),
      carbonKg: round(s.carbonG / 1000, 3),
      ownerPayoutUsd: round(s.payoutUsd, 2),
      costUsdPerKWh: s.energyKWh > 0 ? round(s.costUsd / s.energyKWh, 4) : null,
      costUsdPerMillionTasks:
        s.tasksCompleted > 0 ? round((s.costUsd / s.tasksCompleted) * 1e6, 4) : null,
      availableKW: {
        peak: round(kwPeak, 3),
        mean: round(mean(this.availKW), 3),
        min: round(this.availKW.length ? Math.min(...this.availKW) : 0, 3),
      },
      availableTops: {
        peak: round(topsPeak, 1),
        mean: round(mean(this.availTops), 1),
        min: round(this.availTops.length ? Math.min(...this.availTops) : 0, 1),
      },
      referenceDatacenterMW: dc.powerMW,
      referenceDatacenter: dc.name,
      datacenterEquivalents: {
        peak: round(topsPeak / dcTops, 6),
        mean: round(mean(this.availTops) / dcTops, 6),
      },
      datacenterPowerEquivalents: {
        peak: round(kwPeak / (dc.powerMW * 1000), 6),
        mean: round(mean(this.availKW) / (dc.powerMW * 1000), 6),
      },
      h100Equivalents: {
        peak: round(topsPeak / REFERENCE_GPU.peakTops, 2),
        mean: round(mean(this.availTops) / REFERENCE_GPU.peakTops, 2),
      },
      minReserveMarginPct: Number.isFinite(s.minReserveMarginPct)
        ? round(s.minReserveMarginPct, 3)
        : 0,
      departuresBelowOwnerMinimum: s.belowMinimum,
      departures: s.departures,
      verification: {
        validatedGroups: s.validatedGroups,
        replicaTasks: s.replicaTasks,
        overheadShare: s.tasksCompleted > 0 ? round(s.replicaTasks / s.tasksCompleted, 4) : 0,
        wrongResultsAccepted: s.wrongAccepted,
        failedGroups: s.failedGroups,
        cheaters: cheaters.length,
        cheatersActive: cheaters.filter(
          (c) => c.reputation.validResults + c.reputation.invalidResults > 0,
        ).length,
        cheatersQuarantined: cheaters.filter((c) => c.reputation.quarantined).length,
        honestQuarantined: this.cars.filter(
          (c) => c.honesty === Honesty.Honest && c.reputation.quarantined,
        ).length,
      },
      tenants: this.tenants.map((t) => {
        const jobs = this.jobs.filter((j) => j.tenantId === t.id);
        const judged = jobs.filter((j) => j.deadlineS <= this.endS || j.completedS !== null);
        const met = judged.filter((j) => j.completedS !== null && j.completedS <= j.deadlineS);
        const q = this.quotaSum.get(t.id);
        return {
          id: t.id,
          quotaShare: t.quotaShare,
          demandShare:
            totalDemand > 0 ? round((this.demandTeraOps.get(t.id) ?? 0) / totalDemand, 4) : 0,
          deliveredShare:
            totalDelivered > 0
              ? round((this.deliveredTeraOps.get(t.id) ?? 0) / totalDelivered, 4)
              : 0,
          deadlineAttainment: judged.length ? round(met.length / judged.length, 4) : null,
          jobs: {
            arrived: jobs.length,
            completed: jobs.filter((j) => j.completedS !== null).length,
          },
          usageShare: totalUsage > 0 ? round((this.usageSum.get(t.id) ?? 0) / totalUsage, 4) : 0,
          quotaAttainment: q && q.n > 0 ? round(q.sum / q.n, 4) : null,
        };
      }),
    };
    return { summary, series: this.series };
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
