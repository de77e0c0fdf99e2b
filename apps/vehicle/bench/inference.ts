// Inference benchmark: for each shipped model, inferences per second in Chromium on WASM (the
// plain WASM build, threads on, cross-origin isolated, in the page's worker) and in
// onnxruntime-node with the same thread count, on the same inputs, in the same run. Prints a
// table and writes bench-results/inference.json as [{ name, value, unit }].
//
//   npm run bench -w @nightshift/vehicle              # WASM vs native
//   npx tsx bench/inference.ts --webgpu               # and WebGPU (on a machine with a GPU)
//   npx tsx bench/inference.ts --seconds 5 --threads 4 --models tiny-mlp,ppocr-cls
//   npx tsx bench/inference.ts --webgpu --chromium-arg=--enable-features=Vulkan   (Chromium flags)
//
// Each figure runs the model at the largest batch the work loop stacks for its inputs
// (maxBatchFor: the manifest's maxBatch, fewer for large images), after warm-up runs; batch-1
// figures are kept beside them.
import { createReadStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { launchChromium } from "@nightshift/browser/chromium";
import { modelFilePath } from "@nightshift/models/files";
import type { ModelManifest } from "@nightshift/models/manifest";
import { maxBatchFor } from "@nightshift/models/preprocess";
import { MODELS } from "@nightshift/models/registry";
import type { Page } from "playwright-core";
import { buildVehicle } from "../src/build";
import { startVehicleServer } from "../src/serve";
import { benchInPage, openVehicle, toJson } from "../test/browser";
import { modelFeeds, nativeRunner } from "../test/native";

interface Figure {
  name: string;
  value: number;
  unit: string;
}

/**
 * The detector at the size it works at: A4 documents (1240 × 1754) at PaddleOCR's 960-pixel
 * limit, 1 × 3 × 960 × 672. The tests' own feeds use the small demo pages.
 */
const BENCH_FILES: Record<string, readonly string[]> = {
  "ppocr-det": ["document-1.png", "document-2.png"],
};

const RESULTS_DIR = fileURLToPath(new URL("../../../bench-results/", import.meta.url));

const { values } = parseArgs({
  options: {
    webgpu: { type: "boolean", default: false },
    seconds: { type: "string", default: "3" },
    threads: { type: "string" },
    /** Comma-separated model ids; every shipped model by default. */
    models: { type: "string" },
    "chromium-arg": { type: "string", multiple: true, default: [] },
  },
});
/** WASM threads and onnxruntime-node intra-op threads: the same, at most 4 (the runtime's cap). */
const THREADS = Number(values.threads ?? Math.min(os.availableParallelism(), 4));
const MIN_MS = Number(values.seconds) * 1000;
const SELECTED = values.models
  ? values.models.split(",").map((id) => {
      const m = MODELS.find((x) => x.id === id.trim());
      if (!m)
        throw new Error(
          `--models: no model ${JSON.stringify(id)} (there are ${MODELS.map((x) => x.id).join(", ")})`,
        );
      return m;
    })
  : MODELS;
const WARMUP_RUNS = 3;
const MIN_RUNS = 5;

/** The model files at /models/<id>/<sha256>, as the Nightshift server serves them. */
async function startModelServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const [, prefix, id, sha] = (req.url ?? "").split("/");
    const m = MODELS.find((x) => x.id === id && x.sha256 === sha);
    if (prefix !== "models" || !m) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": m.sizeBytes,
    });
    createReadStream(modelFilePath(m)).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function nativePerSecond(m: ModelManifest, batch: number): Promise<number> {
  const feeds = modelFeeds(m, batch, BENCH_FILES[m.id]);
  const runner = await nativeRunner(m, THREADS);
  for (let i = 0; i < WARMUP_RUNS; i++) await runner.run(feeds);
  const started = performance.now();
  let runs = 0;
  while (runs < MIN_RUNS || performance.now() - started < MIN_MS) {
    await runner.run(feeds);
    runs++;
  }
  const elapsedMs = performance.now() - started;
  await runner.release();
  return (runs * batch * 1000) / elapsedMs;
}

async function browserPerSecond(
  page: Page,
  m: ModelManifest,
  batch: number,
  expect: string,
): Promise<number> {
  const r = await benchInPage(page, m.id, toJson(modelFeeds(m, batch, BENCH_FILES[m.id])), {
    warmupRuns: WARMUP_RUNS,
    minRuns: MIN_RUNS,
    minDurationMs: MIN_MS,
  });
  if (r.backend !== expect) throw new Error(`${m.id}: ran on ${r.backend}, expected ${expect}`);
  return (r.runs * batch * 1000) / r.elapsedMs;
}

const round = (x: number) => (x >= 100 ? Math.round(x) : Math.round(x * 100) / 100);

async function main(): Promise<void> {
  await buildVehicle();
  const models = await startModelServer();
  const vehicle = await startVehicleServer({ port: 0, serverUrl: models.url });
  const browser = await launchChromium({ webgpu: values.webgpu, args: values["chromium-arg"] });
  const figures: Figure[] = [];
  const rows: string[][] = [];
  try {
    const wasm = await openVehicle(
      browser,
      `${vehicle.url}?join=0&backend=wasm&threads=${THREADS}`,
    );
    const isolated = await wasm.page.evaluate(() => crossOriginIsolated);
    console.log(
      `Chromium ${browser.version()}, Node ${process.version}, ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? "?"}); ` +
        `WASM: ${wasm.info.detail}${isolated ? ", cross-origin isolated" : ", NOT isolated"}; native: onnxruntime-node, ${THREADS} threads`,
    );
    const gpu = values.webgpu
      ? await openVehicle(browser, `${vehicle.url}?join=0&backend=webgpu`)
      : undefined;
    if (gpu) console.log(gpu.info.detail);

    for (const m of SELECTED) {
      // The largest run the work loop stacks for these inputs (fewer large images stack).
      const largest = maxBatchFor(m, Object.values(modelFeeds(m, 1, BENCH_FILES[m.id]))[0]!.dims);
      for (const batch of [...new Set([largest, 1])]) {
        const native = await nativePerSecond(m, batch);
        const web = await browserPerSecond(wasm.page, m, batch, "wasm");
        const webgpu = gpu ? await browserPerSecond(gpu.page, m, batch, "webgpu") : undefined;
        const key = batch === largest ? `inference.${m.id}` : `inference.${m.id}.batch${batch}`;
        figures.push(
          { name: `${key}.wasm.perSecond`, value: round(web), unit: "inferences/s" },
          { name: `${key}.native.perSecond`, value: round(native), unit: "inferences/s" },
          {
            name: `${key}.wasmVsNative.ratio`,
            value: Math.round((web / native) * 1000) / 1000,
            unit: "ratio",
          },
        );
        if (webgpu !== undefined) {
          figures.push({
            name: `${key}.webgpu.perSecond`,
            value: round(webgpu),
            unit: "inferences/s",
          });
        }
        rows.push([
          m.id,
          String(batch),
          round(web).toString(),
          round(native).toString(),
          (web / native).toFixed(3),
          webgpu === undefined ? "" : round(webgpu).toString(),
        ]);
      }
    }
  } finally {
    await browser.close();
    await vehicle.close();
    await models.close();
  }

  const header = [
    "model",
    "batch",
    "wasm/s",
    "native/s",
    "wasm÷native",
    values.webgpu ? "webgpu/s" : "",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  for (const row of rows) console.log(line(row));

  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(`${RESULTS_DIR}inference.json`, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`wrote bench-results/inference.json (${figures.length} figures)`);
}

await main();
