// The server's draws: seeded by what they decide, under the server's key.
import { createRng } from "@nightshift/core/random";
import { describe, expect, it } from "vitest";
import { drawSeed } from "../src/crypto";

describe("drawSeed", () => {
  it("replays under the same key, and says nothing without it", () => {
    const key = "k".repeat(32);
    expect(drawSeed(key, "lease", "car-1", "req-1")).toBe(drawSeed(key, "lease", "car-1", "req-1"));
    // Another key, other draws: the ids alone, which a car knows, do not give them.
    const other = "o".repeat(32);
    const firsts = (k: string) =>
      Array.from({ length: 64 }, (_, i) =>
        createRng(drawSeed(k, "replicas", `task-${i}`, "0")).next(),
      );
    const [a, b] = [firsts(key), firsts(other)];
    expect(a.filter((x, i) => x === b[i])).toEqual([]);
    // Where the parts split matters.
    expect(drawSeed(key, "ab", "c")).not.toBe(drawSeed(key, "a", "bc"));
    // Spread: the first draws of 1,000 calls cover every tenth.
    const tenths = new Set(
      Array.from({ length: 1000 }, (_, i) =>
        Math.floor(createRng(drawSeed(key, "lease", "car", String(i))).next() * 10),
      ),
    );
    expect(tenths.size).toBe(10);
  });
});
