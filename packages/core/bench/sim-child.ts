// Runs one simulation and prints its wall time and peak memory as JSON (see run.ts).
import { simulate } from "../src/sim/simulate";
import { WINTER_OFFSETS } from "./winter-offsets";

const vehicles = Number(process.argv[2]);
const hours = Number(process.argv[3]);
let peakRss = process.memoryUsage().rss;
const start = performance.now();
const { summary } = simulate({
  vehicles,
  hours,
  seed: 1,
  offsets: WINTER_OFFSETS,
  onProgress: () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  },
});
const seconds = (performance.now() - start) / 1000;
// maxRSS (KiB) covers moments between progress callbacks too.
const peakMB = Math.max(peakRss / 2 ** 20, process.resourceUsage().maxRSS / 1024);
process.stdout.write(JSON.stringify({ seconds, peakMB, runs: summary.runs, tasks: summary.tasksCompleted }));
