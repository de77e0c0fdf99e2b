// Messages between the vehicle page and its worker. The worker holds everything that computes
// (onnxruntime, the model cache, the work loop); the page only shows and steers it.
import type { BackendChoice } from "@nightshift/agent/runtime-web";
import type { Backend, RuntimeInfo } from "@nightshift/agent/runtime";

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
  durationMs?: number;
  backend?: Backend;
  /** "running", then what the server said or why the car gave up. */
  outcome: "running" | "accepted" | "rejected" | "failed" | "handed-back";
  detail?: string;
}

export interface NodeView {
  carId: string | null;
  joined: boolean;
  working: boolean;
  lastHeartbeatAt: number | null;
  directives: string[];
  error: string | null;
  tasks: TaskView[];
  done: number;
  failed: number;
  energyKWh: number;
  earningsUsd: number;
  validated: number;
}

export type ToWorker =
  | { type: "init"; id: number; serverUrl: string; ortBaseUrl: string; backend: BackendChoice }
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
  | { type: "join"; id: number; code: string; credential: string | null; name?: string }
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
  | { type: "node"; view: NodeView };
