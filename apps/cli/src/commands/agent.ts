import type { Command } from "commander";
import type { FleetSummary } from "@nightshift/agent/fleet";
import { formatEnergyKWh } from "@nightshift/units/format";
import { DEFAULT_SERVER_URL, cliEnv } from "../env";
import { parseIntegerFlag, parsePositiveFlag, parseUrlFlag } from "../flags";
import { createNightshiftClient } from "@nightshift/client/client";
import { ApiCallError } from "../api";
import { formatNumber } from "../format";

export const MAX_CARS = 10_000;
/** Seeds are 32-bit, as in `simulate`. */
const MAX_SEED = 2 ** 32 - 1;
/** How often the live line is printed, ms. */
const REPORT_EVERY_MS = 2000;

interface AgentFlags {
  cars: number;
  server?: string;
  url?: string;
  code: string;
  seed: number;
  threads: number;
  maxRuns: number;
  maxLease: number;
  speedup?: number;
  duration?: number;
  alwaysParked?: boolean;
  modelCache?: string;
  json?: boolean;
}

export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description(
      "run simulated cars as headless vehicle nodes: they enroll, lease work while parked, run real ONNX models (onnxruntime-node) and submit results (Ctrl-C stops them cleanly)",
    )
    .option(
      "--cars <count>",
      `cars in this process, 1 to ${MAX_CARS}`,
      (raw: string) => parseIntegerFlag("--cars", raw, { min: 1, max: MAX_CARS }),
      1,
    )
    .option(
      "--server <url>",
      `the server (default NIGHTSHIFT_URL or ${DEFAULT_SERVER_URL})`,
      (raw: string) => parseUrlFlag("--server", raw),
    )
    .option("--url <url>", "the same as --server", (raw: string) => parseUrlFlag("--url", raw))
    .option(
      "--code <code>",
      "the enrollment code: an operator's, or a demo server's `demo enrollment-code`; the public DEMO-NIGHTSHIFT makes owners nobody vouched for, whose cars alone validate no replicated work",
      "DEMO-NIGHTSHIFT",
    )
    .option(
      "--seed <seed>",
      `seeds the cars' daily patterns, 0 to ${MAX_SEED}`,
      (raw: string) => parseIntegerFlag("--seed", raw, { min: 0, max: MAX_SEED }),
      1,
    )
    .option(
      "--threads <count>",
      "onnxruntime threads per run, 1 to 64",
      (raw: string) => parseIntegerFlag("--threads", raw, { min: 1, max: 64 }),
      1,
    )
    .option(
      "--max-runs <count>",
      "model runs at once across all cars, 1 to 64",
      (raw: string) => parseIntegerFlag("--max-runs", raw, { min: 1, max: 64 }),
      1,
    )
    .option(
      "--max-lease <count>",
      "most tasks a car asks for at once, 1 to 128",
      (raw: string) => parseIntegerFlag("--max-lease", raw, { min: 1, max: 128 }),
      16,
    )
    .option(
      "--speedup <factor>",
      "the cars' days run this many times faster than the clock (60: a day in 24 minutes), at most 3600 (default: the server's clock, real time unless it runs compressed)",
      (raw: string) => parsePositiveFlag("--speedup", raw, 3600),
    )
    .option(
      "--duration <seconds>",
      "stop after this many seconds (default: run until Ctrl-C)",
      (raw: string) => parsePositiveFlag("--duration", raw, 7 * 24 * 3600),
    )
    .option("--always-parked", "every car stays parked and plugged in (no daily pattern)")
    .option(
      "--model-cache <dir>",
      "the folder for model files (default: in the system's temp folder)",
    )
    .option("--json", "print the live summary and the final one as JSON lines")
    .action(async (flags: AgentFlags) => {
      await agent(flags);
    });
}

async function agent(flags: AgentFlags): Promise<void> {
  const server = flags.server ?? flags.url ?? cliEnv().NIGHTSHIFT_URL ?? DEFAULT_SERVER_URL;
  // Loaded here, not at the top: onnxruntime's native library would slow every other command.
  const { runFleet } = await import("@nightshift/agent/fleet");
  const { createTwin } = await import("@nightshift/agent/twin");
  // The server must be there before a thousand cars start knocking.
  try {
    const health = await fetch(new URL("/healthz", server), {
      signal: AbortSignal.timeout(10_000),
    });
    if (!health.ok) throw new Error(`/healthz answered HTTP ${health.status}`);
  } catch (error) {
    throw new ApiCallError(`cannot reach the server at ${server}: ${(error as Error).message}`);
  }
  // The cars' days run on the server's scheduling clock: its speed, from its time now.
  const serverClock = await createNightshiftClient({ url: server })
    .node.clock.query()
    .catch(() => ({ speedup: 1, worldAt: new Date().toISOString() }));
  const speedup = flags.speedup ?? serverClock.speedup;
  if (speedup !== serverClock.speedup) {
    // A car reports when it really leaves; the server reads that on its own clock.
    const ratio = serverClock.speedup / speedup;
    process.stderr.write(
      `note: the server schedules at ${formatNumber(serverClock.speedup)}× and these cars live at ` +
        `${formatNumber(speedup)}×: to the server each stay lasts ${formatNumber(ratio)}× as long as ` +
        `in the car's own day, so ${ratio < 1 ? "few will outlast its margins before a departure" : "it will plan work past their departures"}. ` +
        `Leave --speedup out to follow the server's clock.\n`,
    );
  }

  let errors = 0;
  let lastError = "";
  const fleet = runFleet({
    server,
    cars: flags.cars,
    code: flags.code,
    seed: flags.seed,
    threads: flags.threads,
    maxConcurrentRuns: flags.maxRuns,
    maxLease: flags.maxLease,
    speedup,
    ...(speedup === serverClock.speedup ? { startMs: Date.parse(serverClock.worldAt) } : {}),
    handleSignals: true,
    ...(flags.modelCache ? { modelDir: flags.modelCache } : {}),
    ...(flags.alwaysParked
      ? {
          twin: (_i: number, nowMs: number) =>
            createTwin({ nowMs, socPct: 80, pluggedIn: true, chargerKW: 11 }),
        }
      : {}),
    onEvent: (_car, event) => {
      if (event.type === "error") {
        errors++;
        lastError = `${event.where}: ${event.message}`;
      }
    },
  });

  let previous = fleet.summary();
  const report = setInterval(() => {
    const now = fleet.summary();
    process.stdout.write(formatLine(now, previous, flags.json === true, lastError));
    previous = now;
  }, REPORT_EVERY_MS);
  const timer = flags.duration
    ? setTimeout(() => void fleet.stop(), flags.duration * 1000)
    : undefined;
  try {
    await fleet.stopped;
    await fleet.stop();
  } finally {
    clearInterval(report);
    if (timer) clearTimeout(timer);
  }
  const final = fleet.summary();
  process.stdout.write(
    flags.json
      ? `${JSON.stringify({ final: true, server, ...final, errors })}\n`
      : formatFinal(final, server),
  );
  if (final.enrolled === 0) {
    throw new ApiCallError(`no car could enroll at ${server}${lastError ? ` (${lastError})` : ""}`);
  }
}

/** One live line: the fleet's state and the work since the last line. */
export function formatLine(
  now: FleetSummary,
  before: FleetSummary,
  json: boolean,
  lastError: string,
): string {
  const dtS = Math.max(1e-3, now.elapsedS - before.elapsedS);
  const perS = (now.acknowledged - before.acknowledged) / dtS;
  if (json) return `${JSON.stringify({ ...now, tasksPerS: round(perS, 1) })}\n`;
  const parts = [
    `${now.elapsedS.toFixed(0).padStart(5)} s`,
    `cars ${now.enrolled}/${now.cars}: ${now.parked} parked, ${now.charging} charging, ${now.driving} driving`,
    `tasks ${now.acknowledged} (${perS.toFixed(1)}/s)`,
    `failed ${now.failed}`,
    `outbox ${now.outbox}`,
    `errors ${now.errors}`,
  ];
  return `${parts.join(" · ")}${now.errors > before.errors && lastError ? ` · last: ${lastError.slice(0, 120)}` : ""}\n`;
}

export function formatFinal(s: FleetSummary, server: string): string {
  const perS = s.elapsedS > 0 ? s.acknowledged / s.elapsedS : 0;
  return [
    `${s.cars} cars on ${server} for ${s.elapsedS.toFixed(1)} s`,
    `  enrolled            ${s.enrolled}`,
    `  tasks leased        ${s.leased}`,
    `  results computed    ${s.computed}`,
    `  acknowledged        ${s.acknowledged} (${perS.toFixed(1)}/s)`,
    `  refused             ${s.refused}`,
    `  leases failed       ${s.failed} (bad input, model integrity, engine)`,
    `  leases handed back  ${s.dropped} (departures, shutdown)`,
    `  outbox left         ${s.outbox}`,
    `  errors              ${s.errors} (${s.retries} retried)`,
    `  empty lease calls   ${formatIdle(s.idle)}`,
    `  compute energy      ${formatEnergyKWh(s.energyWh / 1000)}`,
    "",
  ].join("\n");
}

/** Empty lease calls by the server's reason, most frequent first: why cars sat idle. */
function formatIdle(idle: Record<string, number>): string {
  const entries = Object.entries(idle).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((n, [, c]) => n + c, 0);
  return entries.length === 0
    ? "0"
    : `${total} (${entries.map(([r, c]) => `${r} ${c}`).join(", ")})`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
