// `npm run replay -w @nightshift/reliability [-- --small] [--json] [--cars N] [--hours H]
// [--seed S] [--date YYYY-MM-DD] [--speedup X] [--task-scale K]`: the replay benchmark
// (./replay). Prints the simulator's and the server's figures side by side (or, with --json, the
// result as JSON) and writes bench-results/replay.json. Exits 0 whatever the figures say: a
// benchmark reports, it does not judge.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@nightshift/server/env";
import { formatReplay, replay, REPLAY_FULL, REPLAY_SMALL, type ReplaySize } from "./replay";

const NUMBER_FLAGS = {
  "--cars": "cars",
  "--hours": "hours",
  "--seed": "seed",
  "--speedup": "speedup",
  "--task-scale": "taskScale",
} as const;

function sizeFrom(argv: readonly string[]): ReplaySize {
  const size: ReplaySize = { ...(argv.includes("--small") ? REPLAY_SMALL : REPLAY_FULL) };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--date") size.date = argv[++i] ?? "";
    else if (flag in NUMBER_FLAGS) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value)) throw new Error(`${flag} needs a number`);
      size[NUMBER_FLAGS[flag as keyof typeof NUMBER_FLAGS]] = value;
    } else if (flag !== "--small" && flag !== "--json") throw new Error(`unknown flag ${flag}`);
  }
  return size;
}

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const result = await replay(sizeFrom(argv), json ? () => {} : (line) => console.log(line));
if (json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(formatReplay(result));
  const outside = result.figures.filter((f) => !f.within5).map((f) => f.name);
  console.log(outside.length ? `outside 5%: ${outside.join(", ")}` : "every figure within 5%");
}
const dir = join(REPO_ROOT, "bench-results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "replay.json"), JSON.stringify(result, null, 2) + "\n");
