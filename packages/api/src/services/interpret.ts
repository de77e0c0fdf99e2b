// A validated output read for people, by the model's own post-processing: the direction of a
// line of text, text boxes in the input image's pixels, or a preview of a raw tensor. Computed
// once, from the canonical output, when the task validates: tenants read it with their results.
import { getManifest } from "@nightshift/models/registry";
import { type Interpretation, interpretOutput } from "@nightshift/models/postprocess";
import { imageMeta, outputDims } from "@nightshift/models/preprocess";

/**
 * The interpretation of one task's output, or null when the model is not in the registry or
 * the output does not fit it (the result still stands: verification compared the numbers).
 */
export function interpret(
  modelId: string,
  output: readonly number[],
  image: { width: number; height: number } | null,
): Interpretation | null {
  const m = getManifest(modelId);
  if (!m) return null;
  try {
    // The detector's map is as large as its input, which follows the image's size.
    const dims = outputDims(m, image ?? undefined);
    if (!dims) return null;
    const meta =
      image && m.preprocess.kind === "image" ? imageMeta(m, image.width, image.height) : undefined;
    return interpretOutput(m, output, dims, meta);
  } catch {
    return null;
  }
}
