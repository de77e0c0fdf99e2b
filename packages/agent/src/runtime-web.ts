// The browser's InferenceRuntime, over onnxruntime-web: WebGPU first, WASM where there is no
// GPU or the GPU goes away. Meant for a Web Worker (ort's own proxy worker cannot run WebGPU),
// and works on a page too. Two builds of onnxruntime-web are loaded by URL, each only when
// needed: the plain WASM build (about twice as fast on the CPU as the WASM provider inside the
// WebGPU builds) for WASM work, the WebGPU build for WebGPU work.
import type * as Ort from "onnxruntime-web";
import type { ModelManifest } from "@nightshift/models/manifest";
import type { Feeds, InferenceRuntime, RunResult, RuntimeInfo, Tensor } from "./runtime";

type OrtModule = typeof Ort;

/** Which backend to use: "auto" tries WebGPU, then WASM; the others force one. */
export type BackendChoice = "auto" | "webgpu" | "wasm";

export interface WebRuntimeOptions {
  /**
   * Absolute URL of a folder serving onnxruntime-web's dist files (`ort.wasm.min.mjs`,
   * `ort.webgpu.min.mjs` and the `ort-wasm-simd-threaded*.mjs/.wasm` they load), ending in "/".
   * WASM threads need the page cross-origin isolated, with COEP on every one of these files.
   */
  ortBaseUrl: string;
  backend?: BackendChoice;
  /** WASM threads; default min(hardwareConcurrency, 4) when cross-origin isolated, else 1. */
  threads?: number;
}

/** The subset of WebGPU this module touches (the agent package compiles without DOM types). */
interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}
interface GpuDeviceLike {
  lost: Promise<{ reason?: string; message?: string }>;
  adapterInfo?: GpuAdapterInfoLike;
  destroy(): void;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}
interface BrowserGlobals {
  navigator?: { gpu?: GpuLike; hardwareConcurrency?: number };
  crossOriginIsolated?: boolean;
}

/** WASM threads beyond 4 gain little for models this size and starve the page. */
const MAX_THREADS = 4;

export function defaultThreads(): number {
  const g = globalThis as BrowserGlobals;
  if (!g.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(g.navigator?.hardwareConcurrency ?? 1, MAX_THREADS));
}

/** "SwiftShader Device (Subzero)", or vendor and architecture when there is no description. */
export function describeAdapter(info: GpuAdapterInfoLike | undefined): string {
  if (!info) return "WebGPU";
  const description = info.description?.trim();
  if (description) return `WebGPU: ${description}`;
  const parts = [info.vendor, info.architecture, info.device].filter((p) => p && p.trim());
  return parts.length > 0 ? `WebGPU: ${parts.join(" ")}` : "WebGPU";
}

export interface WebRuntime extends InferenceRuntime {
  /**
   * Destroys the WebGPU device, as a driver reset or a lost GPU would: the next run falls back
   * to WASM. For tests and the page's "lose GPU" control; a no-op without WebGPU.
   */
  loseGpuDevice(): Promise<void>;
}

interface GpuState {
  ort: OrtModule;
  /** ort creates the device with the first WebGPU session; null until then. */
  device: GpuDeviceLike | null;
  detail: string;
  /** Set when the device is lost or a run failed on it while WASM succeeded. */
  lost: boolean;
}

/**
 * Picks the backend and loads what it needs. With "auto", WebGPU is used when the browser
 * has an adapter and a device can be created; with "webgpu", failing that is an error.
 */
export async function createWebRuntime(options: WebRuntimeOptions): Promise<WebRuntime> {
  const choice = options.backend ?? "auto";
  const threads = options.threads ?? defaultThreads();
  const base = options.ortBaseUrl.endsWith("/") ? options.ortBaseUrl : `${options.ortBaseUrl}/`;

  let wasmOrt: Promise<OrtModule> | undefined;
  const loadWasm = () => {
    wasmOrt ??= (async () => {
      const ort = (await import(/* @vite-ignore */ `${base}ort.wasm.min.mjs`)) as OrtModule;
      ort.env.wasm.wasmPaths = base;
      ort.env.wasm.numThreads = threads;
      ort.env.wasm.proxy = false;
      return ort;
    })();
    return wasmOrt;
  };

  let gpu: GpuState | undefined;
  if (choice !== "wasm") {
    try {
      gpu = await openGpu(base);
    } catch (error) {
      if (choice === "webgpu") throw error;
    }
  }
  if (!gpu) await loadWasm();

  const wasmSessions = new Map<string, Promise<Ort.InferenceSession>>();
  const gpuSessions = new Map<string, Promise<Ort.InferenceSession>>();

  const session = (
    ort: OrtModule,
    cache: Map<string, Promise<Ort.InferenceSession>>,
    provider: "wasm" | "webgpu",
    model: ModelManifest,
    bytes: Uint8Array,
  ) => {
    let created = cache.get(model.sha256);
    if (!created) {
      created = ort.InferenceSession.create(bytes, {
        executionProviders: [provider],
        graphOptimizationLevel: "all",
      });
      // A failed creation is not cached: the next task may try again.
      created.catch(() => cache.delete(model.sha256));
      cache.set(model.sha256, created);
    }
    return created;
  };

  const runOn = async (
    backend: "wasm" | "webgpu",
    model: ModelManifest,
    bytes: Uint8Array,
    feeds: Feeds,
  ): Promise<RunResult> => {
    const ort = backend === "webgpu" ? gpu!.ort : await loadWasm();
    const s = await session(
      ort,
      backend === "webgpu" ? gpuSessions : wasmSessions,
      backend,
      model,
      bytes,
    );
    if (backend === "webgpu") await watchDevice(gpu!);
    const ortFeeds: Record<string, Ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor("float32", t.data, t.dims);
    }
    const started = performance.now();
    const outputs = await s.run(ortFeeds);
    const durationMs = performance.now() - started;
    const first = outputs[s.outputNames[0]!];
    if (!first) throw new Error(`model ${model.id} returned no output`);
    const output: Tensor = {
      dims: [...first.dims],
      // A copy (a memcpy): the tensor is disposed below.
      data: new Float32Array(first.data as Float32Array),
    };
    for (const t of Object.values(outputs)) t.dispose();
    return { output, backend, durationMs };
  };

  const dropGpu = async () => {
    if (!gpu) return;
    gpu.lost = true;
    const sessions = [...gpuSessions.values()];
    gpuSessions.clear();
    await Promise.allSettled(sessions.map(async (s) => (await s).release()));
  };

  // A device lost between runs (a driver reset, a GPU taken away) is known before the next run.
  const watchDevice = async (state: GpuState) => {
    if (state.device) return;
    // The getter gives the device, or a promise of it, depending on when it is read.
    const device = (await Promise.resolve(state.ort.env.webgpu.device)) as unknown as
      GpuDeviceLike | undefined;
    if (!device?.lost || state.device) return;
    state.device = device;
    void device.lost.then(() => dropGpu());
  };

  const usingGpu = () => gpu !== undefined && !gpu.lost;

  return {
    info(): RuntimeInfo {
      if (usingGpu()) return { backend: "webgpu", detail: gpu!.detail, threads: 1 };
      return {
        backend: "wasm",
        detail: `WASM SIMD, ${threads} thread${threads === 1 ? "" : "s"}`,
        threads,
      };
    },

    async run(model, bytes, feeds) {
      if (!usingGpu()) return runOn("wasm", model, bytes, feeds);
      try {
        return await runOn("webgpu", model, bytes, feeds);
      } catch (gpuError) {
        // The same feeds on WASM: if they run there, the GPU is what failed (a lost device, a
        // driver fault), so this node carries on without it and keeps the lease. If they fail
        // there too, the input is at fault and the GPU stays in use.
        const result = await runOn("wasm", model, bytes, feeds);
        await dropGpu();
        console.warn(`WebGPU failed (${String(gpuError)}); running on WASM from now on`);
        return result;
      }
    },

    async loseGpuDevice() {
      if (!gpu || gpu.lost) return;
      if (!gpu.device) {
        // No session has opened the device yet: there is nothing to destroy, only to give up.
        await dropGpu();
        return;
      }
      gpu.device.destroy();
      // What a real loss does: device.lost resolves, and the watcher moves work to WASM.
      await gpu.device.lost;
      await dropGpu();
    },

    async dispose() {
      const all = [...wasmSessions.values(), ...gpuSessions.values()];
      wasmSessions.clear();
      gpuSessions.clear();
      await Promise.allSettled(all.map(async (s) => (await s).release()));
    },
  };
}

/** Loads the WebGPU build and opens its device; throws when there is no usable adapter. */
async function openGpu(base: string): Promise<GpuState> {
  const gpuApi = (globalThis as BrowserGlobals).navigator?.gpu;
  if (!gpuApi)
    throw new Error("WebGPU is not available in this browser (navigator.gpu is missing)");
  const adapter = await gpuApi.requestAdapter();
  if (!adapter) throw new Error("WebGPU has no adapter here");
  const ort = (await import(/* @vite-ignore */ `${base}ort.webgpu.min.mjs`)) as OrtModule;
  ort.env.wasm.wasmPaths = base;
  // Only the few CPU-side operators run in WASM here; one thread spares the pthread pool.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  // ort opens its device on this adapter with the first WebGPU session; a session that cannot
  // be created there sends that run, and the ones after it, to WASM.
  (ort.env.webgpu as { adapter: unknown }).adapter = adapter;
  return { ort, device: null, detail: describeAdapter(adapter.info), lost: false };
}
