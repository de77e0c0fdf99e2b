import { readModelFile } from "@nightshift/models/files";
import { getManifest } from "@nightshift/models/registry";
import { TINY_IN, TINY_OUT, tinyMlpReference } from "@nightshift/models/tiny-mlp";
import { afterAll, describe, expect, it } from "vitest";
import { NodeRuntime } from "../src/runtime-node";

const tiny = getManifest("tiny-mlp")!;
const runtime = new NodeRuntime({ intraOpThreads: 1, maxConcurrentRuns: 2 });

afterAll(async () => {
  await runtime.dispose();
});

function input(batch: number, salt: number): Float32Array {
  return Float32Array.from({ length: batch * TINY_IN }, (_, i) => ((i * 7 + salt) % 13) / 4 - 1.5);
}

describe("NodeRuntime", () => {
  it("runs the tiny MLP and returns its first output as float32, matching the reference", async () => {
    const bytes = await readModelFile(tiny);
    const x = input(3, 1);
    const result = await runtime.run(tiny, bytes, { x: { dims: [3, TINY_IN], data: x } });
    expect(result.backend).toBe("native");
    expect(result.output.dims).toEqual([3, TINY_OUT]);
    expect(result.output.data).toBeInstanceOf(Float32Array);
    const expected = tinyMlpReference(x, 3);
    result.output.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(runtime.info()).toMatchObject({ backend: "native", threads: 1 });
  });

  it("shares one session per model across concurrent runs", async () => {
    const bytes = await readModelFile(tiny);
    const fresh = new NodeRuntime();
    const runs = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        fresh.run(tiny, bytes, { x: { dims: [1, TINY_IN], data: input(1, i) } }),
      ),
    );
    expect(fresh.sessionsCreated).toBe(1);
    runs.forEach((r, i) => {
      const expected = tinyMlpReference(input(1, i), 1);
      r.output.data.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 4));
    });
    await fresh.dispose();
  });

  it("runs the PaddleOCR direction classifier on a batch", async () => {
    const cls = getManifest("ppocr-cls")!;
    const bytes = await readModelFile(cls);
    const x = new Float32Array(2 * 3 * 48 * 192).fill(0.25);
    const result = await runtime.run(cls, bytes, { x: { dims: [2, 3, 48, 192], data: x } });
    expect(result.output.dims).toEqual([2, 2]);
    // Softmax over two directions: each row sums to 1.
    expect(result.output.data[0]! + result.output.data[1]!).toBeCloseTo(1, 5);
  });

  it("refuses bad settings, naming them", () => {
    expect(() => new NodeRuntime({ intraOpThreads: 0 })).toThrow(/intraOpThreads/);
    expect(() => new NodeRuntime({ maxConcurrentRuns: 1.5 })).toThrow(/maxConcurrentRuns/);
  });
});
