// A made-up input of the right shape for a model: a smooth deterministic pattern, so that the
// engine check and the benchmark need no image and give the same figures every run.
import type { ModelManifest } from "@nightshift/models/manifest";
import { referenceInputDims } from "@nightshift/models/preprocess";
import type { WireTensor } from "./protocol";

/**
 * Feeds for `batch` inputs: an image model's input at the size its cost is counted at (the
 * detector's follows its image: 320 × 320 here); other named dimensions are taken as 1.
 */
export function syntheticFeeds(m: ModelManifest, batch: number): Record<string, WireTensor> {
  const feeds: Record<string, WireTensor> = {};
  for (const [k, spec] of m.inputs.entries()) {
    const base =
      k === 0 ? referenceInputDims(m) : spec.dims.map((d) => (typeof d === "number" ? d : 1));
    const dims = base.map((d, i) => (i === 0 ? batch : d));
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    // Values in [-1, 1], as normalized pixels are.
    for (let i = 0; i < size; i++) data[i] = Math.sin(i * 0.37) * Math.cos(i * 0.011);
    feeds[spec.name] = { dims, data };
  }
  return feeds;
}
