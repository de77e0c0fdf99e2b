// The work loop against a real server: images of the demo set, a car that drives off in the
// middle of a run, an input image served with wrong bytes, and a model served with wrong bytes.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNightshiftClient } from "@nightshift/client/client";
import { DEMO_IMAGES, demoImagePath } from "@nightshift/models/demo-images";
import { fixturePath } from "@nightshift/models/reference-fixtures";
import { startAnswerLosingProxy, startTamperingProxy } from "@nightshift/testkit/proxy";
import { until } from "@nightshift/testkit/waits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFleet } from "../src/fleet";
import { type Clock, type Credential, type LoopEvent, systemClock, WorkLoop } from "../src/loop";
import { NodeModelStore } from "../src/model-store-node";
import type { InferenceRuntime } from "../src/runtime";
import { NodeRuntime } from "../src/runtime-node";
import { createTwin, park, startDriving, type Twin } from "../src/twin";
import {
  accounting,
  parkedTwin,
  startTestServer,
  type TestServer,
  tinyInputs,
  waitForJobs,
} from "./server";

let server: TestServer;
let modelDir: string;
const runtime = new NodeRuntime();

beforeAll(async () => {
  server = await startTestServer();
  modelDir = mkdtempSync(join(tmpdir(), "nightshift-agent-models-"));
});

afterAll(async () => {
  await runtime.dispose();
  await server?.close();
  rmSync(modelDir, { recursive: true, force: true });
});

/** One car, parked and plugged in (unless `twin` says otherwise), with its events recorded. */
function car(
  name: string,
  opts: {
    server?: string;
    runtime?: InferenceRuntime;
    store?: NodeModelStore;
    twin?: Twin;
    credential?: Credential;
    onCredential?: (c: Credential) => void;
    clock?: Clock;
  } = {},
) {
  const events: LoopEvent[] = [];
  const url = opts.server ?? server.url;
  // Calls by procedure, counted as they leave the car (tRPC batches name several in one URL).
  const calls = new Map<string, number>();
  const countingFetch: typeof fetch = (input, init) => {
    const href = input instanceof Request ? input.url : String(input);
    const procedures = new URL(href).pathname.replace(/^.*\/trpc\//, "").split(",");
    for (const p of procedures) calls.set(p, (calls.get(p) ?? 0) + 1);
    return fetch(input, init);
  };
  const loop = new WorkLoop({
    server: url,
    createClient: (credential) =>
      createNightshiftClient({
        url,
        fetch: countingFetch,
        ...(credential ? { credential } : {}),
      }),
    runtime: opts.runtime ?? runtime,
    store: opts.store ?? new NodeModelStore({ dir: modelDir }),
    twin: opts.twin ?? parkedTwin(0, Date.now()),
    enrollment: { code: server.code, name },
    ...(opts.credential ? { credential: opts.credential } : {}),
    ...(opts.onCredential ? { onCredential: opts.onCredential } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    heartbeatMs: 1000,
    maxLease: 4,
  });
  loop.on((e) => events.push(e));
  return { loop, events, calls: (procedure: string) => calls.get(procedure) ?? 0 };
}

/** The real runtime, held at the start of each run until `open()`: a run that takes as long as a test needs. */
class GatedRuntime implements InferenceRuntime {
  private gate = deferred();
  readonly started = deferred();
  constructor(private readonly inner: InferenceRuntime) {}
  info() {
    return this.inner.info();
  }
  async run(...args: Parameters<InferenceRuntime["run"]>) {
    this.started.resolve();
    await this.gate.promise;
    return this.inner.run(...args);
  }
  open() {
    this.gate.resolve();
  }
  dispose() {
    return Promise.resolve();
  }
}

/** Promise.withResolvers, which Node 20 lacks. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("the work loop on a real server", () => {
  it("classifies the demo text lines' direction, in batches", async () => {
    const lines = DEMO_IMAGES.filter((d) => d.kind === "line");
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "ppocr-cls",
      inputs: lines.map((d) => ({ image: { demo: d.file } })),
      replication: 2,
    });
    const fleet = runFleet({
      server: server.url,
      code: server.code,
      cars: 4,
      twin: parkedTwin,
      runtime,
      store: new NodeModelStore({ dir: modelDir }),
      maxLease: 8,
    });
    const finished = await waitForJobs(server.tenant, [jobId]);
    await fleet.stop();
    expect(finished).toBe(true);
    expect(fleet.summary().outbox).toBe(0);
    const counts = await accounting(server.pool, [jobId]);
    expect(counts).toMatchObject({
      tasks: lines.length,
      valid: lines.length,
      jobs_completed: 1,
      active: 0,
    });
    const { items } = await server.tenant.tenant.jobs.results.query({ jobId, limit: 100 });
    expect(items).toHaveLength(lines.length);
    // The server reads each validated output: the direction matches how the line was drawn.
    items.forEach((item, i) => {
      expect(item.status).toBe("valid");
      expect(item.interpretation).toMatchObject({ kind: "direction", angle: lines[i]!.angle });
    });
  });

  it("finds the text lines of the demo pages with the detector, several pages a run", async () => {
    const pages = DEMO_IMAGES.filter((d) => d.kind === "page");
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "ppocr-det",
      inputs: pages.map((d) => ({ image: { demo: d.file } })),
      replication: 1,
    });
    const one = car("reader");
    void one.loop.start();
    expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
    await one.loop.stop();
    const runs = one.events.filter((e) => e.type === "task-done");
    expect(Math.max(...runs.map((e) => (e.type === "task-done" ? e.batch : 0)))).toBeGreaterThan(1);
    const { items } = await server.tenant.tenant.jobs.results.query({ jobId, limit: 10 });
    items.forEach((item, i) => {
      expect(item.status).toBe("valid");
      expect(item.interpretation).toMatchObject({ kind: "boxes" });
      const boxes = (item.interpretation as { boxes: unknown[] }).boxes;
      expect(boxes).toHaveLength(pages[i]!.boxes.length);
    });
  });

  it("runs detector pages of different sizes, batching only pages of one size", async () => {
    // Two demo pages (480 × 320) and two reference pages of other sizes: the detector's input
    // follows each image, so only the demo pages may share a run.
    const other = ["page-small.png", "page-tall.png"].map((f) => ({
      image: { base64: readFileSync(fixturePath(f)).toString("base64") },
    }));
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "ppocr-det",
      inputs: [{ image: { demo: "page-1.png" } }, ...other, { image: { demo: "page-2.png" } }],
      replication: 1,
    });
    const one = car("sizes");
    void one.loop.start();
    expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
    await one.loop.stop();
    expect(one.events.filter((e) => e.type === "task-failed")).toEqual([]);
    const runs = one.events.flatMap((e) => (e.type === "task-done" ? [e.batch] : []));
    expect(runs.sort()).toEqual([1, 1, 2, 2]);
    const { items } = await server.tenant.tenant.jobs.results.query({ jobId, limit: 10 });
    // page-small has 3 lines, page-tall 8 (reference/reference.json).
    expect(items.map((i) => (i.interpretation as { boxes: unknown[] }).boxes.length)).toEqual([
      3, 3, 8, 3,
    ]);
  });

  it("hands its lease back when the car drives off mid-run; another car completes the task", async () => {
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(1, 7),
      replication: 1,
    });
    const gated = new GatedRuntime(runtime);
    const driver = car("driver", { runtime: gated });
    void driver.loop.start();
    await gated.started.promise;
    const leased = driver.events.find((e) => e.type === "task-started");
    expect(leased).toBeDefined();
    const leaseId = (leased as { leaseId: string }).leaseId;

    driver.loop.updateTwin((t) => startDriving(t));
    await until("the lease handed back", () =>
      driver.events.some((e) => e.type === "released" && e.why === "driving"),
    );
    const status = async () =>
      (
        await server.pool.query<{ status: string }>("SELECT status FROM leases WHERE id = $1", [
          leaseId,
        ])
      ).rows[0]?.status;
    await until("the server to end the lease", async () => (await status()) !== "active");
    expect(await status()).toBe("released");
    gated.open();

    const other = car("other");
    void other.loop.start();
    expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
    await Promise.all([driver.loop.stop(), other.loop.stop()]);

    // The run that finished after the departure was not submitted; the other car's was.
    expect(driver.events.some((e) => e.type === "task-done")).toBe(false);
    expect(driver.events.some((e) => e.type === "submitted")).toBe(false);
    const { rows } = await server.pool.query<{ car_id: string; status: string; results: number }>(
      `SELECT l.car_id, l.status, (SELECT count(*)::int FROM results r WHERE r.lease_id = l.id) AS results
         FROM leases l JOIN tasks t ON t.id = l.task_id WHERE t.job_id = $1 ORDER BY l.leased_at`,
      [jobId],
    );
    expect(rows).toEqual([
      { car_id: driver.loop.carId, status: "released", results: 0 },
      { car_id: other.loop.carId, status: "submitted", results: 1 },
    ]);
    expect(await accounting(server.pool, [jobId])).toMatchObject({ tasks: 1, valid: 1, ledger: 1 });
  });

  it("drops the work of a lease that renew reports lost (preempted), unstarted, and carries on", async () => {
    // One lease call brings two tasks of two models: they run one model after the other.
    const line = DEMO_IMAGES.find((d) => d.kind === "line")!;
    const jobs = [
      await server.tenant.tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: tinyInputs(1, 13),
        replication: 1,
      }),
      await server.tenant.tenant.jobs.submit.mutate({
        modelId: "ppocr-cls",
        inputs: [{ image: { demo: line.file } }],
        replication: 1,
      }),
    ].map((j) => j.jobId);
    const gated = new GatedRuntime(runtime);
    // The car's clock, moved on to where its leases are due for renewal.
    let skewMs = 0;
    const clock: Clock = { now: () => Date.now() + skewMs, sleep: systemClock.sleep };
    const c = car("preempted", { runtime: gated, clock });
    void c.loop.start();
    await gated.started.promise;
    const first = c.events.find((e) => e.type === "task-started") as { leaseId: string };
    // While the first model runs, the server takes the other lease back (as reclaim does:
    // 'preempted', its unit open again).
    const { rows } = await server.pool.query<{ id: string; work_unit_id: string }>(
      `UPDATE leases SET status = 'preempted', ended_at = now(), end_reason = 'preempted'
        WHERE car_id = $1 AND status = 'active' AND id <> $2 RETURNING id, work_unit_id`,
      [c.loop.carId, first.leaseId],
    );
    expect(rows).toHaveLength(1);
    const lost = rows[0]!.id;
    await server.pool.query(`UPDATE work_units SET status = 'open' WHERE id = $1`, [
      rows[0]!.work_unit_id,
    ]);
    skewMs = 100_000;
    await until("renew to report the lease lost", () =>
      c.events.some((e) => e.type === "lost" && e.leaseIds.includes(lost)),
    );
    gated.open();
    await until("the first task submitted", () =>
      c.events.some((e) => e.type === "submitted" && e.leaseId === first.leaseId),
    );
    skewMs = 0;
    // The lost lease's work was never started, run or sent; the car went on to other work.
    const about = c.events.filter((e) => "leaseId" in e && e.leaseId === lost);
    expect(about).toEqual([]);
    const other = car("other");
    void other.loop.start();
    expect(await waitForJobs(server.tenant, jobs)).toBe(true);
    await Promise.all([c.loop.stop(), other.loop.stop()]);
    expect(await accounting(server.pool, jobs)).toMatchObject({ tasks: 2, valid: 2, ledger: 2 });
  });

  it("gets back the leases of a lease call whose answer was lost, by retrying it with its requestId", async () => {
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(2, 11),
      replication: 1,
    });
    // The first answer that hands out work never reaches the car: the leases are made, and the
    // car knows nothing of them.
    const proxy = await startAnswerLosingProxy(
      server.url,
      (path, answer) => path.includes("node.lease") && answer.includes('"leaseId"'),
    );
    try {
      const lossy = car("lossy", { server: proxy.url });
      void lossy.loop.start();
      // Well inside the lease lifetime (120 s): nothing waits for a lease to run out.
      expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
      await lossy.loop.stop();
      expect(proxy.lost).toHaveLength(1);
      expect(lossy.loop.stats.retries).toBeGreaterThan(0);
      // The retry got the same two leases: no others were made, and the car ran both.
      const { rows } = await server.pool.query<{
        car_id: string;
        status: string;
        request_id: string;
      }>(
        `SELECT l.car_id, l.status, l.request_id FROM leases l JOIN tasks t ON t.id = l.task_id
          WHERE t.job_id = $1`,
        [jobId],
      );
      expect(rows).toHaveLength(2);
      expect(new Set(rows.map((r) => `${r.car_id} ${r.status}`))).toEqual(
        new Set([`${lossy.loop.carId} submitted`]),
      );
      expect(new Set(rows.map((r) => r.request_id)).size).toBe(1);
      expect(rows[0]!.request_id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(lossy.loop.stats.leased).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it("reports an input it cannot use with node.fail, carries on, and the task goes to another car", async () => {
    // The server decodes every image it accepts, so a broken one never reaches a car; what does
    // is an image whose bytes change on the way. Cars behind this proxy get the first image with
    // a byte changed, and refuse it (its sha256 is not the one named).
    const lines = DEMO_IMAGES.filter((d) => d.kind === "line").slice(0, 3);
    const sha256 = createHash("sha256")
      .update(readFileSync(demoImagePath(lines[0]!.file)))
      .digest("hex");
    const proxy = await startTamperingProxy(server.url, (path) =>
      path.startsWith(`/inputs/${sha256}`),
    );
    try {
      const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
        modelId: "ppocr-cls",
        inputs: lines.map((d) => ({ image: { demo: d.file } })),
        replication: 1,
      });
      const reported = (c: ReturnType<typeof car>) =>
        c.events.filter((e) => e.type === "fail-reported").length;
      // Car a leases all three tasks: it refuses the first image and runs the other two.
      const a = car("a", { server: proxy.url });
      void a.loop.start();
      await until("car a's work", () => reported(a) === 1 && a.loop.stats.acknowledged === 2);
      // A second owner's car refuses it too. Neither car is trusted, and a car enrolls for
      // free: their word fails nothing.
      const b = car("b", { server: proxy.url });
      void b.loop.start();
      await until("car b's refusal", () => reported(b) === 1);
      await Promise.all([a.loop.stop(), b.loop.stop()]);
      const first = await server.pool.query<{ status: string }>(
        "SELECT status FROM tasks WHERE job_id = $1 AND seq = 0",
        [jobId],
      );
      expect(first.rows.map((r) => r.status)).toEqual(["open"]);
      // A car with the right bytes runs it.
      const c = car("c");
      void c.loop.start();
      expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
      await c.loop.stop();

      for (const refusing of [a, b]) {
        const failures = refusing.events.filter((e) => e.type === "task-failed");
        expect(failures).toHaveLength(1);
        expect(failures[0]).toMatchObject({ reason: "bad-input" });
        expect((failures[0] as { message: string }).message).toMatch(/sha256/);
        expect(refusing.loop.pending()).toEqual({ outbox: 0, held: 0 });
      }
      expect(proxy.tampered.length).toBeGreaterThanOrEqual(2);
      const { items } = await server.tenant.tenant.jobs.results.query({ jobId, limit: 10 });
      expect(items.map((i) => [i.status, i.error])).toEqual([
        ["valid", null],
        ["valid", null],
        ["valid", null],
      ]);
      const { rows } = await server.pool.query<{
        car_id: string;
        status: string;
        end_reason: string | null;
      }>(
        `SELECT l.car_id, l.status, l.end_reason FROM leases l JOIN tasks t ON t.id = l.task_id
          WHERE t.job_id = $1 AND t.seq = 0 ORDER BY l.leased_at, l.id`,
        [jobId],
      );
      expect(rows.map((r) => [r.car_id, r.status])).toEqual([
        [a.loop.carId, "failed"],
        [b.loop.carId, "failed"],
        [c.loop.carId, "submitted"],
      ]);
      for (const r of rows.slice(0, 2)) expect(r.end_reason).toMatch(/^bad-input: /);
    } finally {
      await proxy.close();
    }
  });

  it("refuses a model served with wrong bytes (model-integrity), and an honest car runs the task", async () => {
    const proxy = await startTamperingProxy(server.url);
    try {
      const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: tinyInputs(2, 11),
        replication: 1,
      });
      // Its own empty cache: the model must come through the proxy.
      const victimDir = mkdtempSync(join(tmpdir(), "nightshift-agent-victim-"));
      const victim = car("victim", {
        server: proxy.url,
        store: new NodeModelStore({ dir: victimDir }),
      });
      void victim.loop.start();
      await until(
        "the victim's failures",
        () => victim.events.filter((e) => e.type === "fail-reported").length >= 2,
      );
      await victim.loop.stop();
      rmSync(victimDir, { recursive: true, force: true });
      expect(proxy.tampered.length).toBeGreaterThan(0);
      const failed = victim.events.filter((e) => e.type === "task-failed");
      expect(failed.length).toBeGreaterThanOrEqual(1);
      for (const f of failed) {
        expect(f).toMatchObject({ reason: "model-integrity" });
        expect((f as { message: string }).message).toMatch(/ModelIntegrityError.*sha256/);
      }
      const ended = await server.pool.query<{ status: string; end_reason: string }>(
        "SELECT status, end_reason FROM leases WHERE car_id = $1",
        [victim.loop.carId],
      );
      expect(ended.rows.length).toBe(failed.length);
      for (const row of ended.rows) {
        expect(row.status).toBe("failed");
        expect(row.end_reason).toMatch(/^model-integrity: /);
      }

      const honest = car("honest");
      void honest.loop.start();
      expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
      await honest.loop.stop();
      expect(await accounting(server.pool, [jobId])).toMatchObject({ tasks: 2, valid: 2 });
    } finally {
      await proxy.close();
    }
  });

  it("takes no work at the owner's reserve, and starts once plugged in", async () => {
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(3, 13),
      replication: 1,
    });
    const low = car("low", { twin: createTwin({ nowMs: Date.now(), socPct: 20 }) });
    void low.loop.start();
    await until("the car's state", () =>
      low.events.some((e) => e.type === "state" && e.blocker === "reserve"),
    );
    // Heartbeats go on; no lease is asked for while the car sits at its reserve.
    const beats = low.calls("node.heartbeat");
    await until("three more heartbeats", () => low.calls("node.heartbeat") >= beats + 3);
    expect(low.calls("node.lease")).toBe(0);
    expect(low.loop.stats.leased).toBe(0);
    low.loop.updateTwin((t) => park(t, 11));
    expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
    await low.loop.stop();
    expect(low.loop.stats.acknowledged).toBe(3);
  });

  it("resumes with a stored credential, and enrolls again when the credential is refused", async () => {
    let saved: Credential | undefined;
    const first = car("keeper", { onCredential: (c) => (saved = c) });
    void first.loop.start();
    await until("enrollment", () => saved !== undefined);
    await first.loop.stop();

    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(2, 17),
      replication: 1,
    });
    const resumed = car("keeper", { credential: saved! });
    void resumed.loop.start();
    expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
    await resumed.loop.stop();
    expect(resumed.events.find((e) => e.type === "enrolled")).toEqual({
      type: "enrolled",
      carId: saved!.carId,
      resumed: true,
    });
    expect(resumed.loop.stats.acknowledged).toBe(2);

    let fresh: Credential | undefined;
    const refused = car("forgotten", {
      credential: { carId: saved!.carId, credential: "nsc_not-a-real-credential" },
      onCredential: (c) => (fresh = c),
    });
    void refused.loop.start();
    await until("a new enrollment", () => fresh !== undefined);
    await refused.loop.stop();
    expect(fresh!.carId).not.toBe(saved!.carId);
    expect(refused.events.some((e) => e.type === "error" && e.action === "reenroll")).toBe(true);
  });

  it("stops when an operator revokes its credential, and does not enroll again", async () => {
    const operator = await createNightshiftClient({ url: server.url }).operator.auth.signIn.mutate(
      server.operator,
    );
    const ops = createNightshiftClient({ url: server.url, credential: operator.token });
    const revokee = car("revokee");
    const ended = revokee.loop.start();
    await until("enrollment", () => revokee.loop.carId !== undefined);
    await until("a heartbeat", () => revokee.events.some((e) => e.type === "state"));
    // Revoked while it waits between lease calls, as a car at rest would be.
    await until("a lease call", () => revokee.calls("node.lease") > 0);
    await ops.operator.cars.revoke.mutate({ carId: revokee.loop.carId!, reason: "test" });
    await ended;
    expect(revokee.events.find((e) => e.type === "revoked")).toEqual({
      type: "revoked",
      carId: revokee.loop.carId,
    });
    expect(revokee.events.filter((e) => e.type === "enrolled")).toHaveLength(1);
    await revokee.loop.stop();
  });
});
