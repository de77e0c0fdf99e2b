// Requeues expired leases every few seconds (and, in the same pass, ends overdue jobs and
// deletes input images no job needs). Every instance runs one; each sweep claims rows in a way
// that is safe when several sweep at once, and a jittered interval keeps instances that started
// together from sweeping in lockstep.
import type { Logger } from "pino";

export interface Sweeper {
  /** Stops the loop and waits for a sweep in progress to end. */
  stop(): Promise<void>;
}

export function startSweeper(opts: {
  sweep: () => Promise<unknown>;
  intervalMs: number;
  log: Logger;
  /** What the loop does, for its log lines (default "lease sweep"). */
  name?: string;
}): Sweeper {
  const name = opts.name ?? "lease sweep";
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const schedule = () => {
    if (stopped) return;
    const delayMs = opts.intervalMs * (0.75 + Math.random() / 2);
    timer = setTimeout(() => {
      running = sweepOnce().finally(schedule);
    }, delayMs);
    // A sweep pending is no reason to keep the process alive.
    timer.unref();
  };

  const sweepOnce = async () => {
    const startedAt = performance.now();
    try {
      const outcome = await opts.sweep();
      opts.log.debug({ outcome, ms: Math.round(performance.now() - startedAt) }, `${name} done`);
    } catch (error) {
      opts.log.warn({ err: error }, `${name} failed; retrying at the next interval`);
    }
  };

  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
