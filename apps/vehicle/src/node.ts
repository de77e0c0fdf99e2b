// The car this tab stands for: the agent's work loop (enroll or resume, heartbeat, lease, run,
// submit, hand leases back when driving) over this worker's runtime and model cache, with the
// owner's settings from the page applied to its twin.
import { createNightshiftClient } from "@nightshift/client/client";
import { type LoopEvent, WorkLoop } from "@nightshift/agent/loop";
import type { InferenceRuntime, ModelStore } from "@nightshift/agent/runtime";
import { createTwin, park, startDriving, type Twin } from "@nightshift/agent/twin";
import type { NodeView, TaskView, TwinSettings } from "./protocol";

export interface VehicleNodeOptions {
  serverUrl: string;
  runtime: InferenceRuntime;
  store: ModelStore;
  code: string;
  /** The credential this tab already has (sessionStorage), as `carId credential`. */
  credential: { carId: string; credential: string } | null;
  name?: string;
  twin: TwinSettings;
  onCredential(credential: { carId: string; credential: string }): void;
  onView(view: NodeView): void;
}

export interface VehicleNode {
  setTwin(twin: TwinSettings): Promise<void>;
  stop(): Promise<void>;
}

/** Tasks listed on the page; older ones drop off (the totals keep counting). */
const MAX_TASKS_SHOWN = 50;

/** The next time "HH:MM" (the browser's local time) comes round, epoch ms. */
export function nextDepartureMs(departure: string | null, nowMs: number): number | null {
  if (!departure) return null;
  const match = /^(\d{1,2}):(\d{2})$/.exec(departure);
  if (!match) return null;
  const at = new Date(nowMs);
  at.setHours(Number(match[1]), Number(match[2]), 0, 0);
  if (at.getTime() <= nowMs) at.setDate(at.getDate() + 1);
  return at.getTime();
}

/** The owner's settings on the twin: driving or parked (plugged in or not), charge, limits. */
export function applySettings(t: Twin, s: TwinSettings, nowMs: number): Twin {
  const limits = { ...t.limits, reservePct: s.reservePct, allowedHours: s.allowedHours };
  const withOwner: Twin = { ...t, socPct: s.socPct, limits };
  if (s.driving) return withOwner.state === "driving" ? withOwner : startDriving(withOwner);
  return park(withOwner, s.pluggedIn ? s.chargerKW : 0, nextDepartureMs(s.departure, nowMs));
}

export function startNode(options: VehicleNodeOptions): VehicleNode {
  const createClient = (credential: string | undefined) =>
    createNightshiftClient({ url: options.serverUrl, ...(credential ? { credential } : {}) });
  let settings = options.twin;
  let credential = options.credential?.credential;
  const loop = new WorkLoop({
    server: options.serverUrl,
    createClient,
    runtime: options.runtime,
    store: options.store,
    twin: applySettings(createTwin({ nowMs: Date.now() }), settings, Date.now()),
    ...(options.credential ? { credential: options.credential } : {}),
    enrollment: { code: options.code, ...(options.name ? { name: options.name } : {}) },
    onCredential: (c) => {
      credential = c.credential;
      options.onCredential(c);
    },
    earningsEveryMs: 5_000,
  });

  const view: NodeView = {
    carId: null,
    state: null,
    socPct: null,
    blocker: null,
    lastHeartbeatAt: null,
    directives: [],
    error: null,
    tasks: [],
    done: 0,
    failed: 0,
    handedBack: 0,
    energyKWh: 0,
    earningsUsd: 0,
    validated: 0,
  };
  const byLease = new Map<string, TaskView>();
  const track = (task: TaskView) => {
    byLease.set(task.leaseId, task);
    view.tasks.unshift(task);
    if (view.tasks.length > MAX_TASKS_SHOWN) {
      for (const old of view.tasks.splice(MAX_TASKS_SHOWN)) byLease.delete(old.leaseId);
    }
  };
  const publish = () => options.onView({ ...view, tasks: view.tasks.map((t) => ({ ...t })) });

  const onEvent = (e: LoopEvent) => {
    switch (e.type) {
      case "enrolled":
        view.carId = e.carId;
        break;
      case "state":
        view.state = e.state;
        view.socPct = e.socPct;
        view.blocker = e.blocker;
        view.lastHeartbeatAt = Date.now();
        break;
      case "task-started":
        track({
          leaseId: e.leaseId,
          taskId: e.taskId,
          modelId: e.modelId,
          startedAt: Date.now(),
          outcome: "running",
        });
        break;
      case "task-done": {
        const task = byLease.get(e.leaseId);
        if (task)
          Object.assign(task, {
            latencyMs: e.latencyMs,
            runMs: e.runMs,
            backend: e.backend,
            batch: e.batch,
          });
        break;
      }
      case "submitted": {
        const task = byLease.get(e.leaseId);
        // A failure the server acknowledged stays a failure.
        if (task?.outcome === "failed") break;
        if (e.accepted) view.done++;
        if (task) {
          task.finishedAt = Date.now();
          task.outcome = e.accepted ? "accepted" : "refused";
          task.detail = e.verdict ?? e.reason ?? undefined;
        }
        break;
      }
      case "task-failed": {
        view.failed++;
        const detail = `${e.reason}: ${e.message}`;
        const task = byLease.get(e.leaseId);
        if (task) Object.assign(task, { outcome: "failed", detail, finishedAt: Date.now() });
        // A lease refused before its task started (its model failed its check) gets a row too.
        else
          track({
            leaseId: e.leaseId,
            taskId: "",
            modelId: "",
            startedAt: Date.now(),
            finishedAt: Date.now(),
            outcome: "failed",
            detail,
          });
        break;
      }
      case "released":
        for (const task of view.tasks) {
          if (task.outcome !== "running") continue;
          task.outcome = "handed-back";
          task.detail = e.why;
          task.finishedAt = Date.now();
          view.handedBack++;
        }
        break;
      case "lost":
        for (const id of e.leaseIds) {
          const task = byLease.get(id);
          if (task?.outcome === "running")
            Object.assign(task, { outcome: "handed-back", detail: "lease lost" });
        }
        break;
      case "directive":
        view.directives = e.directives;
        break;
      case "earnings":
        view.energyKWh = e.energyKWh;
        view.earningsUsd = e.payoutOwedUsd + e.payoutUsd;
        view.validated = e.validated;
        break;
      case "error":
        view.error = `${e.where}: ${e.message}`;
        break;
    }
    if (e.type !== "error" && e.type !== "state") view.error = null;
    publish();
  };
  loop.on(onEvent);
  void loop.start().catch((error: unknown) => {
    view.error = error instanceof Error ? error.message : String(error);
    publish();
  });

  return {
    async setTwin(next) {
      const limitsChanged =
        next.reservePct !== settings.reservePct ||
        next.allowedHours.startHour !== settings.allowedHours.startHour ||
        next.allowedHours.endHour !== settings.allowedHours.endHour;
      settings = next;
      loop.updateTwin((t) => applySettings(t, next, Date.now()));
      // The server checks the owner's limits too: it must hear of them.
      if (limitsChanged && credential) {
        await createClient(credential).node.setPolicy.mutate(loop.twin().limits);
      }
    },
    stop: () => loop.stop(),
  };
}
