// Messages between the vehicle page and its worker. The worker holds everything that computes
// (onnxruntime, the model cache, the work loop); the page only shows and steers it.
import type { BackendChoice } from "@nightshift/agent/runtime-web";
import type { Backend, RuntimeInfo } from "@nightshift/agent/runtime";

export interface StoredCredential {
  carId: string;
  credential: string;
}

export interface WireTensor {
  dims: number[];
  data: Float32Array;
}

/** What the owner sets on the car, and what the page senses (plugged in, battery). */
export interface TwinSettings {
  driving: boolean;
  pluggedIn: boolean;
  chargerKW: number;
  socPct: number;
  reservePct: number;
  /** "HH:MM" today or tomorrow, or null when no departure is planned. */
  departure: string | null;
  allowedHours: { startHour: number; endHour: number };
}

export interface TaskView {
  leaseId: string;
  taskId: string;
  modelId: string;
  startedAt: number;
  finishedAt?: number;
  /** From the lease to the output (fetching, preparing, queueing, running), ms. */
  latencyMs?: number;
  /** This task's share of its engine run, ms. */
  runMs?: number;
  /** Tasks in that run. */
  batch?: number;
  backend?: Backend;
  /** "running", then what the server said or why the car gave up. */
  outcome: "running" | "accepted" | "refused" | "failed" | "handed-back";
  detail?: string;
}

export interface NodeView {
  carId: string | null;
  state: "driving" | "parked" | "charging" | null;
  /** The twin's charge: it follows the charger and the compute draw. */
  socPct: number | null;
  /** Why the car takes no work now (driving, reserve, outside hours, a directive), or null. */
  blocker: string | null;
  lastHeartbeatAt: number | null;
  directives: string[];
  error: string | null;
  /** Newest first. */
  tasks: TaskView[];
  done: number;
  failed: number;
  handedBack: number;
  energyKWh: number;
  earningsUsd: number;
  validated: number;
}

export type ToWorker =
  | {
      type: "init";
      id: number;
      serverUrl: string;
      ortBaseUrl: string;
      backend: BackendChoice;
      threads: number | null;
    }
  | { type: "self-test"; id: number; modelId: string; feeds: Record<string, WireTensor> }
  | {
      type: "bench";
      id: number;
      modelId: string;
      feeds: Record<string, WireTensor>;
      warmupRuns: number;
      minRuns: number;
      minDurationMs: number;
    }
  | { type: "lose-gpu"; id: number }
  | {
      type: "join";
      id: number;
      code: string;
      credential: StoredCredential | null;
      name?: string;
      twin: TwinSettings;
    }
  | { type: "twin"; id: number; twin: TwinSettings };

export interface SelfTestResult {
  output: WireTensor;
  backend: Backend;
  durationMs: number;
}

export interface BenchResult {
  runs: number;
  elapsedMs: number;
  backend: Backend;
}

export type FromWorker =
  | { type: "reply"; id: number; ok: true; value: unknown }
  | { type: "reply"; id: number; ok: false; error: string }
  | { type: "info"; info: RuntimeInfo }
  | { type: "node"; view: NodeView }
  | { type: "credential"; credential: StoredCredential };
