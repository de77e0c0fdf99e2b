// The nightshift command line. Exit codes: 0 done, 2 a usage mistake (a flag, a scenario file),
// 1 anything else.
import { Command, CommanderError } from "commander";
import { registerDemo } from "./commands/demo";
import { registerScenario } from "./commands/scenario";
import { registerSimulate } from "./commands/simulate";
import { UsageError } from "./usage-error";

function createProgram(): Command {
  const program = new Command("nightshift")
    .description("Nightshift: a fleet of parked electric cars as one inference cloud.")
    // Settings before the subcommands, which inherit them.
    .exitOverride()
    .showHelpAfterError("(add --help for usage)");
  registerSimulate(program);
  registerDemo(program);
  registerScenario(program);
  return program;
}

function main(argv: string[]): void {
  try {
    createProgram().parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    } else if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      throw error;
    }
  }
}

main(process.argv);
