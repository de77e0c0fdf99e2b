// A minimal protocol-buffers writer: just enough wire format to encode an ONNX ModelProto
// (varints, length-delimited fields, packed repeated varints). Fields are written in the order
// they are given, so the same calls always give the same bytes.

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

const encoder = new TextEncoder();

function varint(value: bigint): number[] {
  // Negative int64 values are written as their 64-bit two's complement, as protobuf does.
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** One message under construction; nested messages are written with `message`. */
export class ProtoWriter {
  private readonly parts: number[] = [];

  private tag(field: number, wire: number): void {
    this.parts.push(...varint(BigInt((field << 3) | wire)));
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.parts.push(...varint(BigInt(value)));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.parts.push(...varint(BigInt(value.length)));
    for (const byte of value) this.parts.push(byte);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
