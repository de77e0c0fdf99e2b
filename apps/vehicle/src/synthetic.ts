// A made-up input of the right shape for a model: a smooth deterministic pattern, so that the
// engine check and the benchmark need no image and give the same figures every run.
import type { ModelManifest } from "@nightshift/models/manifest";
import type { WireTensor } from "./protocol";

/** Feeds for `batch` inputs: named dimensions other than the first are taken as 1. */
export function syntheticFeeds(m: ModelManifest, batch: number): Record<string, WireTensor> {
  const feeds: Record<string, WireTensor> = {};
  for (const spec of m.inputs) {
    const dims = spec.dims.map((d, i) => (i === 0 ? batch : typeof d === "number" ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    // Values in [-1, 1], as normalized pixels are.
    for (let i = 0; i < size; i++) data[i] = Math.sin(i * 0.37) * Math.cos(i * 0.011);
    feeds[spec.name] = { dims, data };
  }
  return feeds;
}
