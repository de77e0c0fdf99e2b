// A server stopped (SIGTERM) in the middle of a job and started again on the same data folder and
// port: the cars back off and retry, keep what they computed in their outboxes and send it when
// the server is back. Nothing is lost and nothing is counted twice.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "@nightshift/testkit/waits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFleet } from "../src/fleet";
import { NodeModelStore } from "../src/model-store-node";
import type { InferenceRuntime } from "../src/runtime";
import { NodeRuntime } from "../src/runtime-node";
import {
  accounting,
  parkedTwin,
  startTestServer,
  type TestServer,
  tinyInputs,
  waitForJobs,
} from "./server";

const TASKS = 600;
const REPLICAS = 2;

let server: TestServer;
let modelDir: string;

beforeAll(async () => {
  server = await startTestServer();
  modelDir = mkdtempSync(join(tmpdir(), "nightshift-agent-models-"));
});

afterAll(async () => {
  await server?.close();
  rmSync(modelDir, { recursive: true, force: true });
});

/**
 * The fleet's runtime, which can hold new runs at their start: a car held there has leased
 * tasks, and computes them when let go, whatever the server is doing by then.
 */
class HoldingRuntime implements InferenceRuntime {
  private gate: Promise<void> | null = null;
  private release = () => {};
  held = 0;
  constructor(private readonly inner: InferenceRuntime) {}
  info() {
    return this.inner.info();
  }
  hold() {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open() {
    this.gate = null;
    this.release();
  }
  async run(...args: Parameters<InferenceRuntime["run"]>) {
    if (this.gate) {
      this.held++;
      await this.gate;
    }
    return this.inner.run(...args);
  }
  dispose() {
    return this.inner.dispose();
  }
}

describe("a server restarted mid-job", () => {
  it("loses nothing: every task validated once, every outbox drained", async () => {
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(TASKS, 5),
      replication: REPLICAS,
    });
    let acknowledged = 0;
    let stopAt: (() => void) | undefined;
    const quarter = new Promise<void>((resolve) => (stopAt = resolve));
    const runtime = new HoldingRuntime(new NodeRuntime());
    const fleet = runFleet({
      server: server.url,
      code: server.code,
      cars: 8,
      twin: parkedTwin,
      runtime,
      store: new NodeModelStore({ dir: modelDir }),
      // Small leases and quick retries: the job spans the restart, and cars come back quickly.
      maxLease: 4,
      heartbeatMs: 1000,
      onEvent: (_car, e) => {
        if (e.type === "submitted" && e.accepted) acknowledged++;
        if (acknowledged >= (TASKS * REPLICAS) / 4) stopAt?.();
      },
    });
    await quarter;
    const atStop = acknowledged;
    // A car is held with leases in hand, the server goes away, and only then does the car
    // compute: its results can only wait in its outbox.
    runtime.hold();
    await until("a car held mid-run", () => runtime.held > 0);
    await server.stop();
    runtime.open();
    await until("results waiting in an outbox", () => fleet.summary().outbox > 0);
    const outboxWhileAway = fleet.summary().outbox;
    await server.start();

    await waitForJobs(server.tenant, [jobId]);
    await until("every outbox sent", () => fleet.summary().outbox === 0);
    await fleet.stop();
    await runtime.dispose();
    const summary = fleet.summary();
    console.log(
      `restart after ${atStop} of ${TASKS * REPLICAS} results; ${outboxWhileAway} results waited while the server was away; ${JSON.stringify(summary)}`,
    );
    expect(atStop).toBeLessThan(TASKS * REPLICAS);
    expect(summary.retries).toBeGreaterThan(0);
    // Results computed while the server was away waited in the outboxes, and all went out.
    expect(outboxWhileAway).toBeGreaterThan(0);
    expect(summary.outbox).toBe(0);
    const counts = await accounting(server.pool, [jobId]);
    expect(counts).toMatchObject({
      tasks: TASKS,
      valid: TASKS,
      verifications: TASKS,
      active: 0,
      open_units: 0,
      jobs_completed: 1,
    });
    expect(counts.ledger).toBe(counts.results);
    // Every result the cars saw acknowledged is one result row: none recorded twice.
    expect(summary.acknowledged).toBe(counts.results);
  });
});
