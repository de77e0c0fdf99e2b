// The nightshift command line. Exit codes: 0 done, 2 a usage mistake (a flag, a scenario file,
// a bad environment variable), 1 anything else (the server refused, could not be reached…).
import { CommanderError } from "commander";
import { ApiCallError } from "./api";
import { createProgram } from "./program";
import { UsageError } from "./usage-error";

async function main(argv: string[]): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    } else if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else if (error instanceof ApiCallError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  }
}

await main(process.argv);
