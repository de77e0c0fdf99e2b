// Driving the vehicle page in Chromium: open a tab, wait for its engine, call its worker.
import { launchChromium } from "@nightshift/browser/chromium";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { RuntimeInfo } from "@nightshift/agent/runtime";
import { HANG_MS } from "@nightshift/testkit/waits";
import type { BenchResult, SelfTestResult, WireTensor } from "../src/protocol";

export async function openBrowser(): Promise<Browser> {
  return launchChromium({ webgpu: true });
}

/** A plain-array tensor: what page.evaluate can carry. */
export interface JsonTensor {
  dims: number[];
  data: number[];
}

export function toJson(feeds: Record<string, WireTensor>): Record<string, JsonTensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [k, { dims: t.dims, data: Array.from(t.data) }]),
  );
}

/** Opens the page and waits until its worker has an engine; rejects with the page's error. */
export async function openVehicle(
  browser: Browser | BrowserContext,
  url: string,
): Promise<{ page: Page; info: RuntimeInfo }> {
  const page = await browser.newPage();
  // Playwright's own waits are hang guards too: WebGPU on a software adapter is slow.
  page.setDefaultTimeout(HANG_MS);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  const info = await page
    .waitForFunction(() => window.nightshiftVehicle !== undefined, null, { timeout: HANG_MS })
    .then(() => page.evaluate(() => window.nightshiftVehicle!.ready));
  if (errors.length > 0) throw new Error(`the page failed: ${errors.join("; ")}`);
  return { page, info };
}

export async function selfTest(
  page: Page,
  modelId: string,
  feeds: Record<string, JsonTensor>,
): Promise<{ dims: number[]; data: number[]; backend: string; durationMs: number }> {
  return page.evaluate(
    async ({ modelId, feeds }) => {
      const wire = Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [
          k,
          { dims: t.dims, data: Float32Array.from(t.data) },
        ]),
      );
      const r: SelfTestResult = await window.nightshiftVehicle!.worker.selfTest(modelId, wire);
      return {
        dims: r.output.dims,
        data: Array.from(r.output.data),
        backend: r.backend,
        durationMs: r.durationMs,
      };
    },
    { modelId, feeds },
  );
}

export async function benchInPage(
  page: Page,
  modelId: string,
  feeds: Record<string, JsonTensor>,
  runs: { warmupRuns: number; minRuns: number; minDurationMs: number },
): Promise<BenchResult> {
  return page.evaluate(
    async ({ modelId, feeds, runs }) => {
      const wire = Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [
          k,
          { dims: t.dims, data: Float32Array.from(t.data) },
        ]),
      );
      return window.nightshiftVehicle!.worker.bench(modelId, wire, runs);
    },
    { modelId, feeds, runs },
  );
}
