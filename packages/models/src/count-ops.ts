// Estimates a model's operations per inference, for teraOpsPerInference in the registry: the
// multiply-adds of every Conv, ConvTranspose, MatMul and Gemm, counted as 2 operations each.
// Element-wise operations (activations, additions, normalization) are left out; they are a few
// percent of a convolutional network's work. Shapes come from onnxruntime itself: the script
// appends every such node's input and output as extra graph outputs (protobuf merges a repeated
// message field), runs the model once on zeros at the manifest's reference input size (the
// detector's input follows the image: 320 × 320, its referencePixels) and reads their dims.
// Run: npx tsx src/count-ops.ts
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { modelFilePath } from "./files";
import { referenceInputDims } from "./preprocess";
import { MODELS } from "./registry";
import { ProtoWriter, readFields, readPackedVarints, type ProtoField } from "./protobuf";

const decoder = new TextDecoder();
const bytesOf = (f: ProtoField): Uint8Array => (f.wire === 2 ? f.bytes : new Uint8Array());
const str = (f: ProtoField): string => decoder.decode(bytesOf(f));

interface GraphNode {
  op: string;
  inputs: string[];
  outputs: string[];
}

/** TensorProto dims (field 1), written packed or one varint each. */
function tensorDims(tensor: Uint8Array): number[] {
  const dims: number[] = [];
  for (const d of readFields(tensor).filter((f) => f.field === 1)) {
    if (d.wire === 0) dims.push(Number(d.value));
    else dims.push(...readPackedVarints(d.bytes).map(Number));
  }
  return dims;
}

/** Nodes, and the dims of every weight: initializers, or Constant nodes as Paddle2ONNX writes them. */
function parseGraph(model: Uint8Array): { nodes: GraphNode[]; weights: Map<string, number[]> } {
  const graph = readFields(model).find((f) => f.field === 7)!;
  const nodes: GraphNode[] = [];
  const weights = new Map<string, number[]>();
  for (const f of readFields(bytesOf(graph))) {
    if (f.field === 1) {
      const node: GraphNode = { op: "", inputs: [], outputs: [] };
      let value: number[] | undefined;
      for (const n of readFields(bytesOf(f))) {
        if (n.field === 1) node.inputs.push(str(n));
        if (n.field === 2) node.outputs.push(str(n));
        if (n.field === 4) node.op = str(n);
        if (n.field === 5) {
          // AttributeProto: name = 1, t = 5 (a tensor), i = 3.
          const attr = readFields(bytesOf(n));
          const name = attr.find((a) => a.field === 1);
          const t = attr.find((a) => a.field === 5);
          if (name && str(name) === "value" && t) value = tensorDims(bytesOf(t));
        }
      }
      if (node.op === "Constant" && value) weights.set(node.outputs[0]!, value);
      nodes.push(node);
    }
    if (f.field === 5) {
      const name = readFields(bytesOf(f)).find((a) => a.field === 8);
      if (name) weights.set(str(name), tensorDims(bytesOf(f)));
    }
  }
  return { nodes, weights };
}

const COUNTED = new Set(["Conv", "ConvTranspose", "MatMul", "Gemm"]);
const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

async function countOps(
  file: string,
  inputDims: number[],
): Promise<{ ops: number; byOp: Record<string, number> }> {
  const model = new Uint8Array(readFileSync(file));
  const { nodes, weights } = parseGraph(model);
  const counted = nodes.filter((n) => COUNTED.has(n.op));
  const probe = new Set(counted.flatMap((n) => [n.inputs[0]!, n.outputs[0]!]));
  const extra = new ProtoWriter().message(7, (g) => {
    for (const name of probe)
      g.message(12, (v) => v.string(1, name).message(2, (t) => t.message(1, (tt) => tt.int(1, 1))));
  });
  const probed = new Uint8Array(model.length + extra.finish().length);
  probed.set(model);
  probed.set(extra.finish(), model.length);
  const session = await ort.InferenceSession.create(probed);
  const input = new ort.Tensor("float32", new Float32Array(product(inputDims)), inputDims);
  const result = await session.run({ [session.inputNames[0]!]: input }, [...probe]);
  const shape = (name: string): readonly number[] => result[name]!.dims;
  const byOp: Record<string, number> = {};
  let ops = 0;
  for (const n of counted) {
    const w = weights.get(n.inputs[1]!);
    const out = shape(n.outputs[0]!);
    let macs = 0;
    if (n.op === "Conv" && w)
      macs = product(out) * product(w.slice(1)); // out · (Cin/g · kh · kw)
    else if (n.op === "ConvTranspose" && w)
      macs = product(shape(n.inputs[0]!)) * product(w.slice(1)); // in · (Cout/g · kh · kw)
    else if ((n.op === "MatMul" || n.op === "Gemm") && w) macs = product(out) * w[0]!;
    else if (n.op === "MatMul") macs = product(out) * shape(n.inputs[0]!).at(-1)!;
    else throw new Error(`${file}: ${n.op} ${n.outputs[0]} has no weight of known shape`);
    byOp[n.op] = (byOp[n.op] ?? 0) + 2 * macs;
    ops += 2 * macs;
  }
  await session.release();
  return { ops, byOp };
}

for (const m of MODELS) {
  const dims = referenceInputDims(m);
  const { ops, byOp } = await countOps(modelFilePath(m), dims);
  const parts = Object.entries(byOp)
    .map(([op, n]) => `${op} ${n.toExponential(3)}`)
    .join(", ");
  console.log(
    `${m.id} [${dims.join("×")}]: ${(ops / 1e12).toExponential(3)} tera-ops (${parts}); the manifest says ${m.teraOpsPerInference.toExponential(3)}`,
  );
}
