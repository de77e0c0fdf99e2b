import { Option, type Command } from "commander";
import { DEFAULT_SCENARIO } from "@nightshift/core/sim/scenario";
import { readScenarioFile } from "../scenario-file";
import { UsageError } from "../usage-error";

interface ScenarioFlags {
  printDefault?: boolean;
  check?: string;
}

export function registerScenario(program: Command): void {
  program
    .command("scenario")
    .description("print the default scenario, or check a scenario file")
    .addOption(
      new Option(
        "--print-default",
        "print the default scenario as JSON, a starting point for a file",
      ),
    )
    .addOption(
      new Option(
        "--check <file>",
        "validate a scenario file; lists each bad field and exits 2",
      ).conflicts("printDefault"),
    )
    .addHelpText("after", "\nA scenario file gives only what it changes; see docs/SCENARIOS.md.")
    .action((flags: ScenarioFlags) => {
      if (flags.printDefault) {
        process.stdout.write(`${JSON.stringify(DEFAULT_SCENARIO, null, 2)}\n`);
      } else if (flags.check !== undefined) {
        const scenario = readScenarioFile(flags.check);
        process.stdout.write(`OK: ${flags.check} is a valid scenario ("${scenario.name}")\n`);
      } else {
        throw new UsageError(
          "scenario needs --print-default or --check <file> (see nightshift scenario --help)",
        );
      }
    });
}
