// Node only: runs the OCR models for reference/paddleocr_reference.py, which has no onnxruntime
// of its own (Debian does not package it). It reads requests from stdin and answers on stdout,
// each message a 4-byte big-endian length, that many bytes of JSON, then the tensor's float32
// values (little-endian, as many as the JSON's dims say). Request: {"model": id, "dims": [...]};
// answer: {"dims": [...]} of the model's first output. One thread, so results do not depend on
// how work is split between cores.
// Run by the Python script: npx tsx src/reference-onnx-runner.ts
import * as ort from "onnxruntime-node";
import { modelFilePath } from "./files";
import { getManifest } from "./registry";

const sessions = new Map<string, ort.InferenceSession>();

async function session(id: string): Promise<ort.InferenceSession> {
  const known = sessions.get(id);
  if (known) return known;
  const m = getManifest(id);
  if (!m) throw new Error(`reference runner: no model ${JSON.stringify(id)}`);
  const created = await ort.InferenceSession.create(modelFilePath(m), { intraOpNumThreads: 1 });
  sessions.set(id, created);
  return created;
}

/** Reads exactly n bytes from stdin, or null at its end. */
function reader(): (n: number) => Promise<Buffer | null> {
  let buffered = Buffer.alloc(0);
  let ended = false;
  let wake: (() => void) | undefined;
  process.stdin.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    wake?.();
  });
  process.stdin.on("end", () => {
    ended = true;
    wake?.();
  });
  return async (n) => {
    while (buffered.length < n) {
      if (ended) return null;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
}

function frame(header: object, values: Float32Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([
    length,
    json,
    Buffer.from(values.buffer, values.byteOffset, values.byteLength),
  ]);
}

const read = reader();
for (;;) {
  const length = await read(4);
  if (!length) break;
  const header = JSON.parse((await read(length.readUInt32BE()))!.toString("utf8")) as {
    model: string;
    dims: number[];
  };
  const count = header.dims.reduce((a, b) => a * b, 1);
  const bytes = (await read(count * 4))!;
  const values = new Float32Array(count);
  Buffer.from(values.buffer).set(bytes);
  const m = getManifest(header.model)!;
  const s = await session(header.model);
  const result = await s.run({
    [m.inputs[0]!.name]: new ort.Tensor("float32", values, header.dims),
  });
  const output = result[m.outputs[0]!.name]!;
  process.stdout.write(frame({ dims: output.dims }, output.data as Float32Array));
}
for (const s of sessions.values()) await s.release();
