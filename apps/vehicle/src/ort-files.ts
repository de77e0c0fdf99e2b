// Which of onnxruntime-web's files the page serves, and from where. Node only (the build and
// the tests read them from the installed package).
import { createRequire } from "node:module";
import { dirname } from "node:path";

/** The URL path the worker loads onnxruntime-web from (its `ortBaseUrl`). */
export const ORT_PREFIX = "/ort/";

/**
 * The plain WASM build and the WebGPU build, each with the Emscripten module it loads: the
 * WASM build uses `ort-wasm-simd-threaded`, the WebGPU build its asyncify variant.
 */
export const ORT_FILES = [
  "ort.wasm.min.mjs",
  "ort-wasm-simd-threaded.mjs",
  "ort-wasm-simd-threaded.wasm",
  "ort.webgpu.min.mjs",
  "ort-wasm-simd-threaded.asyncify.mjs",
  "ort-wasm-simd-threaded.asyncify.wasm",
] as const;

/** The package exports its .wasm files by name; the folder holding one holds them all. */
export const ORT_DIST_DIR = dirname(
  createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"),
);
