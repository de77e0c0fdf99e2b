import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { startSweeper } from "../src/lease-sweeper";

const silent = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("startSweeper", () => {
  it("sweeps again and again, and keeps going after a failed sweep", async () => {
    let calls = 0;
    const sweeper = startSweeper({
      sweep: async () => {
        calls += 1;
        if (calls === 2) throw new Error("database away");
      },
      intervalMs: 5,
      log: silent,
    });
    await sleep(150);
    await sweeper.stop();
    expect(calls).toBeGreaterThanOrEqual(4);
  });

  it("never runs two sweeps at once, and stop() waits for the one under way", async () => {
    let running = 0;
    let overlapped = false;
    let finished = 0;
    const sweeper = startSweeper({
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
    await sleep(50);
    await sweeper.stop();
    expect(running).toBe(0);
    const after = finished;
    await sleep(60);
    expect(finished).toBe(after);
    expect(overlapped).toBe(false);
  });
});
