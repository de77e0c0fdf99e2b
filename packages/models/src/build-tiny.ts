// Writes assets/tiny-mlp.onnx: x float32 [batch, 16] → MatMul + Add + Relu → MatMul + Add →
// y float32 [batch, 4], with the fixed weights of tiny-mlp.ts. The ONNX ModelProto is encoded
// field by field (field numbers from onnx/onnx.proto), so the same code gives the same bytes.
// Run: npx tsx src/build-tiny.ts
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ProtoWriter } from "./protobuf";
import { TINY_HIDDEN, TINY_IN, TINY_OUT, TINY_WEIGHTS } from "./tiny-mlp";

/** ONNX TensorProto.DataType.FLOAT. */
const ONNX_FLOAT = 1;
/** IR version 8 with opset 13: every onnxruntime since 1.10 and onnxruntime-web load it. */
const IR_VERSION = 8;
const OPSET = 13;

type Dim = number | string;

function initializer(w: ProtoWriter, name: string, dims: number[], values: Float32Array): void {
  // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian float32).
  w.message(5, (t) => {
    for (const d of dims) t.int(1, d);
    t.int(2, ONNX_FLOAT);
    t.string(8, name);
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    t.bytes(9, raw);
  });
}

function valueInfo(w: ProtoWriter, field: number, name: string, dims: Dim[]): void {
  // ValueInfoProto: name = 1, type = 2 → TypeProto.tensor_type = 1 → elem_type = 1, shape = 2
  // → TensorShapeProto.dim = 1 → dim_value = 1 | dim_param = 2.
  w.message(field, (v) => {
    v.string(1, name);
    v.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, ONNX_FLOAT);
        tensor.message(2, (shape) => {
          for (const d of dims) {
            shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
          }
        });
      }),
    );
  });
}

function node(w: ProtoWriter, op: string, inputs: string[], output: string): void {
  // NodeProto: input = 1, output = 2, name = 3, op_type = 4.
  w.message(1, (n) => {
    for (const i of inputs) n.string(1, i);
    n.string(2, output);
    n.string(3, output);
    n.string(4, op);
  });
}

export function buildTinyMlp(): Uint8Array {
  const model = new ProtoWriter();
  // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7, opset_import = 8.
  model.int(1, IR_VERSION);
  model.string(2, "nightshift");
  model.string(3, "1");
  model.message(7, (g) => {
    // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
    node(g, "MatMul", ["x", "w1"], "xw1");
    node(g, "Add", ["xw1", "b1"], "h_pre");
    node(g, "Relu", ["h_pre"], "h");
    node(g, "MatMul", ["h", "w2"], "hw2");
    node(g, "Add", ["hw2", "b2"], "y");
    g.string(2, "tiny-mlp");
    initializer(g, "w1", [TINY_IN, TINY_HIDDEN], TINY_WEIGHTS.w1);
    initializer(g, "b1", [TINY_HIDDEN], TINY_WEIGHTS.b1);
    initializer(g, "w2", [TINY_HIDDEN, TINY_OUT], TINY_WEIGHTS.w2);
    initializer(g, "b2", [TINY_OUT], TINY_WEIGHTS.b2);
    valueInfo(g, 11, "x", ["batch", TINY_IN]);
    valueInfo(g, 12, "y", ["batch", TINY_OUT]);
  });
  // OperatorSetIdProto: domain = 1 (empty: the default ONNX domain), version = 2.
  model.message(8, (o) => o.int(2, OPSET));
  return model.finish();
}

export const TINY_MLP_ASSET = fileURLToPath(new URL("../assets/tiny-mlp.onnx", import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = buildTinyMlp();
  await writeFile(TINY_MLP_ASSET, bytes);
  console.log(`wrote ${TINY_MLP_ASSET} (${bytes.length} bytes)`);
}
