// Node only: a simulated fleet in one process. N cars, each with its own twin (a seeded daily
// pattern, optionally in compressed time so that cars park and leave during a demo) and its own
// credential, all sharing one onnxruntime-node runtime and one model store, so that hundreds of
// cars cost one copy of each model and runs never oversubscribe the cores.
import { createNightshiftClient } from "@nightshift/client/client";
import type { ModelManifest } from "@nightshift/models/manifest";
import { createRng } from "@nightshift/core/random";
import { carSeed, drawCar, lifeRng } from "@nightshift/core/sim/car-life";
import { DEFAULT_SCENARIO, type Scenario } from "@nightshift/core/sim/scenario";
import { fetchWithTimeout } from "./fetch-bytes";
import {
  type ClientFactory,
  type Clock,
  type LoopEvent,
  type LoopStats,
  systemClock,
  WorkLoop,
} from "./loop";
import { NodeModelStore } from "./model-store-node";
import type { InferenceRuntime, ModelStore } from "./runtime";
import { NodeRuntime } from "./runtime-node";
import { createSimulatedTwin, type Twin } from "./twin";

/** An API call that takes longer is given up on and retried. */
export const CALL_TIMEOUT_MS = 30_000;

export interface FleetOptions {
  server: string;
  cars: number;
  /**
   * The enrollment code every car enrolls with. Replicas of a task count as independent only on
   * owners someone vouched for: a fleet that should check its own work needs an operator's code
   * (a demo server's `demo enrollment-code`), not a public one such as DEMO-NIGHTSHIFT.
   */
  code: string;
  /**
   * Seeds the cars' lives (car i draws from core's carSeed(seed, i)): the simulator's car i of
   * the same seed and scenario lives the same day.
   */
  seed?: number;
  /** The scenario the cars are drawn from (hardware, owners' limits, patterns); the default one. */
  scenario?: Scenario;
  /** onnxruntime intra-op threads per run. */
  threads?: number;
  /** Runs at once across the fleet. */
  maxConcurrentRuns?: number;
  /** Twin seconds per wall second: 60 runs a car's day in 24 minutes. */
  speedup?: number;
  /**
   * The cars' own time when the fleet starts (epoch ms): a server's world time when it runs on a
   * compressed clock (node.clock). Default: the wall clock's.
   */
  startMs?: number;
  /** The cars' twins; by default a seeded daily pattern starting now. */
  twin?: (index: number, nowMs: number) => Twin;
  /** Most tasks a car asks for at once. */
  maxLease?: number;
  heartbeatMs?: number;
  /** How often each car's twin is advanced (a departure noticed), wall ms. */
  tickMs?: number;
  /** Waits after a lease call that found nothing, wall ms (the loop's default otherwise). */
  idleMs?: { min: number; max: number };
  /**
   * Car i's runtime, given the fleet's shared one: a replay wraps it so that a run lasts what the
   * car's hardware class would take (the fleet's real runs take milliseconds on this machine).
   */
  runtimeOf?: (index: number, shared: InferenceRuntime) => InferenceRuntime;
  /** The models the cars know, by id (the registry's otherwise). */
  manifest?: (modelId: string) => ModelManifest | undefined;
  /** Model cache folder (the store's default otherwise). */
  modelDir?: string;
  /** Share an existing runtime or store (tests, a process running several fleets). */
  runtime?: InferenceRuntime;
  store?: ModelStore;
  createClient?: ClientFactory;
  clock?: Clock;
  /** Stop cleanly on SIGINT and SIGTERM. */
  handleSignals?: boolean;
  onEvent?: (car: number, event: LoopEvent) => void;
  /**
   * Regions the cars enroll in, and their time zones: a car drives by its region's clocks. A car
   * goes to the region its scenario drew for it when that one is listed (the demo's regions are
   * the default scenario's), else to regions[i % n]. The server's default region if absent (the
   * car then learns its zone when it enrolls).
   */
  regions?: readonly FleetRegion[];
  /** Name prefix for enrolled cars. */
  namePrefix?: string;
}

export interface FleetRegion {
  id: string;
  /** IANA time zone. */
  timeZone: string;
}

/** Every car's loop figures added up, and the fleet's state now. */
export interface FleetSummary extends LoopStats {
  cars: number;
  enrolled: number;
  driving: number;
  parked: number;
  charging: number;
  outbox: number;
  elapsedS: number;
}

export interface Fleet {
  loops: readonly WorkLoop[];
  summary(): FleetSummary;
  /** Stops every car: runs in progress finish, outboxes are flushed, leases handed back. */
  stop(): Promise<void>;
  /** Resolves when every car has stopped. */
  stopped: Promise<void>;
  runtime: InferenceRuntime;
  store: ModelStore;
}

export function runFleet(o: FleetOptions): Fleet {
  if (!Number.isInteger(o.cars) || o.cars < 1)
    throw new RangeError(`cars must be an integer ≥ 1, got ${o.cars}`);
  const clock = o.clock ?? systemClock;
  const seed = o.seed ?? 1;
  const ownsRuntime = !o.runtime;
  const runtime =
    o.runtime ??
    new NodeRuntime({
      intraOpThreads: o.threads ?? 1,
      maxConcurrentRuns: o.maxConcurrentRuns ?? 1,
    });
  const store = o.store ?? new NodeModelStore(o.modelDir ? { dir: o.modelDir } : {});
  const fetchFn = fetchWithTimeout(CALL_TIMEOUT_MS);
  const createClient: ClientFactory =
    o.createClient ??
    ((credential) =>
      createNightshiftClient({
        url: o.server,
        fetch: fetchFn,
        ...(credential ? { credential } : {}),
      }));
  const startedMs = clock.now();
  const twinStartMs = o.startMs ?? startedMs;
  const jitter = createRng(seed ^ 0x5eed);
  const scenario = o.scenario ?? DEFAULT_SCENARIO;
  /** The region car i enrolls in: the one its life was drawn in when listed, else in turn. */
  const regionOf = (ownSeed: number, i: number): FleetRegion | undefined => {
    if (!o.regions?.length) return undefined;
    // Step 0 of the car's life, drawn again here only to read its region.
    const drawn = scenario.regions[drawCar(scenario, lifeRng(ownSeed, 0)).regionIndex];
    return o.regions.find((r) => r.id === drawn?.id) ?? o.regions[i % o.regions.length];
  };

  const loops: WorkLoop[] = [];
  for (let i = 0; i < o.cars; i++) {
    const ownSeed = carSeed(seed, i);
    const region = regionOf(ownSeed, i);
    const twin = o.twin
      ? o.twin(i, twinStartMs)
      : createSimulatedTwin(twinStartMs, ownSeed, {
          scenario,
          ...(region ? { timeZone: region.timeZone } : {}),
        });
    const loop = new WorkLoop({
      server: o.server,
      createClient,
      runtime: o.runtimeOf ? o.runtimeOf(i, runtime) : runtime,
      store,
      twin,
      clock,
      enrollment: {
        code: o.code,
        name: `${o.namePrefix ?? "sim"}-${seed}-${i}`,
        ...(region ? { regionId: region.id } : {}),
      },
      random: jitter.fork().next,
      speedup: o.speedup ?? 1,
      ...(o.maxLease ? { maxLease: o.maxLease } : {}),
      ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
      ...(o.tickMs ? { tickMs: o.tickMs } : {}),
      ...(o.idleMs ? { idleMs: o.idleMs } : {}),
      ...(o.manifest ? { manifest: o.manifest } : {}),
    });
    if (o.onEvent) loop.on((e) => o.onEvent?.(i, e));
    loops.push(loop);
  }

  // Cars start spread over a second or two, so that a large fleet does not enroll in one burst.
  const spreadMs = Math.min(2000, o.cars * 5);
  let stopping = false;
  const runs = loops.map(async (loop, i) => {
    await clock.sleep((spreadMs * i) / o.cars);
    if (!stopping) await loop.start();
  });

  let stopPromise: Promise<void> | undefined;
  const onSignal = () => void fleet.stop();
  const fleet: Fleet = {
    loops,
    runtime,
    store,
    stopped: Promise.all(runs).then(() => undefined),
    summary: () => summarize(loops, clock.now() - startedMs),
    stop() {
      stopPromise ??= (async () => {
        stopping = true;
        if (o.handleSignals) {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
        await Promise.all(loops.map((l) => l.stop()));
        await Promise.all(runs);
        if (ownsRuntime) await runtime.dispose();
      })();
      return stopPromise;
    },
  };
  if (o.handleSignals) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  return fleet;
}

function summarize(loops: readonly WorkLoop[], elapsedMs: number): FleetSummary {
  const s: FleetSummary = {
    cars: loops.length,
    enrolled: 0,
    driving: 0,
    parked: 0,
    charging: 0,
    leased: 0,
    computed: 0,
    acknowledged: 0,
    refused: 0,
    failed: 0,
    dropped: 0,
    errors: 0,
    retries: 0,
    outbox: 0,
    energyWh: 0,
    idle: {},
    elapsedS: elapsedMs / 1000,
  };
  for (const loop of loops) {
    if (loop.carId) s.enrolled++;
    s[loop.twin().state]++;
    const st = loop.stats;
    s.leased += st.leased;
    s.computed += st.computed;
    s.acknowledged += st.acknowledged;
    s.refused += st.refused;
    s.failed += st.failed;
    s.dropped += st.dropped;
    s.errors += st.errors;
    s.retries += st.retries;
    s.energyWh += st.energyWh;
    for (const [reason, n] of Object.entries(st.idle)) s.idle[reason] = (s.idle[reason] ?? 0) + n;
    s.outbox += loop.pending().outbox;
  }
  return s;
}
