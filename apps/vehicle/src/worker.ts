// The vehicle's worker: onnxruntime (WebGPU or WASM), the model cache and the work loop run
// here, off the page's thread, so inference never blocks the page and WASM threads may block.
import { createWebModelStore } from "@nightshift/agent/model-store-web";
import type { Feeds, ModelStore } from "@nightshift/agent/runtime";
import { createWebRuntime, type WebRuntime } from "@nightshift/agent/runtime-web";
import { getManifest } from "@nightshift/models/registry";
import type { ModelManifest } from "@nightshift/models/manifest";
import type { BenchResult, FromWorker, SelfTestResult, ToWorker, WireTensor } from "./protocol";
import { startNode, type VehicleNode } from "./node";

const scope = self as unknown as DedicatedWorkerGlobalScope;

let runtime: WebRuntime | undefined;
let store: ModelStore | undefined;
let serverUrl = "";
let node: VehicleNode | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function ready(): { runtime: WebRuntime; store: ModelStore } {
  if (!runtime || !store) throw new Error("the worker is not initialised yet");
  return { runtime, store };
}

function manifest(modelId: string): ModelManifest {
  const m = getManifest(modelId);
  if (!m) throw new Error(`modelId: no model ${JSON.stringify(modelId)}`);
  return m;
}

export function modelUrl(m: ModelManifest): string {
  return `/models/${m.id}/${m.sha256}`;
}

function toFeeds(feeds: Record<string, WireTensor>): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = { dims: [...t.dims], data: t.data };
  return out;
}

async function handle(message: ToWorker): Promise<unknown> {
  switch (message.type) {
    case "init": {
      serverUrl = message.serverUrl;
      runtime = await createWebRuntime({
        ortBaseUrl: message.ortBaseUrl,
        backend: message.backend,
        ...(message.threads ? { threads: message.threads } : {}),
      });
      store = createWebModelStore({ baseUrl: serverUrl });
      post({ type: "info", info: runtime.info() });
      return runtime.info();
    }
    case "self-test": {
      const { runtime, store } = ready();
      const m = manifest(message.modelId);
      const bytes = await store.get(m, modelUrl(m));
      const result = await runtime.run(m, bytes, toFeeds(message.feeds));
      post({ type: "info", info: runtime.info() });
      const value: SelfTestResult = {
        output: { dims: result.output.dims, data: result.output.data },
        backend: result.backend,
        durationMs: result.durationMs,
      };
      return value;
    }
    case "bench": {
      const { runtime, store } = ready();
      const m = manifest(message.modelId);
      const bytes = await store.get(m, modelUrl(m));
      const feeds = toFeeds(message.feeds);
      let backend = runtime.info().backend;
      for (let i = 0; i < message.warmupRuns; i++)
        backend = (await runtime.run(m, bytes, feeds)).backend;
      const started = performance.now();
      let runs = 0;
      while (runs < message.minRuns || performance.now() - started < message.minDurationMs) {
        backend = (await runtime.run(m, bytes, feeds)).backend;
        runs++;
      }
      const value: BenchResult = { runs, elapsedMs: performance.now() - started, backend };
      return value;
    }
    case "lose-gpu": {
      await ready().runtime.loseGpuDevice();
      post({ type: "info", info: ready().runtime.info() });
      return null;
    }
    case "join": {
      const { runtime, store } = ready();
      // Joining twice (the page's effect ran again) keeps the car that joined first.
      if (node) return null;
      node = startNode({
        serverUrl,
        runtime,
        store,
        code: message.code,
        credential: message.credential,
        ...(message.name ? { name: message.name } : {}),
        twin: message.twin,
        onCredential: (credential) => post({ type: "credential", credential }),
        onView: (view) => post({ type: "node", view }),
      });
      return null;
    }
    case "twin": {
      if (!node) throw new Error("twin: the car has not joined yet");
      await node.setTwin(message.twin);
      return null;
    }
  }
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  handle(message).then(
    (value) => post({ type: "reply", id: message.id, ok: true, value }),
    (error: unknown) =>
      post({
        type: "reply",
        id: message.id,
        ok: false,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
  );
};
