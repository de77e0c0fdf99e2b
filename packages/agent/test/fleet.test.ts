// Headless cars against a real server: enrolled with the demo code, they lease, fetch and check
// the model, run it on onnxruntime-node and submit; every task is validated exactly once.
import { until } from "@nightshift/testkit/waits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFleet } from "../src/fleet";
import type { LoopEvent } from "../src/loop";
import { NodeModelStore } from "../src/model-store-node";
import {
  accounting,
  parkedTwin,
  startTestServer,
  type TestServer,
  tinyInputs,
  waitForJobs,
} from "./server";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

describe("a fleet of headless cars", () => {
  it("completes a tiny-mlp job, each task validated once, batched runs", async () => {
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(240, 1),
      replication: 2,
    });
    const events: LoopEvent[] = [];
    const store = new NodeModelStore({ dir: modelDir });
    const fleet = runFleet({
      server: server.url,
      code: server.code,
      cars: 8,
      seed: 3,
      twin: parkedTwin,
      store,
      maxLease: 32,
      heartbeatMs: 2000,
      onEvent: (_car, e) => events.push(e),
    });
    const finished = await waitForJobs(server.tenant, [jobId]);
    await fleet.stop();
    const summary = fleet.summary();
    console.log(`tiny-mlp: ${JSON.stringify(summary)}`);
    expect(finished).toBe(true);
    expect(summary.enrolled).toBe(8);
    expect(summary.outbox).toBe(0);
    const counts = await accounting(server.pool, [jobId]);
    expect(counts).toMatchObject({
      tasks: 240,
      valid: 240,
      verifications: 240,
      active: 0,
      open_units: 0,
      jobs_completed: 1,
    });
    expect(counts.results).toBe(counts.ledger);
    expect(counts.results).toBeGreaterThanOrEqual(480);
    // One model file fetched once for the whole fleet; runs took several tasks at a time.
    expect(store.stats.fetched).toBe(1);
    const done = events.filter((e) => e.type === "task-done");
    expect(done.length).toBeGreaterThanOrEqual(480);
    expect(Math.max(...done.map((e) => e.batch))).toBeGreaterThan(1);
    expect(done.every((e) => e.energyWh > 0 && e.backend === "native")).toBe(true);
  });

  it("drives each simulated car by its region's clocks", async () => {
    const store = new NodeModelStore({ dir: modelDir });
    // Regions given with their zones: each car enrolls in one of them (the one its scenario drew
    // when listed, else in turn) and lives on its clocks. None given: the server's default region
    // (eu-north, the first by id), whose zone each car learns as it enrolls.
    const regions = [
      { id: "us-west", timeZone: "America/Los_Angeles" },
      { id: "us-central", timeZone: "America/Chicago" },
    ];
    const given = runFleet({
      server: server.url,
      code: server.code,
      cars: 6,
      seed: 5,
      store,
      regions,
    });
    const learned = runFleet({ server: server.url, code: server.code, cars: 1, seed: 6, store });
    expect(learned.loops[0]!.twin().pattern?.timeZone).toBe("UTC");
    await until("every car enrolled", () =>
      [...given.loops, ...learned.loops].every((l) => l.carId !== undefined),
    );
    await Promise.all([given.stop(), learned.stop()]);
    expect(learned.loops[0]!.twin().pattern?.timeZone).toBe("Europe/Stockholm");
    const { rows } = await server.pool.query<{ id: string; region_id: string }>(
      "SELECT id, region_id FROM cars WHERE id = ANY($1::uuid[])",
      [given.loops.map((l) => l.carId)],
    );
    const zoneOf = new Map(regions.map((r) => [r.id, r.timeZone]));
    for (const loop of given.loops) {
      const regionId = rows.find((r) => r.id === loop.carId)!.region_id;
      expect(zoneOf.has(regionId), regionId).toBe(true);
      expect(loop.twin().pattern?.timeZone).toBe(zoneOf.get(regionId));
    }
    // Both listed regions have cars: the zones are not all one.
    expect(new Set(rows.map((r) => r.region_id)).size).toBe(2);
  });
});
