// The work loop of one car: enroll (or resume with a stored credential), heartbeat with the
// twin's state, lease work while the twin allows it, fetch and check the model and the input,
// prepare it, run it (a batch of one model's tasks in one run), and submit the outputs.
//
// Nothing computed is lost: every result (and every lease the car cannot run) goes into an
// outbox first, and leaves it only when the server has acknowledged it. Through an outage the
// loop backs off with jitter and sends the outbox again; a retried submit is recognised by its
// lease id, so nothing is counted twice. A car that starts driving hands its leases back at once.
//
// Browser-safe: it runs in a Web Worker too. Every dependency (client, runtime, model store,
// clock, randomness) comes in as an argument.
import type { NightshiftClient } from "@nightshift/client/client";
import { decodeImage } from "@nightshift/models/image";
import type { ModelManifest } from "@nightshift/models/manifest";
import {
  batch,
  imageToTensor,
  maxBatchFor,
  type TensorFeeds,
  tensorInput,
} from "@nightshift/models/preprocess";
import { getManifest } from "@nightshift/models/registry";
import { z } from "zod";
import { BadInputError, classifyError, errorMessage } from "./errors";
import { type FetchFn, fetchVerified, serverUrl } from "./fetch-bytes";
import type { Backend, Feeds, InferenceRuntime, ModelStore, Tensor } from "./runtime";
import { advance, heartbeatOf, type Twin, type TwinReason, workBlocker } from "./twin";

// ---- dependencies ----

export interface Clock {
  /** Wall time, epoch ms. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** Makes the API client for a credential (none: to enroll). */
export type ClientFactory = (credential: string | undefined) => NightshiftClient;

export interface Credential {
  carId: string;
  credential: string;
}

export interface Enrollment {
  /** An enrollment code from an operator, or the demo code. */
  code: string;
  name?: string;
  regionId?: string;
  ownerName?: string;
}

export interface WorkLoopOptions {
  /** The server's base URL: model files and inputs are fetched from under it. */
  server: string;
  createClient: ClientFactory;
  runtime: InferenceRuntime;
  store: ModelStore;
  /** The car as it is now; the loop advances it with the clock. */
  twin: Twin;
  /** A credential from an earlier enrollment; without one (or when it is refused) the loop enrolls. */
  credential?: Credential;
  enrollment?: Enrollment;
  /** Called with a new credential, to keep it for the next start. */
  onCredential?: (credential: Credential) => void;
  clock?: Clock;
  /** For input images. */
  fetch?: FetchFn;
  /** Uniform in [0, 1): jitter. */
  random?: () => number;
  /** A new lease call's requestId (a uuid); random (crypto.getRandomValues) by default. */
  requestId?: () => string;
  /** The manifest of a model id; the registry's by default. */
  manifest?: (modelId: string) => ModelManifest | undefined;
  /** Most tasks one lease call asks for. */
  maxLease?: number;
  heartbeatMs?: number;
  /** How often the twin is advanced (and a departure noticed). */
  tickMs?: number;
  /**
   * Twin seconds per wall second (60: an hour of the car's day a minute). The car reports its
   * departure and its uncertainty on the wall clock (an hour away at 60×: a minute), which is
   * when it really leaves; a server on the same compressed clock (NIGHTSHIFT_SPEEDUP) maps them
   * back onto its world, so both see the same day. Its compute draws energy on the twin's
   * clock, as the server's ledger counts it on the world's.
   */
  speedup?: number;
  /** Waits after a lease call that found nothing: from min, doubling up to max, with jitter. */
  idleMs?: { min: number; max: number };
  /** Waits after a failed call: from min, doubling up to max, with full jitter. */
  backoffMs?: { min: number; max: number };
  /** How often to read the car's earnings (node.me); 0: never. */
  earningsEveryMs?: number;
}

// ---- events ----

export type LoopEvent =
  | { type: "enrolled"; carId: string; resumed: boolean }
  | { type: "state"; state: Twin["state"]; socPct: number; blocker: TwinReason | Directive | null }
  | { type: "task-started"; leaseId: string; taskId: string; modelId: string }
  | {
      type: "task-done";
      leaseId: string;
      taskId: string;
      modelId: string;
      /** From the lease to the output, ms (fetching, preparing, waiting for the engine, running). */
      latencyMs: number;
      /** This task's share of its run, ms. */
      runMs: number;
      /** Tasks in the run. */
      batch: number;
      backend: Backend;
      /** The computer's power × this task's share of the run. */
      energyWh: number;
    }
  | {
      type: "submitted";
      leaseId: string;
      accepted: boolean;
      duplicate: boolean;
      verdict: string | null;
      reason: string | null;
    }
  | { type: "task-failed"; leaseId: string; reason: FailReason; message: string }
  /** The server took note of a task-failed lease (node.fail acknowledged). */
  | {
      type: "fail-reported";
      leaseId: string;
      reason: FailReason;
      accepted: boolean;
      duplicate: boolean;
    }
  | { type: "released"; leases: number; why: "driving" | "stop" | "shutdown" }
  | { type: "lost"; leaseIds: string[] }
  | { type: "directive"; directives: Directive[] }
  /** An operator revoked the car's credential: the loop has stopped. */
  | { type: "revoked"; carId: string }
  | {
      type: "earnings";
      results: number;
      validated: number;
      energyKWh: number;
      payoutOwedUsd: number;
      payoutUsd: number;
    }
  | { type: "error"; where: string; message: string; action: string };

export type Directive = "stop" | "drain";
export type FailReason = "bad-input" | "model-integrity" | "runtime";

export interface LoopStats {
  leased: number;
  /** Outputs computed (each goes to the outbox). */
  computed: number;
  /** Results the server acknowledged (first time or on a retry). */
  acknowledged: number;
  /** Results the server refused (the lease had ended: expired, released). */
  refused: number;
  /** Leases reported as not runnable (node.fail). */
  failed: number;
  /** Leases handed back unrun: the car started driving, was told to stop, or shut down. */
  dropped: number;
  errors: number;
  retries: number;
  energyWh: number;
  /** Lease calls that brought nothing, by the server's reason ("no-work", "departs-too-soon", …). */
  idle: Record<string, number>;
}

// ---- what the server hands out ----

const ZTensorFeeds = z.record(
  z.string(),
  z.object({ dims: z.array(z.number()), data: z.array(z.number()) }),
);
const ZImageInput = z.object({
  image: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), url: z.string().min(1) }).loose(),
});

interface LeasedTask {
  leaseId: string;
  taskId: string;
  jobId: string;
  modelId: string;
  modelSha256: string;
  modelUrl?: string;
  input?: unknown;
  expiresAt: string;
}

/** What the server must learn: an output, or that a lease cannot be run here. */
type OutboxEntry =
  | {
      kind: "result";
      leaseId: string;
      output: number[];
      durationMs: number;
      backend: Backend;
    }
  | { kind: "fail"; leaseId: string; reason: FailReason; message: string };

interface Held {
  task: LeasedTask;
  leasedAtMs: number;
  expiresAtMs: number;
}

/** Most results in one submitMany call (the server's limit). */
const SUBMIT_CHUNK = 128;

/**
 * Most output values in one submitMany call, unless one result alone has more. At about 20
 * bytes of JSON a value this keeps a call near 10 MB, under the server's 24 MiB body limit:
 * the detector's map follows its image and reaches 960 × 960 = 921,600 values.
 */
const SUBMIT_VALUES = 512 * 1024;

export class WorkLoop {
  private readonly o: Required<
    Omit<WorkLoopOptions, "credential" | "enrollment" | "onCredential" | "twin">
  > &
    Pick<WorkLoopOptions, "enrollment" | "onCredential">;
  private twinNow: Twin;
  private lastTickMs: number;
  /** Wall ms this car's runs took since the last tick (its compute draw). */
  private busyMs = 0;
  private credential: Credential | undefined;
  private client: NightshiftClient | undefined;
  private readonly listeners = new Set<(e: LoopEvent) => void>();

  /** Leases being worked on (not yet in the outbox). */
  private readonly held = new Map<string, Held>();
  /** Acknowledgements the server owes: leaves only when acknowledged (or refused for good). */
  private readonly outbox = new Map<string, OutboxEntry>();
  /** Bumped when work in hand must be dropped (driving, a stop directive): its results are not kept. */
  private generation = 0;
  /**
   * The lease call not yet answered, sent again with the same requestId until an answer comes:
   * if the lost answer's call went through, the retry gets those leases back instead of leaving
   * them held by nobody until they run out. A new generation starts a new call (what the old
   * one leased was handed back with the work in hand).
   */
  private leaseRequest: { id: string; generation: number } | undefined;
  private directives: Directive[] = [];
  private lastBlocker: string | null | undefined = undefined;
  private heartbeatOk = false;
  private lastHeartbeatMs = -Infinity;
  private lastEarningsMs = -Infinity;
  private consecutiveFailures = 0;
  /** Set once the server accepted this credential: a later refusal means it was revoked. */
  private credentialWorked = false;
  private departing = false;
  private flushing: Promise<boolean> | undefined;
  private heartbeating: Promise<void> | undefined;
  private enrolling: Promise<void> | undefined;

  private stopping = false;
  private readonly stopSignal = new AbortController();
  /** Aborted to wake the work loop early (parked again, stopping). */
  private wake = new AbortController();
  private running: Promise<void> | undefined;

  /**
   * Times the car has decided about work since it started: lease calls answered (with work or
   * without), and rounds in which it could not ask (driving, outside its owner's hours, short of
   * charge). Once every car of a fleet has decided once, the server's view of the fleet is whole.
   */
  decisions = 0;
  readonly stats: LoopStats = {
    leased: 0,
    computed: 0,
    acknowledged: 0,
    refused: 0,
    failed: 0,
    dropped: 0,
    errors: 0,
    retries: 0,
    energyWh: 0,
    idle: {},
  };

  constructor(options: WorkLoopOptions) {
    this.o = {
      server: options.server,
      createClient: options.createClient,
      runtime: options.runtime,
      store: options.store,
      clock: options.clock ?? systemClock,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      random: options.random ?? Math.random,
      requestId: options.requestId ?? randomUuid,
      manifest: options.manifest ?? getManifest,
      maxLease: options.maxLease ?? 8,
      heartbeatMs: options.heartbeatMs ?? 5000,
      tickMs: options.tickMs ?? 1000,
      speedup: options.speedup ?? 1,
      idleMs: options.idleMs ?? { min: 250, max: 5000 },
      backoffMs: options.backoffMs ?? { min: 250, max: 10_000 },
      earningsEveryMs: options.earningsEveryMs ?? 0,
      enrollment: options.enrollment,
      onCredential: options.onCredential,
    };
    if (!options.credential && !options.enrollment)
      throw new Error("credential or enrollment: the loop needs one to join the fleet");
    if (!(this.o.speedup > 0)) throw new RangeError(`speedup must be > 0, got ${this.o.speedup}`);
    if (!Number.isInteger(this.o.maxLease) || this.o.maxLease < 1)
      throw new RangeError(`maxLease must be an integer ≥ 1, got ${this.o.maxLease}`);
    this.credential = options.credential;
    this.twinNow = options.twin;
    this.lastTickMs = this.o.clock.now();
  }

  // ---- the outside ----

  on(listener: (e: LoopEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The twin as of now. */
  twin(): Twin {
    this.tick();
    return this.twinNow;
  }

  /** Changes the car (its owner drives off, parks, plugs in): takes effect at once. */
  updateTwin(change: (twin: Twin) => Twin): Twin {
    this.tick();
    this.setTwin(change(this.twinNow));
    return this.twinNow;
  }

  get carId(): string | undefined {
    return this.credential?.carId;
  }

  /** Results computed and not yet acknowledged, and leases being worked on. */
  pending(): { outbox: number; held: number } {
    return { outbox: this.outbox.size, held: this.held.size };
  }

  /** Runs until stop(); resolves once stopped. */
  start(): Promise<void> {
    this.running ??= this.main();
    return this.running;
  }

  /**
   * Stops: the run in progress finishes, its results and the outbox are sent (for up to
   * `flushTimeoutMs`), and the leases not done are handed back.
   */
  async stop(flushTimeoutMs = 10_000): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.stopSignal.abort();
      this.wake.abort();
    }
    await this.running?.catch(() => undefined);
    if (!this.client) return;
    const until = this.o.clock.now() + flushTimeoutMs;
    while (this.outbox.size > 0 && this.o.clock.now() < until) {
      if (!(await this.flush()))
        await this.o.clock.sleep(Math.min(500, Math.max(0, until - this.o.clock.now())));
    }
    await this.releaseAll("shutdown");
  }

  // ---- the loops ----

  private async main(): Promise<void> {
    try {
      await this.join();
    } catch {
      // Reported already (a refused code): this car cannot join, and stops.
      return;
    }
    if (this.stopping || !this.client) return;
    const ticker = this.tickLoop();
    try {
      await this.workLoop();
    } finally {
      this.wake.abort();
      await ticker;
    }
  }

  /** Enroll, or resume with the stored credential; retries until it works or the loop stops. */
  private async join(): Promise<void> {
    if (this.credential) {
      this.client = this.o.createClient(this.credential.credential);
      this.emit({ type: "enrolled", carId: this.credential.carId, resumed: true });
      return;
    }
    await this.enroll();
  }

  private async enroll(): Promise<void> {
    const enrollment = this.o.enrollment;
    if (!enrollment) throw new Error("the credential was refused and there is no enrollment code");
    const anonymous = this.o.createClient(undefined);
    const t = this.twinNow;
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        const out = await anonymous.node.enroll.mutate({
          code: enrollment.code,
          ...(enrollment.name ? { name: enrollment.name } : {}),
          ...(enrollment.regionId ? { regionId: enrollment.regionId } : {}),
          ...(enrollment.ownerName ? { ownerName: enrollment.ownerName } : {}),
          hardwareId: t.hardwareId,
          batteryKWh: t.batteryKWh,
          socPct: t.socPct,
          chargeEfficiency: t.chargeEfficiency,
          policy: t.limits,
        });
        this.credential = { carId: out.carId, credential: out.credential };
        this.client = this.o.createClient(out.credential);
        this.credentialWorked = true;
        this.adoptTimeZone(out.timeZone);
        this.o.onCredential?.(this.credential);
        this.emit({ type: "enrolled", carId: out.carId, resumed: false });
        return;
      } catch (error) {
        const action = classifyError(error);
        this.reportError("enroll", error, action.kind);
        if (action.kind === "fatal" || action.kind === "reenroll") throw error;
        await this.backoff(attempt);
      }
    }
  }

  /** Advances the twin, heartbeats when due, renews leases close to running out. */
  private async tickLoop(): Promise<void> {
    while (!this.stopping) {
      this.tick();
      if (this.o.clock.now() - this.lastHeartbeatMs >= this.o.heartbeatMs) await this.heartbeat();
      await this.renewExpiring();
      this.maybeEarnings();
      await this.o.clock.sleep(this.o.tickMs, this.stopSignal.signal);
    }
  }

  private async workLoop(): Promise<void> {
    let idle = 0;
    let failures = 0;
    while (!this.stopping) {
      this.tick();
      if (this.outbox.size > 0 && !(await this.flush())) {
        await this.backoff(failures++);
        continue;
      }
      if (!this.heartbeatOk) await this.heartbeat();
      const blocker = this.blocker();
      if (blocker !== null && this.heartbeatOk) this.decisions++;
      if (blocker !== null || !this.heartbeatOk) {
        await this.sleepWake(this.heartbeatOk ? this.o.tickMs : this.backoffDelay(failures++));
        continue;
      }
      let tasks: LeasedTask[];
      const generation = this.generation;
      if (this.leaseRequest?.generation !== generation)
        this.leaseRequest = { id: this.o.requestId(), generation };
      try {
        const out = await this.api().node.lease.mutate({
          max: this.o.maxLease,
          requestId: this.leaseRequest.id,
        });
        this.leaseRequest = undefined;
        tasks = out.tasks;
        failures = 0;
        this.decisions++;
        if (tasks.length === 0) {
          const reason = out.reason ?? "no-work";
          this.stats.idle[reason] = (this.stats.idle[reason] ?? 0) + 1;
        }
      } catch (error) {
        await this.onCallError("lease", error);
        await this.backoff(failures++);
        continue;
      }
      if (tasks.length === 0) {
        await this.sleepWake(
          this.jitter(Math.min(this.o.idleMs.max, this.o.idleMs.min * 2 ** idle++)),
        );
        continue;
      }
      idle = 0;
      this.stats.leased += tasks.length;
      if (generation !== this.generation || this.twinNow.state === "driving") {
        // The car drove off while the lease call was out: these go back too.
        this.stats.dropped += tasks.length;
        await this.releaseAll("driving");
        continue;
      }
      await this.work(tasks);
    }
  }

  // ---- work ----

  private async work(tasks: LeasedTask[]): Promise<void> {
    const generation = this.generation;
    const now = this.o.clock.now();
    for (const task of tasks) {
      this.held.set(task.leaseId, {
        task,
        leasedAtMs: now,
        expiresAtMs: Date.parse(task.expiresAt) || now + 60_000,
      });
    }
    const byModel = new Map<string, LeasedTask[]>();
    for (const task of tasks) {
      const list = byModel.get(task.modelSha256) ?? [];
      list.push(task);
      byModel.set(task.modelSha256, list);
    }
    for (const group of byModel.values()) {
      if (generation !== this.generation) return;
      await this.workOnModel(group, generation);
    }
  }

  private async workOnModel(group: LeasedTask[], generation: number): Promise<void> {
    const first = group[0] as LeasedTask;
    const known = this.o.manifest(first.modelId);
    if (!known || known.sha256 !== first.modelSha256) {
      const message = known
        ? `this agent knows ${first.modelId} as sha256 ${known.sha256}, the server runs ${first.modelSha256}`
        : `this agent does not know model ${first.modelId}`;
      for (const t of group) this.failLease(t.leaseId, "runtime", message);
      return;
    }
    const manifest = known;
    const modelUrl = serverUrl(
      this.o.server,
      first.modelUrl ?? `/models/${manifest.id}/${manifest.sha256}`,
    );
    let bytes: Uint8Array;
    try {
      bytes = await this.withRetries("model", () => this.o.store.get(manifest, modelUrl));
    } catch (error) {
      const action = classifyError(error);
      const reason = action.kind === "fail-lease" ? action.reason : "runtime";
      for (const t of group) this.failLease(t.leaseId, reason, errorMessage(error));
      return;
    }

    // Each task's input as the model's feeds; a broken one is reported and skipped.
    const ready: { task: LeasedTask; feeds: Feeds; rows: number }[] = [];
    for (const task of group) {
      if (generation !== this.generation) return;
      // A lease lost meanwhile (renew said so: run out, or preempted for another tenant) is
      // another car's work now: not started.
      if (!this.held.has(task.leaseId)) continue;
      this.emit({
        type: "task-started",
        leaseId: task.leaseId,
        taskId: task.taskId,
        modelId: task.modelId,
      });
      try {
        const feeds = await this.withRetries("input", () => this.prepare(manifest, task.input));
        ready.push({ task, feeds, rows: rowsOf(feeds) });
      } catch (error) {
        const action = classifyError(error);
        const reason = action.kind === "fail-lease" ? action.reason : "runtime";
        this.failLease(task.leaseId, reason, errorMessage(error));
      }
    }

    for (const batch of batches(manifest, ready)) {
      if (generation !== this.generation || this.stopping) {
        // Stopping: what is not run is handed back by stop(); driving: already handed back.
        return;
      }
      // Leases lost while earlier runs went on are not run (a part of a batch stacks as well).
      const chunk = batch.filter((c) => this.held.has(c.task.leaseId));
      if (chunk.length === 0) continue;
      let feeds: Feeds;
      try {
        feeds =
          chunk.length === 1
            ? (chunk[0] as (typeof ready)[number]).feeds
            : stack(chunk.map((c) => c.feeds));
      } catch (error) {
        for (const c of chunk) this.failLease(c.task.leaseId, "bad-input", errorMessage(error));
        continue;
      }
      let result;
      try {
        result = await this.o.runtime.run(manifest, bytes, feeds);
      } catch (error) {
        for (const c of chunk) this.failLease(c.task.leaseId, "runtime", errorMessage(error));
        continue;
      }
      this.busyMs += result.durationMs;
      if (generation !== this.generation) return;
      let outputs: Tensor[];
      try {
        outputs = splitRows(
          result.output,
          chunk.map((c) => c.rows),
        );
      } catch (error) {
        for (const c of chunk) this.failLease(c.task.leaseId, "runtime", errorMessage(error));
        continue;
      }
      const doneMs = this.o.clock.now();
      const runMsEach = result.durationMs / chunk.length;
      const energyWh = (this.twinNow.computeW * runMsEach) / 3_600_000;
      chunk.forEach((c, i) => {
        const held = this.held.get(c.task.leaseId);
        // A lease lost meanwhile (renew said so) has gone to another car: its output is not sent.
        if (!held) return;
        this.held.delete(c.task.leaseId);
        this.outbox.set(c.task.leaseId, {
          kind: "result",
          leaseId: c.task.leaseId,
          output: Array.from((outputs[i] as Tensor).data),
          durationMs: Math.max(0, Math.round(runMsEach)),
          backend: result.backend,
        });
        this.stats.computed++;
        this.stats.energyWh += energyWh;
        this.emit({
          type: "task-done",
          leaseId: c.task.leaseId,
          taskId: c.task.taskId,
          modelId: c.task.modelId,
          latencyMs: doneMs - held.leasedAtMs,
          runMs: runMsEach,
          batch: chunk.length,
          backend: result.backend,
          energyWh,
        });
      });
    }
  }

  /** A task's input as the model's feeds: tensors checked against the model, or an image fetched, checked, decoded and resized. */
  private async prepare(manifest: ModelManifest, input: unknown): Promise<Feeds> {
    const image = ZImageInput.safeParse(input);
    if (image.success) {
      if (manifest.preprocess.kind !== "image")
        throw new BadInputError(`model ${manifest.id} takes tensors, the task has an image`);
      const url = serverUrl(this.o.server, image.data.image.url);
      const bytes = await fetchVerified(this.o.fetch, url, image.data.image.sha256, "input");
      const tensor = imageToTensor(manifest, decodeImage(bytes));
      const name = (manifest.inputs[0] as { name: string }).name;
      return { [name]: { dims: tensor.dims, data: tensor.data } };
    }
    const feeds = ZTensorFeeds.safeParse(input);
    if (!feeds.success) throw new BadInputError("input: neither tensor feeds nor an image");
    try {
      return tensorInput(manifest, feeds.data as TensorFeeds);
    } catch (error) {
      throw new BadInputError((error as Error).message);
    }
  }

  private failLease(leaseId: string, reason: FailReason, message: string): void {
    if (!this.held.delete(leaseId)) return;
    const text = message.trim().slice(0, 500) || reason;
    this.outbox.set(leaseId, { kind: "fail", leaseId, reason, message: text });
    this.stats.failed++;
    this.emit({ type: "task-failed", leaseId, reason, message: text });
  }

  // ---- the outbox ----

  /** Sends the outbox once; false when the server could not be reached (try again later). */
  private flush(): Promise<boolean> {
    // One flush at a time: the work loop, a departure and stop() may all want one.
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(): Promise<boolean> {
    const results = [...this.outbox.values()].filter((e) => e.kind === "result");
    for (let i = 0; i < results.length;) {
      const chunk = [results[i++]!];
      let values = chunk[0]!.output.length;
      while (
        i < results.length &&
        chunk.length < SUBMIT_CHUNK &&
        values + results[i]!.output.length <= SUBMIT_VALUES
      ) {
        values += results[i]!.output.length;
        chunk.push(results[i++]!);
      }
      if (!(await this.submitChunk(chunk))) return false;
    }
    for (const entry of [...this.outbox.values()]) {
      if (entry.kind !== "fail") continue;
      try {
        const out = await this.api().node.fail.mutate({
          leaseId: entry.leaseId,
          reason: entry.reason,
          message: entry.message,
        });
        this.outbox.delete(entry.leaseId);
        this.emit({
          type: "fail-reported",
          leaseId: entry.leaseId,
          reason: entry.reason,
          accepted: out.accepted,
          duplicate: out.duplicate,
        });
      } catch (error) {
        if (await this.onCallError("fail", error)) return false;
        // Refused for good (the lease is not this car's any more): nothing to retry.
        this.outbox.delete(entry.leaseId);
      }
    }
    return true;
  }

  private async submitChunk(chunk: Extract<OutboxEntry, { kind: "result" }>[]): Promise<boolean> {
    try {
      const out = await this.api().node.submitMany.mutate({
        results: chunk.map(({ leaseId, output, durationMs, backend }) => ({
          leaseId,
          output,
          durationMs,
          backend,
        })),
      });
      for (const r of out.results) this.acknowledge(r);
      return true;
    } catch (error) {
      if (await this.onCallError("submit", error)) return false;
      // One result the server refuses (BAD_REQUEST, NOT_FOUND) refuses its whole call: send
      // them one by one, and drop only those refused.
      if (chunk.length === 1) {
        const [entry] = chunk as [Extract<OutboxEntry, { kind: "result" }>];
        this.outbox.delete(entry.leaseId);
        this.stats.refused++;
        this.emit({
          type: "submitted",
          leaseId: entry.leaseId,
          accepted: false,
          duplicate: false,
          verdict: null,
          reason: errorMessage(error),
        });
        return true;
      }
      for (const entry of chunk) if (!(await this.submitChunk([entry]))) return false;
      return true;
    }
  }

  private acknowledge(r: {
    leaseId: string;
    accepted: boolean;
    duplicate: boolean;
    verdict: string | null;
    reason: string | null;
  }): void {
    if (!this.outbox.delete(r.leaseId)) return;
    if (r.accepted) this.stats.acknowledged++;
    else this.stats.refused++;
    this.emit({ type: "submitted", ...r });
  }

  // ---- heartbeats, leases, departures ----

  private heartbeat(): Promise<void> {
    this.heartbeating ??= this.heartbeatOnce().finally(() => (this.heartbeating = undefined));
    return this.heartbeating;
  }

  private async heartbeatOnce(): Promise<void> {
    // While a departure is being told, its own heartbeat goes last (after the outbox is sent).
    if (!this.client || this.departing) return;
    this.lastHeartbeatMs = this.o.clock.now();
    const t = this.twinNow;
    try {
      const out = await this.api().node.heartbeat.mutate({
        ...heartbeatOf(t, this.o.clock.now(), this.o.speedup),
        // The leases in hand and the results not yet acknowledged: both stay this car's.
        ...(t.state === "driving" ? {} : { leaseIds: this.leaseIdsInHand().slice(0, 128) }),
      });
      this.heartbeatOk = true;
      this.credentialWorked = true;
      this.consecutiveFailures = 0;
      const directives = out.directives as Directive[];
      if (directives.join() !== this.directives.join()) {
        this.directives = directives;
        this.emit({ type: "directive", directives });
        if (directives.includes("stop")) this.dropWork("stop");
        this.noticeBlocker();
        this.wake.abort();
      }
    } catch (error) {
      await this.onCallError("heartbeat", error);
    }
  }

  /** Leases that run out within a third of their life are renewed on their own (heartbeats renew too). */
  private async renewExpiring(): Promise<void> {
    if (!this.client || this.held.size === 0) return;
    const now = this.o.clock.now();
    const soon = [...this.held.entries()]
      .filter(([, h]) => h.expiresAtMs - now < (h.expiresAtMs - h.leasedAtMs) / 3)
      .map(([id]) => id);
    if (soon.length === 0) return;
    try {
      const out = await this.api().node.renew.mutate({ leaseIds: soon.slice(0, 128) });
      for (const r of out.renewed) {
        const h = this.held.get(r.leaseId);
        if (h) h.expiresAtMs = Date.parse(r.expiresAt) || h.expiresAtMs;
      }
      if (out.lost.length > 0) {
        for (const id of out.lost) this.held.delete(id);
        this.stats.dropped += out.lost.length;
        this.emit({ type: "lost", leaseIds: out.lost });
      }
    } catch (error) {
      await this.onCallError("renew", error);
    }
  }

  private maybeEarnings(): void {
    const every = this.o.earningsEveryMs;
    if (!every || !this.client || this.o.clock.now() - this.lastEarningsMs < every) return;
    this.lastEarningsMs = this.o.clock.now();
    this.api()
      .node.me.query()
      .then(
        (me) => this.emit({ type: "earnings", ...me.earnings }),
        (error: unknown) => this.reportError("earnings", error, "retry"),
      );
  }

  private leaseIdsInHand(): string[] {
    return [
      ...this.held.keys(),
      ...[...this.outbox.values()].filter((e) => e.kind === "result").map((e) => e.leaseId),
    ];
  }

  /** Advances the twin to now, with the compute this car ran since the last tick. */
  private tick(): void {
    const now = this.o.clock.now();
    const wallMs = now - this.lastTickMs;
    if (wallMs <= 0) return;
    const busyShare = Math.min(1, this.busyMs / wallMs);
    this.busyMs = 0;
    this.lastTickMs = now;
    this.setTwin(
      advance(this.twinNow, (wallMs / 1000) * this.o.speedup, this.twinNow.computeW * busyShare),
    );
  }

  /** A simulated car drives by its region's clocks: one made without knowing them takes them now. */
  private adoptTimeZone(timeZone: string): void {
    const p = this.twinNow.pattern;
    if (p && p.timeZone !== timeZone)
      this.setTwin({ ...this.twinNow, pattern: { ...p, timeZone } });
  }

  private setTwin(next: Twin): void {
    const before = this.twinNow;
    this.twinNow = next;
    if (before.state !== "driving" && next.state === "driving") {
      this.dropWork("driving");
      // The server learns at once (the driving heartbeat hands back every lease too).
      void this.departed();
    } else if (before.state === "driving" && next.state !== "driving") {
      this.lastHeartbeatMs = -Infinity;
      this.wake.abort();
    }
    this.noticeBlocker();
  }

  /** Work in hand is dropped: its leases are handed back (driving) or already gone (stop). */
  private dropWork(why: "driving" | "stop"): void {
    this.generation++;
    const count = this.held.size;
    this.held.clear();
    this.stats.dropped += count;
    this.emit({ type: "released", leases: count, why });
  }

  /** The car drove off: the server learns at once. */
  private async departed(): Promise<void> {
    if (!this.client) return;
    this.departing = true;
    try {
      await this.releaseAll("driving");
    } finally {
      this.departing = false;
    }
    await this.heartbeat();
  }

  /** Results already computed go first (they count), then every lease is handed back. */
  private async releaseAll(why: "driving" | "shutdown"): Promise<void> {
    if (!this.client) return;
    if (this.outbox.size > 0) await this.flush().catch(() => false);
    const count = this.held.size;
    this.held.clear();
    if (why === "shutdown") this.stats.dropped += count;
    try {
      await this.api().node.release.mutate();
      if (why === "shutdown" && count > 0) this.emit({ type: "released", leases: count, why });
    } catch (error) {
      // Unreachable: the leases run out on the server and go to other cars.
      this.reportError("release", error, "give-up");
    }
  }

  private blocker(): TwinReason | Directive | null {
    if (this.directives.includes("stop")) return "stop";
    if (this.directives.includes("drain")) return "drain";
    return workBlocker(this.twinNow);
  }

  private noticeBlocker(): void {
    const blocker = this.blocker();
    const key = `${this.twinNow.state}:${blocker}`;
    if (key === this.lastBlocker) return;
    this.lastBlocker = key;
    this.emit({ type: "state", state: this.twinNow.state, socPct: this.twinNow.socPct, blocker });
  }

  // ---- errors and waiting ----

  private api(): NightshiftClient {
    if (!this.client) throw new Error("not enrolled");
    return this.client;
  }

  /**
   * Reports a failed call and says whether to try it again later. A stored credential refused
   * before it ever worked (the server forgot the car) enrolls the car again; one refused after
   * it worked was revoked by an operator, and the car stops.
   */
  private async onCallError(where: string, error: unknown): Promise<boolean> {
    const action = classifyError(error);
    this.reportError(where, error, action.kind);
    if (action.kind === "retry") {
      this.stats.retries++;
      this.consecutiveFailures++;
      if (where === "heartbeat") this.heartbeatOk = false;
      return true;
    }
    if (action.kind === "reenroll") {
      if (this.credentialWorked || !this.o.enrollment) {
        this.revoked();
        return false;
      }
      this.enrolling ??= this.reenroll().finally(() => (this.enrolling = undefined));
      await this.enrolling;
      return true;
    }
    return false;
  }

  /** The credential was revoked: nothing this car holds can be sent any more. */
  private revoked(): void {
    if (this.stopping) return;
    const carId = this.credential?.carId ?? "";
    this.stopping = true;
    this.stopSignal.abort();
    this.wake.abort();
    this.generation++;
    this.held.clear();
    this.outbox.clear();
    this.client = undefined;
    this.emit({ type: "revoked", carId });
  }

  private async reenroll(): Promise<void> {
    this.credential = undefined;
    this.client = undefined;
    this.held.clear();
    this.outbox.clear();
    this.heartbeatOk = false;
    this.generation++;
    await this.enroll();
  }

  /** `fn`, tried again (with backoff) while it fails for reasons that retrying can fix. */
  private async withRetries<T>(where: string, fn: () => Promise<T>, attempts = 4): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const action = classifyError(error);
        if (action.kind !== "retry" || attempt + 1 >= attempts || this.stopping) throw error;
        this.stats.retries++;
        this.reportError(where, error, "retry");
        await this.backoff(attempt);
      }
    }
  }

  private reportError(where: string, error: unknown, action: string): void {
    this.stats.errors++;
    this.emit({ type: "error", where, message: errorMessage(error), action });
  }

  private backoffDelay(attempt: number): number {
    const { min, max } = this.o.backoffMs;
    // Full jitter (AWS's "exponential backoff and jitter"): uniform in [0, cap].
    return Math.max(10, this.o.random() * Math.min(max, min * 2 ** Math.min(attempt, 20)));
  }

  private backoff(attempt: number): Promise<void> {
    return this.o.clock.sleep(this.backoffDelay(attempt), this.stopSignal.signal);
  }

  private jitter(ms: number): number {
    return ms * (0.5 + this.o.random());
  }

  private sleepWake(ms: number): Promise<void> {
    if (this.wake.signal.aborted) this.wake = new AbortController();
    return this.o.clock.sleep(ms, this.wake.signal);
  }

  private emit(event: LoopEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's mistake must not stop the car.
      }
    }
  }
}

// ---- batching ----

/** A random uuid (v4) from crypto.getRandomValues, which browsers give outside secure contexts too. */
function randomUuid(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Rows of a task's feeds: the first dimension of its first input. */
function rowsOf(feeds: Feeds): number {
  const first = Object.values(feeds)[0];
  return first?.dims[0] ?? 1;
}

/** Whether the model's inputs and first output all start with a batch dimension. */
function batchable(m: ModelManifest): boolean {
  return (
    m.maxBatch > 1 &&
    m.inputs.every((s) => typeof s.dims[0] === "string") &&
    typeof m.outputs[0]?.dims[0] === "string"
  );
}

/** The shape of a task's feeds beyond the batch dimension: only equal shapes stack. */
function shapeKey(feeds: Feeds): string {
  return Object.entries(feeds)
    .map(([name, t]) => `${name}:${t.dims.slice(1).join("x")}`)
    .join(";");
}

/**
 * Tasks in runs of at most maxBatchFor rows, each run of one input shape (the detector's input
 * follows its image's size, and fewer large images stack); one task a run when the model does
 * not batch.
 */
function batches<T extends { rows: number; feeds: Feeds }>(m: ModelManifest, ready: T[]): T[][] {
  if (!batchable(m)) return ready.map((r) => [r]);
  const out: T[][] = [];
  const open = new Map<string, { chunk: T[]; rows: number }>();
  for (const r of ready) {
    const key = shapeKey(r.feeds);
    let current = open.get(key);
    const most = maxBatchFor(m, Object.values(r.feeds)[0]?.dims ?? []);
    if (current && current.rows + r.rows > most) {
      out.push(current.chunk);
      current = undefined;
    }
    if (!current) {
      current = { chunk: [], rows: 0 };
      open.set(key, current);
    }
    current.chunk.push(r);
    current.rows += r.rows;
  }
  for (const { chunk } of open.values()) out.push(chunk);
  return out;
}

/** Feeds of several tasks stacked along the batch dimension, input by input. */
function stack(feeds: Feeds[]): Feeds {
  const out: Feeds = {};
  for (const name of Object.keys(feeds[0] as Feeds)) {
    out[name] = batch(
      feeds.map((f) => {
        const t = f[name];
        if (!t) throw new BadInputError(`inputs.${name}: missing`);
        return t;
      }),
    );
  }
  return out;
}

/** A batched output cut back into each task's rows. */
export function splitRows(output: Tensor, rows: number[]): Tensor[] {
  const total = rows.reduce((a, b) => a + b, 0);
  const first = output.dims[0];
  if (first !== total || output.data.length % total !== 0) {
    throw new Error(
      `output dims [${output.dims.join(", ")}] do not split into rows ${rows.join("+")}`,
    );
  }
  const perRow = output.data.length / total;
  let offset = 0;
  return rows.map((n) => {
    const part = {
      dims: [n, ...output.dims.slice(1)],
      data: output.data.slice(offset, offset + n * perRow),
    };
    offset += n * perRow;
    return part;
  });
}
