// Core benchmarks: late-binding decisions, batch placement and the fleet simulator at fleet
// scale. Prints a table and writes bench-results/<name>.json as [{ name, value, unit }].
//
//   npm run bench                       # everything, full size (a few minutes)
//   npx tsx bench/run.ts decide place   # a subset
//   npx tsx bench/run.ts sim --sim-vehicles 100000
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { HARDWARE } from "../src/hardware";
import type { OffsetTable } from "../src/local-time";
import { createRng, type Rng } from "../src/random";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleContext } from "../src/schedule/config";
import { decide, type TenantState } from "../src/schedule/decide";
import { place } from "../src/schedule/place";
import { WorkQueue } from "../src/schedule/queue";
import { DEFAULT_SCENARIO } from "../src/sim/scenario";
import { entitlements } from "../src/tenants";
import type { ModelSpec, OwnerPolicy, Tenant, Vehicle, WorkItem } from "../src/types";
import { WINTER_OFFSETS } from "./winter-offsets";

export interface Figure {
  name: string;
  value: number;
  unit: string;
}

const RESULTS_DIR = fileURLToPath(new URL("../../../bench-results/", import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const selected = args.filter((a) => !a.startsWith("--") && !/^\d+$/.test(a));
const wants = (name: string) => selected.length === 0 || selected.includes(name);

// ---- a synthetic fleet and queue at the default scenario's proportions ----

const regions = DEFAULT_SCENARIO.regions.map(({ fleetShare: _s, ...r }) => ({
  ...r,
  offsets: WINTER_OFFSETS[r.timeZone] as OffsetTable,
}));
const carHardware = DEFAULT_SCENARIO.hardwareMix.map((h) => HARDWARE[h.hardwareId]).filter((h) => h !== undefined);
const models: ModelSpec[] = DEFAULT_SCENARIO.models;
const tenants: Tenant[] = DEFAULT_SCENARIO.tenants.map((t) => ({ ...t, paused: false }));
const NOW_S = 3 * 86_400 + 22 * 3600; // 22:00 UTC on day 3: evenings and nights across zones.

function makeFleet(n: number, rng: Rng): Vehicle[] {
  const policies: OwnerPolicy[] = [0, 20, 22].flatMap((start) =>
    [20, 30].map((reservePct) => ({
      optedIn: true,
      allowedHours: { startHour: start, endHour: start === 0 ? 24 : 7 },
      minDepartureChargePct: reservePct + 30,
      reservePct,
    })),
  );
  const cars: Vehicle[] = [];
  for (let i = 0; i < n; i++) {
    const state = rng.weighted(["driving", "parked", "charging"] as const, [0.1, 0.5, 0.4]);
    cars.push({
      id: `car-${i}`,
      ownerId: `owner-${i}`,
      regionId: (regions[i % regions.length] as (typeof regions)[number]).id,
      hardware: carHardware[rng.int(0, carHardware.length - 1)] as Vehicle["hardware"],
      state,
      pluggedIn: state === "charging",
      chargerKW: state === "charging" ? 7.4 : 0,
      battery: { capacityKWh: 75, socPct: 30 + rng.next() * 70, chargeEfficiency: 0.9 },
      policy: policies[rng.int(0, policies.length - 1)] as OwnerPolicy,
      predictedDepartureS: state === "driving" ? null : NOW_S + rng.int(600, 12 * 3600),
      departureUncertaintyS: 1200,
      reputation: { validResults: rng.int(0, 50), invalidResults: 0, consecutiveValid: 5, quarantined: rng.chance(0.001) },
      lastHeardS: null,
      batteryTempC: null,
    });
  }
  return cars;
}

function makeTask(i: number, rng: Rng): WorkItem {
  const tenant = tenants[i % tenants.length] as Tenant;
  return {
    id: `task-${i}`,
    jobId: `job-${i % 1000}`,
    tenantId: tenant.id,
    model: models[i % models.length] as ModelSpec,
    inferences: rng.int(1, 16),
    divisible: false,
    priority: rng.int(0, 3),
    deadlineS: NOW_S + 6 * 3600,
    dataRegionId: null,
    excludeVehicleIds: [],
    excludeOwnerIds: [],
  };
}

function makeQueue(tasks: number, rng: Rng): WorkQueue {
  const queue = new WorkQueue();
  for (let i = 0; i < tasks; i++) queue.push(makeTask(i, rng));
  return queue;
}

function tenantState(queue: WorkQueue, capacity: number): TenantState {
  const demand = new Map(tenants.map((t) => [t.id, queue.demand(t.id)]));
  return { tenants, usage: new Map(), entitlements: entitlements(capacity, tenants, demand) };
}

const ctx: ScheduleContext = {
  nowS: NOW_S,
  regions: new Map(regions.map((r) => [r.id, r])),
  config: DEFAULT_SCHEDULE_CONFIG,
};

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

// ---- benchmarks ----

function benchDecide(cars: number, tasks: number, label: string): Figure[] {
  const rng = createRng(1);
  const fleet = makeFleet(cars, rng);
  const queue = makeQueue(tasks, rng);
  const state = tenantState(queue, cars * 0.3);
  const decisions = 200_000;
  const latencies = new Float64Array(decisions);
  let bound = 0;
  let next = tasks;
  // Warm up the JIT on the same path.
  for (let i = 0; i < 20_000; i++) decide(fleet[rng.int(0, cars - 1)] as Vehicle, queue, state, ctx);
  const start = performance.now();
  for (let i = 0; i < decisions; i++) {
    const car = fleet[rng.int(0, cars - 1)] as Vehicle;
    const t0 = performance.now();
    const d = decide(car, queue, state, ctx);
    latencies[i] = performance.now() - t0;
    if (d.item !== null) {
      bound++;
      // Keep the queue at its size: the bound task is replaced by a new one.
      queue.push(makeTask(next++, rng));
    }
  }
  const totalMs = performance.now() - start;
  latencies.sort();
  const perSecond = decisions / (latencies.reduce((a, b) => a + b, 0) / 1000);
  console.log(
    `decide ${label}: ${fmt(perSecond)} decisions/s (loop ${fmt(decisions / (totalMs / 1000))}/s incl. queue refill), ` +
      `p50 ${percentile(latencies, 0.5).toFixed(4)} ms, p99 ${percentile(latencies, 0.99).toFixed(4)} ms, ` +
      `${((bound / decisions) * 100).toFixed(1)}% bound work`,
  );
  return [
    { name: `core.decide.${label}.perSecond`, value: Math.round(perSecond), unit: "decisions/s" },
    { name: `core.decide.${label}.p50Ms`, value: round(percentile(latencies, 0.5), 5), unit: "ms" },
    { name: `core.decide.${label}.p99Ms`, value: round(percentile(latencies, 0.99), 5), unit: "ms" },
    { name: `core.decide.${label}.boundShare`, value: round(bound / decisions, 4), unit: "share" },
  ];
}

function benchPlace(cars: number, tasks: number, label: string): Figure[] {
  const rng = createRng(2);
  const fleet = makeFleet(cars, rng);
  const queue = makeQueue(tasks, rng);
  const state = tenantState(queue, cars * 0.3);
  const start = performance.now();
  const placements = place(queue, fleet, state, ctx, rng);
  const seconds = (performance.now() - start) / 1000;
  const perSecond = placements.length / seconds;
  console.log(
    `place ${label}: ${fmt(placements.length)} of ${fmt(tasks)} tasks onto ${fmt(cars)} cars in ${seconds.toFixed(2)} s = ${fmt(perSecond)} tasks/s`,
  );
  return [
    { name: `core.place.${label}.perSecond`, value: Math.round(perSecond), unit: "tasks/s" },
    { name: `core.place.${label}.placed`, value: placements.length, unit: "tasks" },
    { name: `core.place.${label}.seconds`, value: round(seconds, 3), unit: "s" },
  ];
}

/** The simulator in a child process of its own, so that its peak memory is its own. */
function benchSim(vehicles: number, hours: number): Figure[] {
  const label = `${vehicles >= 1e6 ? `${vehicles / 1e6}M` : `${vehicles / 1e3}k`}.${hours}h`;
  const script = fileURLToPath(new URL("./sim-child.ts", import.meta.url));
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", script, String(vehicles), String(hours)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 },
  );
  const r = JSON.parse(out) as { seconds: number; peakMB: number; runs: number; tasks: number };
  console.log(
    `sim ${label}: ${r.seconds.toFixed(1)} s, peak RSS ${fmt(r.peakMB)} MB, ${fmt(r.runs)} runs (${fmt(r.runs / r.seconds)}/s)`,
  );
  return [
    { name: `sim.${label}.seconds`, value: round(r.seconds, 2), unit: "s" },
    { name: `sim.${label}.peakMB`, value: Math.round(r.peakMB), unit: "MB" },
    { name: `sim.${label}.runsPerSecond`, value: Math.round(r.runs / r.seconds), unit: "runs/s" },
  ];
}

function save(name: string, figures: Figure[]): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${name}.json`;
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`  → ${file}`);
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function round(x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
if (wants("decide")) {
  save("core.decide", [
    ...benchDecide(10_000, 100_000, "10k"),
    ...benchDecide(100_000, 100_000, "100k"),
    ...benchDecide(1_000_000, 100_000, "1M"),
  ]);
}
if (wants("place")) {
  save("core.place", [
    ...benchPlace(100_000, 100_000, "100k"),
    ...benchPlace(1_000_000, 100_000, "1M"),
  ]);
}
if (wants("sim")) {
  save("sim", benchSim(flag("--sim-vehicles", 1_000_000), flag("--sim-hours", 24)));
}
