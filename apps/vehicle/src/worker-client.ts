// The page's handle on its worker: calls as promises, plus the info and node views it sends.
import type { RuntimeInfo } from "@nightshift/agent/runtime";
import type {
  BenchResult,
  FromWorker,
  NodeView,
  SelfTestResult,
  StoredCredential,
  ToWorker,
  TwinSettings,
  WireTensor,
} from "./protocol";
import type { PageSettings } from "./settings";

type Request = ToWorker extends infer M
  ? M extends { id: number }
    ? Omit<M, "id">
    : never
  : never;

export class VehicleWorker {
  private readonly worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve(v: unknown): void; reject(e: Error): void }
  >();
  info: RuntimeInfo | null = null;
  node: NodeView | null = null;
  /** Called when the car enrolls: the page keeps the credential for this tab. */
  onCredential: ((credential: StoredCredential) => void) | null = null;
  private readonly listeners = new Set<() => void>();

  constructor() {
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type === "reply") {
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) waiting?.resolve(message.value);
        else waiting?.reject(new Error(message.error));
        return;
      }
      if (message.type === "info") this.info = message.info;
      if (message.type === "node") this.node = message.view;
      if (message.type === "credential") this.onCredential?.(message.credential);
      for (const listener of this.listeners) listener();
    };
    this.worker.onerror = (event) => {
      const error = new Error(`the worker failed: ${event.message}`);
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private call<T>(request: Request, transfer: Transferable[] = []): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  init(settings: PageSettings): Promise<RuntimeInfo> {
    return this.call({
      type: "init",
      serverUrl: settings.serverUrl,
      ortBaseUrl: settings.ortBaseUrl,
      backend: settings.backend,
      threads: settings.threads,
    });
  }

  /** Runs a model once on the given feeds, outside the fleet's work: a check of the engine. */
  selfTest(modelId: string, feeds: Record<string, WireTensor>): Promise<SelfTestResult> {
    return this.call({ type: "self-test", modelId, feeds });
  }

  bench(
    modelId: string,
    feeds: Record<string, WireTensor>,
    runs: { warmupRuns: number; minRuns: number; minDurationMs: number },
  ): Promise<BenchResult> {
    return this.call({ type: "bench", modelId, feeds, ...runs });
  }

  loseGpu(): Promise<void> {
    return this.call({ type: "lose-gpu" });
  }

  /** The tab joins the fleet: it enrolls, or comes back as the car of `credential`. */
  join(
    code: string,
    credential: StoredCredential | null,
    name: string | null,
    twin: TwinSettings,
  ): Promise<void> {
    return this.call({ type: "join", code, credential, twin, ...(name ? { name } : {}) });
  }

  setTwin(twin: TwinSettings): Promise<void> {
    return this.call({ type: "twin", twin });
  }
}
