// The numeric reference and the benchmark's baseline: the same models and inputs through
// onnxruntime-node, and the inputs themselves (demo images preprocessed as a car would).
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { decodeImage } from "@nightshift/models/image";
import { demoImagePath } from "@nightshift/models/demo-images";
import { readModelFile } from "@nightshift/models/files";
import type { ModelManifest } from "@nightshift/models/manifest";
import { batch, imageToTensor } from "@nightshift/models/preprocess";
import type { WireTensor } from "../src/protocol";
import { syntheticFeeds } from "../src/synthetic";

/** Demo images per image model: upright and upside-down lines, or pages of text. */
const DEMO_FILES: Record<string, string[]> = {
  "ppocr-cls": ["line-hello-world-0.png", "line-hello-world-180.png", "line-night-shift-0.png"],
  "ppocr-det": ["page-1.png", "page-2.png"],
};

/**
 * `count` inputs for the model, batched: demo images for image models (`files`, else a few
 * chosen per model), a fixed pattern for tensors.
 */
export function modelFeeds(
  m: ModelManifest,
  count: number,
  files: readonly string[] | undefined = DEMO_FILES[m.id],
): Record<string, WireTensor> {
  if (m.preprocess.kind === "tensor") return syntheticFeeds(m, count);
  if (!files) throw new Error(`no demo images chosen for ${m.id}`);
  const tensors = Array.from({ length: count }, (_, i) =>
    imageToTensor(
      m,
      decodeImage(new Uint8Array(readFileSync(demoImagePath(files[i % files.length]!)))),
    ),
  );
  const stacked = batch(tensors);
  return { [m.inputs[0]!.name]: { dims: stacked.dims, data: stacked.data } };
}

export interface NativeRunner {
  run(feeds: Record<string, WireTensor>): Promise<WireTensor>;
  release(): Promise<void>;
}

export async function nativeRunner(m: ModelManifest, threads: number): Promise<NativeRunner> {
  const session = await ort.InferenceSession.create(await readModelFile(m), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  return {
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds))
        ortFeeds[name] = new ort.Tensor("float32", t.data, t.dims);
      const out = await session.run(ortFeeds);
      const first = out[session.outputNames[0]!]!;
      return { dims: [...first.dims], data: first.data as Float32Array };
    },
    release: () => session.release(),
  };
}

/** The largest element-wise difference, for messages when outputs disagree. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++)
    max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
