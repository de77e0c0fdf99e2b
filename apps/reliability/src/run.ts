// One command per fault test: `tsx src/run.ts <test> [--long]`, or `all`. Prints each test's
// figures and writes them to bench-results/reliability.<test>.json. The default size is the one
// `npm test` runs; --long is the full size of the reliability issue.
import { report, type Figure } from "./figures";

/** A test's figures, and the claims of its own they broke (a test that checks its own). */
interface Outcome {
  figures: Figure[];
  broken: string[];
}
type Runner = (long: boolean) => Promise<Outcome>;

const unchecked = (figures: Figure[]): Outcome => ({ figures, broken: [] });

const TESTS: Record<string, Runner> = {
  churn: async (long) => {
    const { churn, CHURN_CI, CHURN_LONG } = await import("./churn");
    return unchecked(await churn(long ? CHURN_LONG : CHURN_CI));
  },
  crashes: async (long) => {
    const { crashes, CRASHES_CI, CRASHES_LONG } = await import("./crashes");
    return unchecked(await crashes(long ? CRASHES_LONG : CRASHES_CI));
  },
  cheaters: async (long) => {
    const { cheaters, CHEATERS_CI, CHEATERS_LONG } = await import("./cheaters");
    return unchecked(await cheaters(long ? CHEATERS_LONG : CHEATERS_CI));
  },
  hostile: async (long) => {
    const { hostile, HOSTILE_CI, HOSTILE_LONG } = await import("./hostile");
    return unchecked(await hostile(long ? HOSTILE_LONG : HOSTILE_CI));
  },
  load: async (long) => {
    const { load, LOAD_CI, LOAD_LONG } = await import("./load");
    const size = long ? LOAD_LONG : LOAD_CI;
    return unchecked(
      await load(process.argv.includes("--no-fsync") ? { ...size, durable: false } : size),
    );
  },
  adversaries: async (long) => {
    const { adversaries, brokenClaims, ADVERSARIES_CI, ADVERSARIES_LONG } =
      await import("./adversaries");
    const size = long ? ADVERSARIES_LONG : ADVERSARIES_CI;
    const figures = await adversaries(size);
    return {
      figures,
      broken: brokenClaims(Object.fromEntries(figures.map((f) => [f.name, f.value])), size),
    };
  },
};

async function main(argv: string[]): Promise<number> {
  const long = argv.includes("--long");
  const names = argv.filter((a) => !a.startsWith("--"));
  const wanted = names.length === 0 || names.includes("all") ? Object.keys(TESTS) : names;
  const unknown = wanted.filter((n) => !(n in TESTS));
  if (unknown.length > 0) {
    console.error(
      `unknown test ${unknown.join(", ")}; one of: ${Object.keys(TESTS).join(", ")}, all`,
    );
    return 2;
  }
  let broken = 0;
  for (const name of wanted) {
    const outcome = await TESTS[name]!(long);
    report(name, long ? "--long" : "CI size", outcome.figures);
    if (outcome.broken.length > 0)
      console.error(`${name}: claims broken:\n  ${outcome.broken.join("\n  ")}`);
    broken += outcome.broken.length;
  }
  return broken > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
