import type { Command } from "commander";
import { formatFindings, formatInteger, formatReport } from "../format";
import { runSimulation } from "./simulate";

/** Small enough to finish in a few seconds on a laptop, large enough for stable shares. */
const DEMO = { vehicles: 2000, hours: 24, seed: 42 } as const;

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      `a short demonstration: ${formatInteger(DEMO.vehicles)} cars for ${DEMO.hours} h (seed ${DEMO.seed}) on the default scenario`,
    )
    .action(() => {
      process.stderr.write(
        `Simulating ${formatInteger(DEMO.vehicles)} cars for ${DEMO.hours} hours (seed ${DEMO.seed})…\n`,
      );
      const result = runSimulation(DEMO);
      process.stdout.write(`${formatReport(result)}\n${formatFindings(result.summary)}\n\n`);
      process.stdout.write(
        "Try your own: nightshift simulate --vehicles 10000 --hours 48 --seed 7 (or --help).\n",
      );
    });
}
