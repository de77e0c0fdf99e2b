// Prints onnxruntime-node's time per inference for every model, on one thread, and the memory
// a session adds. A benchmark, not a test: it prints figures and asserts nothing.
// Run: npx tsx src/measure.ts [runs]
import * as ort from "onnxruntime-node";
import { readFile } from "node:fs/promises";
import { DEMO_IMAGES, demoImagePath } from "./demo-images";
import { readModelFile } from "./files";
import { decodeImage } from "./image";
import { batch, imageToTensor } from "./preprocess";
import { MODELS } from "./registry";

const runs = Number(process.argv[2] ?? 50);
const page = DEMO_IMAGES.find((d) => d.kind === "page")!;
const image = decodeImage(new Uint8Array(await readFile(demoImagePath(page.file))));

for (const m of MODELS) {
  const rssBefore = process.memoryUsage().rss;
  const session = await ort.InferenceSession.create(await readModelFile(m), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const sizes = m.maxBatch > 1 ? [1, Math.min(m.maxBatch, 8)] : [1];
  for (const n of sizes) {
    let input;
    if (m.preprocess.kind === "image")
      input = batch(Array.from({ length: n }, () => imageToTensor(m, image)));
    else {
      const dims = m.inputs[0]!.dims.map((d) => (typeof d === "number" ? d : n));
      input = {
        dims,
        data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)),
      };
    }
    const feeds = { [m.inputs[0]!.name]: new ort.Tensor("float32", input.data, input.dims) };
    for (let i = 0; i < 3; i++) await session.run(feeds); // warm-up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await session.run(feeds);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1]!;
    console.log(
      `${m.id.padEnd(10)} [${input.dims.join("×")}] batch ${String(n).padStart(2)}: median ${median.toFixed(3)} ms per run, ` +
        `${(median / n).toFixed(3)} ms per input (min ${times[0]!.toFixed(3)}, ${runs} runs, 1 thread)`,
    );
  }
  const rssAfter = process.memoryUsage().rss;
  console.log(
    `${m.id.padEnd(10)} session + runs added ${((rssAfter - rssBefore) / 2 ** 20).toFixed(1)} MiB of resident memory`,
  );
  await session.release();
}
