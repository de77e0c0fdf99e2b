// The sweeper's loop on a clock the test moves (vitest's fake timers): what it does after so many
// intervals, whatever the machine's speed. The sweeps themselves are tested in packages/api.
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startSweeper } from "../src/lease-sweeper";

const silent = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("startSweeper", () => {
  it("sweeps again and again, and keeps going after a failed sweep", async () => {
    let calls = 0;
    const sweeper = startSweeper({
      sweep: async () => {
        calls += 1;
        if (calls === 2) throw new Error("database away");
      },
      intervalMs: 100,
      log: silent,
    });
    // Each interval is jittered to 75–125% of intervalMs: ten of them are at most 1250 ms.
    await vi.advanceTimersByTimeAsync(1250);
    await sweeper.stop();
    expect(calls).toBeGreaterThanOrEqual(10);
    // Stopped: no sweep however much time passes.
    const after = calls;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(after);
  });

  it("never runs two sweeps at once, and stop() waits for the one under way", async () => {
    let running = 0;
    let overlapped = false;
    let finished = 0;
    const sweeper = startSweeper({
      // Each sweep takes 30 ms of the clock, far longer than the 1 ms interval.
      sweep: async () => {
        running += 1;
        overlapped ||= running > 1;
        await sleep(30);
        running -= 1;
        finished += 1;
      },
      intervalMs: 1,
      log: silent,
    });
    // Ten sweeps' worth of time: back to back, one at a time.
    await vi.advanceTimersByTimeAsync(10 * 31 + 5);
    expect(finished).toBeGreaterThanOrEqual(9);
    expect(overlapped).toBe(false);
    // Stop in the middle of a sweep: stop() resolves only once that sweep has ended.
    while (running === 0) await vi.advanceTimersByTimeAsync(1);
    let stoppedAt: number | null = null;
    const stopping = sweeper.stop().then(() => (stoppedAt = finished));
    await vi.advanceTimersByTimeAsync(10);
    expect(stoppedAt).toBeNull();
    await vi.advanceTimersByTimeAsync(30);
    await stopping;
    expect(running).toBe(0);
    expect(stoppedAt).toBe(finished);
    // And nothing after it.
    const after = finished;
    await vi.advanceTimersByTimeAsync(1000);
    expect(finished).toBe(after);
    expect(overlapped).toBe(false);
  });
});
