// One command per fault test: `tsx src/run.ts <test> [--long]`, or `all`. Prints each test's
// figures and writes them to bench-results/reliability.<test>.json. The default size is the one
// `npm test` runs; --long is the full size of the reliability issue.
import { report, type Figure } from "./figures";

type Runner = (long: boolean) => Promise<Figure[]>;

const TESTS: Record<string, Runner> = {
  churn: async (long) => {
    const { churn, CHURN_CI, CHURN_LONG } = await import("./churn");
    return churn(long ? CHURN_LONG : CHURN_CI);
  },
  crashes: async (long) => {
    const { crashes, CRASHES_CI, CRASHES_LONG } = await import("./crashes");
    return crashes(long ? CRASHES_LONG : CRASHES_CI);
  },
  cheaters: async (long) => {
    const { cheaters, CHEATERS_CI, CHEATERS_LONG } = await import("./cheaters");
    return cheaters(long ? CHEATERS_LONG : CHEATERS_CI);
  },
  hostile: async (long) => {
    const { hostile, HOSTILE_CI, HOSTILE_LONG } = await import("./hostile");
    return hostile(long ? HOSTILE_LONG : HOSTILE_CI);
  },
  load: async (long) => {
    const { load, LOAD_CI, LOAD_LONG } = await import("./load");
    const size = long ? LOAD_LONG : LOAD_CI;
    return load(process.argv.includes("--no-fsync") ? { ...size, durable: false } : size);
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
  for (const name of wanted) {
    const list = await TESTS[name]!(long);
    report(name, long ? "--long" : "CI size", list);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
