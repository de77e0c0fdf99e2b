// The browser's engines give the numbers onnxruntime-node gives, on the same inputs, within each
// model's tolerance: WASM (the plain build, threaded) and WebGPU (SwiftShader without a GPU).
import { outputsAgree } from "@nightshift/core/verify";
import { getManifest } from "@nightshift/models/registry";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openBrowser, openVehicle, selfTest, toJson } from "./browser";
import { maxAbsDiff, modelFeeds, nativeRunner } from "./native";

let browser: Browser;
beforeAll(async () => {
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function expectAgreement(backend: "wasm" | "webgpu", modelId: string, count: number) {
  const m = getManifest(modelId)!;
  const feeds = modelFeeds(m, count);
  const native = await nativeRunner(m, 1);
  const expected = await native.run(feeds);
  await native.release();

  const { page, info } = await openVehicle(browser, `${inject("vehicleUrl")}?join=0&backend=${backend}`);
  try {
    expect(info.backend).toBe(backend);
    const got = await selfTest(page, modelId, toJson(feeds));
    expect(got.backend).toBe(backend);
    expect(got.dims).toEqual(expected.dims);
    const agree = outputsAgree(got.data, expected.data, m.tolerance);
    expect(agree, `max |diff| ${maxAbsDiff(got.data, expected.data)} over ${got.data.length} values`).toBe(true);
    return { page, feeds, expected };
  } catch (error) {
    await page.close();
    throw error;
  }
}

describe("WASM in Chromium agrees with onnxruntime-node", () => {
  it("reports cross-origin isolated WASM threads", async () => {
    const { page, info } = await openVehicle(browser, `${inject("vehicleUrl")}?join=0&backend=wasm`);
    const isolated = await page.evaluate(() => crossOriginIsolated);
    await page.close();
    expect(isolated).toBe(true);
    expect(info.detail).toMatch(/^WASM SIMD, \d+ threads?$/);
  });

  it.each([
    ["tiny-mlp", 8],
    ["ppocr-cls", 3],
    ["ppocr-det", 1],
  ])("%s", async (modelId, count) => {
    const { page } = await expectAgreement("wasm", modelId, count);
    await page.close();
  });
});

describe("WebGPU (SwiftShader) in Chromium agrees with onnxruntime-node", () => {
  it.each([
    ["tiny-mlp", 8],
    ["ppocr-cls", 1],
  ])("%s", async (modelId, count) => {
    const { page } = await expectAgreement("webgpu", modelId, count);
    await page.close();
  });

  it("falls back to WASM when the GPU device is lost, and gives the same numbers", async () => {
    const { page, feeds, expected } = await expectAgreement("webgpu", "tiny-mlp", 4);
    try {
      await page.evaluate(() => window.nightshiftVehicle!.worker.loseGpu());
      const again = await selfTest(page, "tiny-mlp", toJson(feeds));
      expect(again.backend).toBe("wasm");
      expect(outputsAgree(again.data, expected.data, getManifest("tiny-mlp")!.tolerance)).toBe(true);
      const info = await page.evaluate(() => window.nightshiftVehicle!.worker.info);
      expect(info?.backend).toBe("wasm");
    } finally {
      await page.close();
    }
  });
});
