// A progress bar on stderr for long simulations. Only on a terminal: a bar written into a pipe or
// a log file is noise, and stdout stays for results.
import { Presets, SingleBar } from "cli-progress";

/** vehicles × hours above which a run takes long enough (seconds) to deserve a bar. */
export const PROGRESS_THRESHOLD = 200_000;

export function wantsProgress(vehicles: number, hours: number, stderrIsTTY: boolean): boolean {
  return stderrIsTTY && vehicles * hours > PROGRESS_THRESHOLD;
}

/**
 * Runs `work`, handing it a progress callback (share of simulated time done, 0..1) that draws the
 * bar. The simulation is synchronous, so cli-progress redraws from inside the callback
 * (synchronousUpdate) rather than from its timer. No SIGINT handler and no hidden cursor: a
 * handler could not run during a synchronous loop and would stop Ctrl-C from working.
 */
export function withProgress<T>(
  hours: number,
  work: (onProgress: (doneShare: number) => void) => T,
): T {
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: "simulating |{bar}| {percentage}% | {value} of {total} h | ETA {eta_formatted}",
      clearOnComplete: true,
      hideCursor: false,
      gracefulExit: false,
      etaBuffer: 30,
    },
    Presets.shades_classic,
  );
  const total = Math.round(hours * 10) / 10;
  bar.start(total, 0);
  try {
    return work((doneShare) => bar.update(Math.round(doneShare * hours * 10) / 10));
  } finally {
    bar.stop();
  }
}
