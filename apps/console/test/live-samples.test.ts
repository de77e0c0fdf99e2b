// The live feed's buffer: the last few minutes of samples, whatever the time the console is open.
import { describe, expect, it } from "vitest";
import { appendSample, type FleetSample, LIVE_WINDOW_MS } from "../src/lib/live-samples";

const sample = (atMs: number): FleetSample => ({
  atMs,
  availableKW: atMs / 1000,
  availableTops: 0,
  eligible: 0,
  online: 0,
  total: 0,
  queueDepth: 0,
  activeLeases: 0,
  regionKW: {},
});

/** A sample every 2 s for `ms`, as the feed gets them. */
function feed(ms: number): FleetSample[] {
  let samples: FleetSample[] = [];
  for (let t = 0; t <= ms; t += 2000) samples = appendSample(samples, sample(t));
  return samples;
}

describe("appendSample", () => {
  it("keeps every sample of the window, oldest first", () => {
    const samples = feed(LIVE_WINDOW_MS);
    expect(samples).toHaveLength(LIVE_WINDOW_MS / 2000 + 1);
    expect(samples.map((s) => s.atMs)).toEqual(
      [...samples.map((s) => s.atMs)].sort((a, b) => a - b),
    );
  });

  it("holds as many samples after an hour as after the window: the buffer stops growing", () => {
    const full = feed(LIVE_WINDOW_MS).length;
    const hour = feed(3600_000);
    expect(hour).toHaveLength(full);
    expect(hour[0]!.atMs).toBe(3600_000 - LIVE_WINDOW_MS);
    expect(hour.at(-1)!.atMs).toBe(3600_000);
  });

  it("drops everything older than the window after a gap in the feed", () => {
    const before = feed(60_000);
    const after = appendSample(before, sample(60_000 + LIVE_WINDOW_MS + 1));
    expect(after.map((s) => s.atMs)).toEqual([60_000 + LIVE_WINDOW_MS + 1]);
  });

  it("returns a new array and leaves the old one as it was (React state)", () => {
    const before = feed(10_000);
    const copy = [...before];
    const after = appendSample(before, sample(12_000));
    expect(after).not.toBe(before);
    expect(before).toEqual(copy);
    expect(after.slice(0, -1)).toEqual(before);
  });
});
