// What runs a model on a node, whatever the engine: onnxruntime-node in headless agents,
// onnxruntime-web (WebGPU first, WASM fallback) in the browser. Browser-safe: types only.
import type { ModelManifest } from "@nightshift/models/manifest";

/** The backends a result may come from; verification allows for their differences. */
export type Backend = "webgpu" | "wasm" | "native";

/** A float32 tensor in row-major order. */
export interface Tensor {
  dims: number[];
  data: Float32Array;
}

export type Feeds = Record<string, Tensor>;

export interface RuntimeInfo {
  backend: Backend;
  /** For people: the WebGPU adapter, or "WASM SIMD, 4 threads", or "onnxruntime-node 1.30 CPU". */
  detail: string;
  threads: number;
}

export interface InferenceRuntime {
  /** Where the next run will go (it may change: a lost GPU device falls back to WASM). */
  info(): RuntimeInfo;
  /**
   * Runs the model on the feeds and returns its first output. Sessions are cached by the
   * model's sha256; `bytes` are the model file, already checked against that sha256.
   */
  run(model: ModelManifest, bytes: Uint8Array, feeds: Feeds): Promise<RunResult>;
  /** Frees every session. */
  dispose(): Promise<void>;
}

export interface RunResult {
  output: Tensor;
  /** The backend that actually ran it (after any fallback). */
  backend: Backend;
  durationMs: number;
}

/**
 * Model bytes for a node: fetched from the server, checked against their sha256 before every
 * use, cached (a folder for headless agents, Cache Storage in the browser). Bytes that do not
 * match throw ModelIntegrityError (./errors), and are dropped from the cache.
 */
export interface ModelStore {
  get(model: ModelManifest, url: string): Promise<Uint8Array>;
}
