import type { Command } from "commander";
import { simulate, type SimResult } from "@nightshift/core/sim/simulate";
import { DEFAULT_SCENARIO, type Scenario } from "@nightshift/core/sim/scenario";
import {
  DEFAULT_START_DATE,
  parseStartDate,
  simulationOffsets,
} from "@nightshift/time-zones/sim-offsets";
import { parseIntegerFlag, parsePositiveFlag } from "../flags";
import { formatReport } from "../format";
import { wantsProgress, withProgress } from "../progress";
import { readScenarioFile } from "../scenario-file";
import { UsageError } from "../usage-error";

export const MAX_VEHICLES = 5_000_000;
/** Two weeks. */
export const MAX_HOURS = 24 * 14;
/** Seeds are 32-bit: core folds a seed to 32 bits, so larger ones would repeat smaller ones. */
export const MAX_SEED = 2 ** 32 - 1;

interface SimulateFlags {
  vehicles: number;
  hours: number;
  seed: number;
  start: string;
  scenario?: string;
  json?: boolean;
}

/** A run and the date it started on: what `--json` prints and the report shows. */
export type SimulationRun = { start: string } & SimResult;

export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description(
      "simulate a fleet of parked cars as an inference cloud and report capacity and economics",
    )
    .option(
      "--vehicles <count>",
      `cars in the fleet, 0 to ${MAX_VEHICLES}`,
      (raw: string) => parseIntegerFlag("--vehicles", raw, { min: 0, max: MAX_VEHICLES }),
      1000,
    )
    .option(
      "--hours <hours>",
      `simulated time in hours, more than 0 and at most ${MAX_HOURS}`,
      (raw: string) => parsePositiveFlag("--hours", raw, MAX_HOURS),
      24,
    )
    .option(
      "--seed <seed>",
      `random seed, an integer 0 to ${MAX_SEED}: the same seed gives the same result`,
      (raw: string) => parseIntegerFlag("--seed", raw, { min: 0, max: MAX_SEED }),
      1,
    )
    .option(
      "--start <date>",
      "the UTC date the run starts on (00:00 UTC), as YYYY-MM-DD: regions keep their local " +
        "time, daylight saving time included",
      (raw: string) => {
        parseStartDateFlag(raw);
        return raw;
      },
      DEFAULT_START_DATE,
    )
    .option(
      "--scenario <file>",
      "scenario JSON file (see docs/SCENARIOS.md); default: the built-in scenario",
    )
    .option("--json", "print the full result as JSON on stdout, and nothing else")
    .action((flags: SimulateFlags) => {
      const scenario = flags.scenario === undefined ? undefined : readScenarioFile(flags.scenario);
      const result = runSimulation({ ...flags, scenario });
      process.stdout.write(
        flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result),
      );
    });
}

/** Unix seconds of the start date's 00:00 UTC; a usage error naming --start otherwise. */
function parseStartDateFlag(raw: string): number {
  try {
    return parseStartDate(raw);
  } catch (error) {
    throw new UsageError(`--${(error as Error).message}`);
  }
}

/**
 * Runs a simulation, with a progress bar on stderr when it is a terminal and the run is long.
 * Core's simulator counts from the start date's UTC midnight and reads each zone's offsets from
 * a table worked out here, for the run and a margin around it.
 */
export function runSimulation(options: {
  vehicles: number;
  hours: number;
  seed: number;
  start?: string;
  scenario?: Scenario;
}): SimulationRun {
  const { vehicles, hours, seed, scenario } = options;
  const start = options.start ?? DEFAULT_START_DATE;
  const regions = (scenario ?? DEFAULT_SCENARIO).regions;
  const offsets = simulationOffsets(regions, parseStartDateFlag(start), hours);
  const run = (onProgress?: (share: number) => void) =>
    simulate({ vehicles, hours, seed, scenario, offsets, ...(onProgress ? { onProgress } : {}) });
  const result = wantsProgress(vehicles, hours, process.stderr.isTTY === true)
    ? withProgress(hours, run)
    : run();
  return { start, ...result };
}
