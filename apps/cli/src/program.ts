// Every command of the nightshift CLI, assembled. Parsing throws on a mistake (exitOverride):
// main.ts turns what is thrown into a message and an exit code.
import { readFileSync } from "node:fs";
import { Command, type OutputConfiguration } from "commander";
import { registerAgent } from "./commands/agent";
import { registerDemo } from "./commands/demo";
import { registerJobs } from "./commands/jobs";
import { registerLogin } from "./commands/login";
import { registerScenario } from "./commands/scenario";
import { registerServe } from "./commands/serve";
import { registerSimulate } from "./commands/simulate";
import { registerTenants } from "./commands/tenants";

/** The CLI's version, from its package.json. */
export const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** `output` replaces where commander writes its help and errors (tests). */
export function createProgram(output?: OutputConfiguration): Command {
  const program = new Command("nightshift")
    .description("Nightshift: a fleet of parked electric cars as one inference cloud.")
    .version(`nightshift ${VERSION}`, "-v, --version", "print the version")
    // Settings before the subcommands, which inherit them.
    .exitOverride()
    .showHelpAfterError("(add --help for usage)");
  if (output) program.configureOutput(output);
  registerSimulate(program);
  registerDemo(program);
  registerScenario(program);
  registerServe(program);
  registerLogin(program);
  registerJobs(program);
  registerTenants(program);
  registerAgent(program);
  return program;
}
