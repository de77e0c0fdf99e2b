// The browser's engines give the numbers onnxruntime-node gives, on the same inputs, within each
// model's tolerance: WASM (the plain build, threaded) and WebGPU (SwiftShader without a GPU).
import { outputsAgree } from "@nightshift/core/verify";
import { getManifest } from "@nightshift/models/registry";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { WireTensor } from "../src/protocol";
import { openBrowser, openVehicle, selfTest, toJson } from "./browser";
import { maxAbsDiff, modelFeeds, nativeRunner } from "./native";

let browser: Browser;
beforeAll(async () => {
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function native(modelId: string, feeds: Record<string, WireTensor>): Promise<WireTensor> {
  const runner = await nativeRunner(getManifest(modelId)!, 1);
  try {
    return await runner.run(feeds);
  } finally {
    await runner.release();
  }
}

/** Runs `count` inputs in the page and on onnxruntime-node; expects the same numbers. */
async function expectAgreement(
  page: Page,
  backend: "wasm" | "webgpu",
  modelId: string,
  count: number,
) {
  const m = getManifest(modelId)!;
  const feeds = modelFeeds(m, count);
  const expected = await native(modelId, feeds);
  const got = await selfTest(page, modelId, toJson(feeds));
  expect(got.backend).toBe(backend);
  expect(got.dims).toEqual(expected.dims);
  const agree = outputsAgree(got.data, expected.data, m.tolerance);
  expect(
    agree,
    `max |diff| ${maxAbsDiff(got.data, expected.data)} over ${got.data.length} values`,
  ).toBe(true);
  return { feeds, expected };
}

describe("WASM in Chromium agrees with onnxruntime-node", () => {
  let page: Page;
  beforeAll(async () => {
    const opened = await openVehicle(browser, `${inject("vehicleUrl")}?join=0&backend=wasm`);
    page = opened.page;
    // Threads need the page cross-origin isolated; without it the runtime would run on one.
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(opened.info.detail).toMatch(/^WASM SIMD, \d+ threads?$/);
  });
  afterAll(() => page?.close());

  it.each([
    ["tiny-mlp", 8],
    ["ppocr-cls", 3],
    ["ppocr-det", 1],
  ])("%s", async (modelId, count) => {
    await expectAgreement(page, "wasm", modelId, count);
  });
});

describe("WebGPU (SwiftShader) in Chromium agrees with onnxruntime-node", () => {
  let page: Page;
  beforeAll(async () => {
    const opened = await openVehicle(browser, `${inject("vehicleUrl")}?join=0&backend=webgpu`);
    page = opened.page;
    expect(opened.info.backend).toBe("webgpu");
  });
  afterAll(() => page?.close());

  it.each([
    ["tiny-mlp", 8],
    ["ppocr-cls", 1],
  ])("%s", async (modelId, count) => {
    await expectAgreement(page, "webgpu", modelId, count);
  });

  // Last: it takes the page's GPU away.
  it("falls back to WASM when the GPU device is lost, and gives the same numbers", async () => {
    const { feeds, expected } = await expectAgreement(page, "webgpu", "tiny-mlp", 4);
    await page.evaluate(() => window.nightshiftVehicle!.worker.loseGpu());
    const again = await selfTest(page, "tiny-mlp", toJson(feeds));
    expect(again.backend).toBe("wasm");
    expect(outputsAgree(again.data, expected.data, getManifest("tiny-mlp")!.tolerance)).toBe(true);
    const info = await page.evaluate(() => window.nightshiftVehicle!.worker.info);
    expect(info?.backend).toBe("wasm");
  });
});
