// Waits for tests. A test must not pass or fail with the machine's speed, so nothing here gives
// up because some fixed time has passed while the system was still working:
// - `until` waits for a condition with no budget of its own; only a hang (HANG_MS, far beyond
//   any slow machine) ends it;
// - `untilDone` waits for work to finish and fails only when the work stops moving: no progress
//   at all for `stallMs`, however long the whole wait takes.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * How long a wait may see nothing happen before the test calls it a hang: three minutes without
 * a single answer, a task decided, a job moving. Every wait's real limit, here and in the server's
 * and the API's test kits (STALL_MS); vitest's own timeouts (tooling/vitest) are longer still, so
 * that a hang fails with a message that says what it waited for.
 */
export const HANG_MS = 3 * 60_000;

export class StalledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StalledError";
  }
}

export interface WaitOptions {
  /** How often the condition is read, ms. */
  pollMs?: number;
  /** The hang guard, ms (HANG_MS by default). */
  hangMs?: number;
}

/** Resolves once `check` holds. Throws StalledError only after `hangMs` of waiting. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  o: WaitOptions = {},
): Promise<void> {
  const pollMs = o.pollMs ?? 50;
  const hangMs = o.hangMs ?? HANG_MS;
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > hangMs) {
      throw new StalledError(`waited ${Math.round(hangMs / 1000)} s for ${what}: a hang`);
    }
    await sleep(pollMs);
  }
}

export interface ProgressOptions<T> {
  /** Whether the work is finished. */
  done: (value: T) => boolean;
  /** A figure that changes whenever the work moves (tasks finished, results acknowledged …). */
  progress: (value: T) => number | string;
  /** How long the figure may stand still before the wait fails, ms (HANG_MS by default). */
  stallMs?: number;
  pollMs?: number;
}

/**
 * Reads `read()` until `done` holds and returns that value. Fails with StalledError when the
 * progress figure stays the same for `stallMs`: a slow run keeps going, a stuck one stops.
 * A read that throws counts as no progress (a server restarting, a database away).
 */
export async function untilDone<T>(
  what: string,
  read: () => Promise<T>,
  o: ProgressOptions<T>,
): Promise<T> {
  const pollMs = o.pollMs ?? 200;
  const stallMs = o.stallMs ?? HANG_MS;
  let last: number | string | undefined;
  let movedAt = performance.now();
  for (;;) {
    let value: T | undefined;
    let readOk = false;
    try {
      value = await read();
      readOk = true;
    } catch {
      // No answer this time: as if nothing moved.
    }
    if (readOk) {
      if (o.done(value as T)) return value as T;
      const now = o.progress(value as T);
      if (now !== last) {
        last = now;
        movedAt = performance.now();
      }
    }
    if (performance.now() - movedAt > stallMs) {
      throw new StalledError(
        `${what}: no progress for ${Math.round(stallMs / 1000)} s (stuck at ${String(last)})`,
      );
    }
    await sleep(pollMs);
  }
}
