// Tabs as cars against a real server: a tab enrolls, heartbeats, leases and completes work on
// WASM; a tab that starts driving hands its leases back and another car finishes them; a model
// whose cached bytes fail their sha256 is refused and reported; an input image whose bytes changed
// on the way is reported as bad input, the tab carries on, and another car runs it.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runFleet } from "@nightshift/agent/fleet";
import { createTwin } from "@nightshift/agent/twin";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { outputsAgree } from "@nightshift/core/verify";
import { demoImagePath } from "@nightshift/models/demo-images";
import { getManifest } from "@nightshift/models/registry";
import { tinyMlpReference } from "@nightshift/models/tiny-mlp";
import { startTamperingProxy } from "@nightshift/testkit/proxy";
import { HANG_MS, untilDone } from "@nightshift/testkit/waits";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { NodeView } from "../src/protocol";
import { startVehicleServer } from "../src/serve";
import { openBrowser, openVehicle } from "./browser";

let browser: Browser;
let tenant: NightshiftClient;
let modelDir: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await openBrowser();
  tenant = createNightshiftClient({ url: inject("serverUrl"), credential: inject("tenantKey") });
  modelDir = mkdtempSync(join(tmpdir(), "nightshift-vehicle-agent-models-"));
});
afterAll(async () => {
  await browser?.close();
  rmSync(modelDir, { recursive: true, force: true });
});

/** A tab in a browser profile of its own (its own sessionStorage and Cache Storage). */
async function openCar(query: string): Promise<Page> {
  const context = await browser.newContext();
  context.setDefaultTimeout(HANG_MS);
  contexts.push(context);
  const { page: tab } = await openVehicle(context, `${inject("vehicleUrl")}?${query}`);
  return tab;
}

async function view(page: Page): Promise<NodeView | null> {
  return page.evaluate(() => window.nightshiftVehicle?.worker.node ?? null);
}

/** Waits until the tab's view satisfies `predicate` (a function evaluated in the page). */
async function waitView(page: Page, predicate: string): Promise<NodeView> {
  try {
    await page.waitForFunction(
      (body) => {
        const v = window.nightshiftVehicle?.worker.node;
        return v ? (new Function("v", `return (${body})`) as (v: unknown) => boolean)(v) : false;
      },
      predicate,
      // A hang guard only: WebGPU on a software adapter takes seconds a run.
      { timeout: HANG_MS, polling: 100 },
    );
  } catch (error) {
    // Say what the tab saw instead: the tasks, the error, the state.
    const seen = await view(page).catch(() => null);
    throw new Error(`${String(error)}\nwaiting for ${predicate}; the tab: ${JSON.stringify(seen)}`);
  }
  return (await view(page))!;
}

/** Waits until the job has finished; fails only when its tasks stop being decided. */
async function waitJob(jobId: string) {
  return untilDone(`job ${jobId}`, () => tenant.tenant.jobs.get.query({ jobId }), {
    done: (job) => job.status !== "queued" && job.status !== "running",
    progress: (job) => job.tasksValidated + job.tasksFailed,
  });
}

async function results(jobId: string) {
  return (await tenant.tenant.jobs.results.query({ jobId, limit: 500 })).items;
}

function tinyInputs(n: number, salt: number) {
  return Array.from({ length: n }, (_, i) => ({
    x: {
      dims: [1, 16],
      data: Array.from({ length: 16 }, (_, j) => ((i * 13 + j * 5 + salt) % 11) / 5 - 1),
    },
  }));
}

/** A headless car in this process (onnxruntime-node), parked and plugged in. */
function headlessCar(name: string) {
  return runFleet({
    server: inject("serverUrl"),
    code: inject("fleetCode"),
    cars: 1,
    twin: (_i, nowMs) => createTwin({ nowMs, socPct: 80, pluggedIn: true, chargerKW: 11 }),
    modelDir,
    heartbeatMs: 1000,
    namePrefix: name,
  });
}

describe("a tab is a car", () => {
  it("enrolls, heartbeats, and leases and completes tasks on WASM", async () => {
    const page = await openCar("backend=wasm&name=tab-a");
    const joined = await waitView(
      page,
      "v.carId !== null && v.state === 'charging' && v.lastHeartbeatAt !== null",
    );
    const stored = await page.evaluate(() => JSON.stringify(sessionStorage));
    expect(stored).toContain(joined.carId!);

    const inputs = tinyInputs(12, 1);
    const { jobId } = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs,
      replication: 1,
    });
    expect((await waitJob(jobId)).status).toBe("completed");

    const items = await results(jobId);
    expect(items).toHaveLength(12);
    const tolerance = getManifest("tiny-mlp")!.tolerance;
    for (const item of items) {
      expect(item.status).toBe("valid");
      const expected = tinyMlpReference(inputs[item.seq]!.x.data, 1);
      expect(outputsAgree(item.output!, expected, tolerance), `task ${item.seq}`).toBe(true);
    }
    const after = await waitView(page, "v.done >= 12");
    expect(
      after.tasks.filter((t) => t.outcome === "accepted").every((t) => t.backend === "wasm"),
    ).toBe(true);
    await page.context().close();
  });

  it("calls a server on another origin directly with ?server= (CORS under cross-origin isolation)", async () => {
    // This page's own origin passes nothing through: every call must go to ?server=.
    const elsewhere = await startVehicleServer({
      port: inject("corsPort"),
      serverUrl: "http://127.0.0.1:1",
    });
    try {
      const context = await browser.newContext();
      context.setDefaultTimeout(HANG_MS);
      contexts.push(context);
      const server = encodeURIComponent(inject("serverUrl"));
      const { page } = await openVehicle(
        context,
        `${elsewhere.url}?server=${server}&backend=wasm&name=tab-f`,
      );
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      await waitView(page, "v.carId !== null && v.state === 'charging'");
      const { jobId } = await tenant.tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: tinyInputs(3, 7),
        replication: 1,
      });
      // An image model: the model file and the input image are fetched across origins too.
      const image = await tenant.tenant.jobs.submit.mutate({
        modelId: "ppocr-cls",
        inputs: [{ image: { demo: "line-low-tariff-180.png" } }],
        replication: 1,
      });
      expect((await waitJob(jobId)).status).toBe("completed");
      expect((await waitJob(image.jobId)).status).toBe("completed");
      await waitView(page, "v.done >= 4");
      await context.close();
    } finally {
      await elsewhere.close();
    }
  });

  it("names a bad address parameter instead of starting", async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(HANG_MS);
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${inject("vehicleUrl")}?backend=cuda`);
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toMatch(/^\?backend=: expected auto, webgpu or wasm, got cuda$/);
    expect(await page.evaluate(() => window.nightshiftVehicle)).toBeUndefined();
    await context.close();
  });

  it("is one car per tab: two tabs are two cars, and a reload keeps the tab's car", async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(HANG_MS);
    contexts.push(context);
    const url = `${inject("vehicleUrl")}?backend=wasm`;
    const { page: first } = await openVehicle(context, `${url}&name=tab-e1`);
    const { page: second } = await openVehicle(context, `${url}&name=tab-e2`);
    const a = (await waitView(first, "v.carId !== null")).carId;
    const b = (await waitView(second, "v.carId !== null")).carId;
    expect(a).not.toBe(b);
    await first.reload();
    await first.waitForFunction(() => window.nightshiftVehicle !== undefined);
    expect((await waitView(first, "v.carId !== null")).carId).toBe(a);
    await context.close();
  });

  it("hands its leases back when it starts driving, and another car completes them", async () => {
    const page = await openCar("backend=wasm&name=tab-b");
    await waitView(page, "v.carId !== null && v.state === 'charging'");
    // Detection on A4 documents (960 × 672 inputs, about a second a run on WASM): the tab is
    // caught mid-work however fast the machine, with work left to hand back.
    const inputs = Array.from({ length: 16 }, (_, i) => ({
      image: { demo: `document-${(i % 2) + 1}.png` },
    }));
    const { jobId } = await tenant.tenant.jobs.submit.mutate({
      modelId: "ppocr-det",
      inputs,
      replication: 1,
    });
    await waitView(page, "v.tasks.some((t) => t.outcome === 'running')");
    await page.getByTestId("drive").click();
    const driving = await waitView(page, "v.state === 'driving' && v.handedBack > 0");
    const handedBack = driving.tasks
      .filter((t) => t.outcome === "handed-back")
      .map((t) => t.taskId);
    expect(handedBack.length).toBeGreaterThan(0);
    const drivingSince = await page.evaluate(() => Date.now());

    const car = headlessCar("agent-b");
    try {
      expect((await waitJob(jobId)).status).toBe("completed");
    } finally {
      await car.stop();
    }
    const items = await results(jobId);
    for (const taskId of handedBack) {
      expect(items.find((i) => i.taskId === taskId)?.status).toBe("valid");
    }
    // A driving car takes no work: the tab started nothing more (results it had computed before
    // it drove off may still have been delivered).
    const late = (await view(page))!.tasks.filter((t) => t.startedAt > drivingSince);
    expect(late).toEqual([]);
    await page.context().close();
  });

  it("refuses a model whose cached bytes fail their sha256, reports it, and fetches it again", async () => {
    const page = await openCar("backend=wasm&join=0");
    const m = getManifest("ppocr-cls")!;
    // The file as this tab's model cache holds it, with one byte changed.
    const key = new URL(`/models/${m.id}/${m.sha256}`, inject("vehicleUrl")).href;
    await page.evaluate(async (key) => {
      const good = new Uint8Array(await (await fetch(key)).arrayBuffer());
      good[good.length >> 1]! ^= 0xff;
      await (await caches.open("nightshift-models-v1")).put(key, new Response(good));
    }, key);
    await page.goto(`${inject("vehicleUrl")}?backend=wasm&name=tab-c`);
    await page.waitForFunction(() => window.nightshiftVehicle !== undefined);
    await waitView(page, "v.carId !== null && v.state === 'charging'");

    const line = { image: { demo: "line-hello-world-0.png" } };
    const first = await tenant.tenant.jobs.submit.mutate({
      modelId: "ppocr-cls",
      inputs: [line],
      replication: 1,
    });
    const refused = await waitView(page, "v.failed >= 1");
    const failed = refused.tasks.find((t) => t.outcome === "failed")!;
    expect(failed.detail).toMatch(/^model-integrity: ModelIntegrityError/);
    expect(failed.detail).toContain(m.sha256);
    expect(refused.done).toBe(0);

    // The bad entry is gone; the next task fetches the real file and runs.
    const second = await tenant.tenant.jobs.submit.mutate({
      modelId: "ppocr-cls",
      inputs: [line, { image: { demo: "line-hello-world-180.png" } }],
      replication: 1,
    });
    expect((await waitJob(second.jobId)).status).toBe("completed");
    const cached = await page.evaluate(async (key) => {
      const hit = await (await caches.open("nightshift-models-v1")).match(key);
      if (!hit) return null;
      const digest = await crypto.subtle.digest("SHA-256", await hit.arrayBuffer());
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    }, key);
    expect(cached).toBe(m.sha256);
    await tenant.tenant.jobs.cancel.mutate({ jobId: first.jobId }).catch(() => undefined);
    await page.context().close();
  });

  it("reports an input it cannot use as bad input, carries on, and another car runs it", async () => {
    // The server decodes every image it accepts, so a broken one never reaches a car; what can is
    // an image whose bytes change on the way. This tab's page server passes the API through a
    // proxy that changes a byte of the first image: the tab refuses it (its sha256 is not the
    // one named).
    const file = "line-night-shift-0.png";
    const sha256 = createHash("sha256")
      .update(readFileSync(demoImagePath(file)))
      .digest("hex");
    const proxy = await startTamperingProxy(inject("serverUrl"), (path) =>
      path.startsWith(`/inputs/${sha256}`),
    );
    const behind = await startVehicleServer({ port: 0, serverUrl: proxy.url });
    try {
      const context = await browser.newContext();
      context.setDefaultTimeout(HANG_MS);
      contexts.push(context);
      const { page } = await openVehicle(context, `${behind.url}?backend=wasm&name=tab-d`);
      await waitView(page, "v.carId !== null && v.state === 'charging'");
      const inputs = [file, "line-night-shift-180.png", "line-low-tariff-180.png"].map((demo) => ({
        image: { demo },
      }));
      const { jobId } = await tenant.tenant.jobs.submit.mutate({
        modelId: "ppocr-cls",
        inputs,
        replication: 1,
      });
      const seen = await waitView(
        page,
        "v.tasks.some((t) => t.outcome === 'failed') && v.done >= 2",
      );
      const failed = seen.tasks.find((t) => t.outcome === "failed")!;
      expect(failed.detail).toMatch(/^bad-input: ModelIntegrityError: input: .*sha256/);
      expect(proxy.tampered).toContain(`/inputs/${sha256}`);

      // The tab is not trusted: its refusal fails nothing, and a car of another owner runs it.
      const car = headlessCar("agent-d");
      try {
        const job = await waitJob(jobId);
        expect(job).toMatchObject({ status: "completed", tasksValidated: 3, tasksFailed: 0 });
      } finally {
        await car.stop();
      }
      const first = (await results(jobId)).find((i) => i.seq === 0);
      expect(first).toMatchObject({ status: "valid", error: null });
      await context.close();
    } finally {
      await behind.close();
      await proxy.close();
    }
  });
});
