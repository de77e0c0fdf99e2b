// A server stopped (SIGTERM) in the middle of a job and started again on the same data folder and
// port: the cars back off and retry, keep what they computed in their outboxes and send it when
// the server is back. Nothing is lost and nothing is counted twice.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFleet } from "../src/fleet";
import { NodeModelStore } from "../src/model-store-node";
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
}, 90_000);

afterAll(async () => {
  await server?.close();
  rmSync(modelDir, { recursive: true, force: true });
});

describe("a server restarted mid-job", () => {
  it("loses nothing: every task validated once, every outbox drained", async () => {
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(TASKS, 5),
      replication: REPLICAS,
    });
    let acknowledged = 0;
    let outboxPeak = 0;
    let down = false;
    let stopAt: (() => void) | undefined;
    const quarter = new Promise<void>((resolve) => (stopAt = resolve));
    const fleet = runFleet({
      server: server.url,
      cars: 8,
      twin: parkedTwin,
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
    down = true;
    const watch = (async () => {
      while (down) {
        outboxPeak = Math.max(outboxPeak, fleet.summary().outbox);
        await sleep(20);
      }
    })();
    await server.restart();
    down = false;
    await watch;

    const finished = await waitForJobs(server.tenant, [jobId], 90_000);
    await fleet.stop();
    const summary = fleet.summary();
    console.log(
      `restart after ${atStop} of ${TASKS * REPLICAS} results; outbox peak ${outboxPeak}; ${JSON.stringify(summary)}`,
    );
    expect(atStop).toBeLessThan(TASKS * REPLICAS);
    expect(finished).toBe(true);
    expect(summary.retries).toBeGreaterThan(0);
    // Results computed while the server was away waited in the outboxes, and all went out.
    expect(outboxPeak).toBeGreaterThan(0);
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
  }, 150_000);
});
