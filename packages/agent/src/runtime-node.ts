// Node only: the InferenceRuntime of headless agents, over onnxruntime-node (CPU). One runtime
// serves every car of a process: sessions are cached by the model's sha256 and shared, and runs
// are bounded so that hundreds of cars do not oversubscribe the cores.
//
// onnxruntime-node runs a session on the calling thread (its `run` is synchronous behind a
// setImmediate), so within one process runs already take turns; the bound keeps their queue,
// and the memory of the batches waiting in it, small. Each run may use `intraOpThreads` cores.
import * as ort from "onnxruntime-node";
import type { ModelManifest } from "@nightshift/models/manifest";
import type { Feeds, InferenceRuntime, RunResult, RuntimeInfo, Tensor } from "./runtime";

export interface NodeRuntimeOptions {
  /** Threads inside one run (onnxruntime's intra-op pool); 1 by default. */
  intraOpThreads?: number;
  /** Runs at once across every car of the process; 1 by default. */
  maxConcurrentRuns?: number;
}

export class NodeRuntime implements InferenceRuntime {
  private readonly threads: number;
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly limit: Semaphore;
  /** Sessions created, for figures and tests (one per model, however many cars). */
  sessionsCreated = 0;

  constructor(options: NodeRuntimeOptions = {}) {
    this.threads = positiveInt("intraOpThreads", options.intraOpThreads ?? 1);
    this.limit = new Semaphore(positiveInt("maxConcurrentRuns", options.maxConcurrentRuns ?? 1));
  }

  info(): RuntimeInfo {
    return {
      backend: "native",
      detail: `onnxruntime-node ${ort.env.versions.common} CPU, ${this.threads} thread${this.threads === 1 ? "" : "s"}`,
      threads: this.threads,
    };
  }

  async run(model: ModelManifest, bytes: Uint8Array, feeds: Feeds): Promise<RunResult> {
    const session = await this.session(model, bytes);
    return this.limit.with(async () => {
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds))
        inputs[name] = new ort.Tensor("float32", t.data, t.dims);
      const started = performance.now();
      const outputs = await session.run(inputs);
      const durationMs = performance.now() - started;
      const first = outputs[session.outputNames[0] as string] as ort.Tensor;
      const output: Tensor = { dims: [...first.dims], data: toFloat32(first.data) };
      for (const t of Object.values(outputs)) t.dispose();
      return { output, backend: "native", durationMs };
    });
  }

  async dispose(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of sessions) await (await s.catch(() => null))?.release();
  }

  private session(model: ModelManifest, bytes: Uint8Array): Promise<ort.InferenceSession> {
    let s = this.sessions.get(model.sha256);
    if (!s) {
      this.sessionsCreated++;
      s = ort.InferenceSession.create(bytes, {
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
      this.sessions.set(model.sha256, s);
      // A model that fails to load is tried again on the next run, not remembered broken.
      s.catch(() => this.sessions.delete(model.sha256));
    }
    return s;
  }
}

function toFloat32(data: ort.Tensor["data"]): Float32Array {
  if (data instanceof Float32Array) return data;
  if (Array.isArray(data)) throw new TypeError("the model's first output is not numeric");
  return Float32Array.from(data as ArrayLike<number | bigint>, Number);
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be an integer ≥ 1, got ${value}`);
  return value;
}

/** At most `n` holders at once; waiters go in arrival order. */
export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(n: number) {
    this.free = n;
  }

  async with<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
