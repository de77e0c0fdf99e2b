import { readFile, stat } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { buildTinyMlp } from "../src/build-tiny";
import { modelFilePath, ModelIntegrityError, readModelFile } from "../src/files";
import { ZModelManifest } from "../src/manifest";
import { readFields } from "../src/protobuf";
import { getManifest, MODELS } from "../src/registry";
import { sha256Hex } from "../src/sha256";
import { TINY_IN, TINY_OUT, tinyMlpReference } from "../src/tiny-mlp";

describe("registry", () => {
  it("every manifest parses and ids are unique", () => {
    for (const m of MODELS) expect(() => ZModelManifest.parse(m), m.id).not.toThrow();
    expect(new Set(MODELS.map((m) => m.id)).size).toBe(MODELS.length);
  });

  it("finds models by id", () => {
    expect(getManifest("ppocr-cls")?.file).toBe("ch_ppocr_mobile_v2.0_cls_infer.onnx");
    expect(getManifest("no-such-model")).toBeUndefined();
  });

  it.each(MODELS.map((m) => [m.id, m] as const))(
    "%s: file size and sha256 match the manifest",
    async (_, m) => {
      const path = modelFilePath(m);
      expect((await stat(path)).size).toBe(m.sizeBytes);
      expect(await sha256Hex(new Uint8Array(await readFile(path)))).toBe(m.sha256);
      expect((await readModelFile(m)).length).toBe(m.sizeBytes);
    },
  );

  it("readModelFile refuses a file whose sha256 differs", async () => {
    const m = { ...getManifest("tiny-mlp")!, sha256: "0".repeat(64) };
    const error = await readModelFile(m).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelIntegrityError);
    expect((error as ModelIntegrityError).expected).toBe("0".repeat(64));
    expect((error as ModelIntegrityError).actual).toBe(getManifest("tiny-mlp")!.sha256);
  });

  it("declares inputs and outputs as onnxruntime sees them", async () => {
    for (const m of MODELS) {
      const session = await ort.InferenceSession.create(modelFilePath(m));
      expect(session.inputNames, m.id).toEqual(m.inputs.map((t) => t.name));
      expect(session.outputNames, m.id).toEqual(m.outputs.map((t) => t.name));
      await session.release();
    }
  });
});

describe("sha256Hex", () => {
  it("matches the published test vector for 'abc'", async () => {
    expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});

describe("tiny-mlp", () => {
  it("rebuilds byte for byte into the committed file", async () => {
    const rebuilt = buildTinyMlp();
    expect(await sha256Hex(rebuilt)).toBe(getManifest("tiny-mlp")!.sha256);
  });

  it("onnxruntime computes relu(x·W1 + b1)·W2 + b2", async () => {
    const session = await ort.InferenceSession.create(modelFilePath(getManifest("tiny-mlp")!));
    const batch = 3;
    const x = Float32Array.from({ length: batch * TINY_IN }, (_, i) => Math.sin(i) * 2);
    const result = await session.run({ x: new ort.Tensor("float32", x, [batch, TINY_IN]) });
    const y = result["y"]!;
    expect(y.dims).toEqual([batch, TINY_OUT]);
    const expected = tinyMlpReference(x, batch);
    const got = y.data as Float32Array;
    // float32 accumulation against float64: a few ulps of values of order 1.
    expected.forEach((e, i) => expect(Math.abs(got[i]! - e), `y[${i}]`).toBeLessThan(1e-5));
    // Distinct outputs: a graph that ignored x or collapsed a layer could not pass by accident.
    expect(new Set(Array.from(got, (v) => v.toFixed(3))).size).toBe(batch * TINY_OUT);
    await session.release();
  });
});

describe("protobuf", () => {
  it("reads back the fields the writer wrote", () => {
    const model = readFields(buildTinyMlp());
    expect(model.map((f) => f.field)).toEqual([1, 2, 3, 7, 8]);
    const graph = model.find((f) => f.field === 7)!;
    if (graph.wire !== 2) throw new Error("graph is not length-delimited");
    const fields = readFields(graph.bytes).map((f) => f.field);
    // 5 nodes, a name, 4 initializers, an input, an output.
    expect(fields).toEqual([1, 1, 1, 1, 1, 2, 5, 5, 5, 5, 11, 12]);
  });
});

describe("browser-safe modules", () => {
  // Browsers and workers import these; a Node module among their imports would break the bundle.
  const BROWSER_SAFE = [
    "manifest",
    "registry",
    "sha256",
    "image",
    "preprocess",
    "postprocess",
    "tiny-mlp",
    "protobuf",
  ];
  const NODE_ONLY =
    /^node:|^(fs|path|url|module|crypto)$|\/(files|demo-images)$|onnxruntime-node|@napi-rs/;

  async function importsOf(name: string): Promise<string[]> {
    const source = await readFile(new URL(`../src/${name}.ts`, import.meta.url), "utf8");
    return [...source.matchAll(/^import [^;]* from "([^"]+)";$/gm)].map((m) => m[1]!);
  }

  it("the import scan sees a Node-only file's imports", async () => {
    expect((await importsOf("files")).filter((spec) => NODE_ONLY.test(spec))).toContain(
      "node:fs/promises",
    );
  });

  it.each(BROWSER_SAFE)("%s imports no Node module and no Node-only file", async (name) => {
    for (const spec of await importsOf(name))
      expect(spec, `${name}.ts imports ${spec}`).not.toMatch(NODE_ONLY);
  });
});
