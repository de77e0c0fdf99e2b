import type { Command } from "commander";
import { simulate, type SimResult } from "@nightshift/core/sim/simulate";
import type { Scenario } from "@nightshift/core/sim/scenario";
import { parseIntegerFlag, parsePositiveFlag } from "../flags";
import { formatReport } from "../format";
import { wantsProgress, withProgress } from "../progress";
import { readScenarioFile } from "../scenario-file";

export const MAX_VEHICLES = 5_000_000;
/** Two weeks. */
export const MAX_HOURS = 24 * 14;
/** Seeds are 32-bit: core folds a seed to 32 bits, so larger ones would repeat smaller ones. */
export const MAX_SEED = 2 ** 32 - 1;

interface SimulateFlags {
  vehicles: number;
  hours: number;
  seed: number;
  scenario?: string;
  json?: boolean;
}

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

/** Runs a simulation, with a progress bar on stderr when it is a terminal and the run is long. */
export function runSimulation(options: {
  vehicles: number;
  hours: number;
  seed: number;
  scenario?: Scenario;
}): SimResult {
  const { vehicles, hours, seed, scenario } = options;
  if (!wantsProgress(vehicles, hours, process.stderr.isTTY === true)) {
    return simulate({ vehicles, hours, seed, scenario });
  }
  return withProgress(hours, (onProgress) =>
    simulate({ vehicles, hours, seed, scenario, onProgress }),
  );
}
