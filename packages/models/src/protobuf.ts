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

/** One field as read: a varint's value, or a length-delimited field's bytes. */
export type ProtoField =
  { field: number; wire: 0; value: bigint } | { field: number; wire: 2; bytes: Uint8Array };

/** A packed repeated varint field's values. */
export function readPackedVarints(bytes: Uint8Array): bigint[] {
  const values: bigint[] = [];
  let value = 0n;
  let shift = 0n;
  for (const byte of bytes) {
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if (byte < 0x80) {
      values.push(value);
      value = 0n;
      shift = 0n;
    }
  }
  return values;
}

/** The top-level fields of one message, in order (fixed 32/64-bit fields are skipped). */
export function readFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let offset = 0;
  const readVarint = (): bigint => {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      if (offset >= bytes.length)
        throw new Error(`protobuf: varint runs past the end at byte ${offset}`);
      const byte = bytes[offset++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
      shift += 7n;
    }
  };
  while (offset < bytes.length) {
    const key = Number(readVarint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === WIRE_VARINT) fields.push({ field, wire, value: readVarint() });
    else if (wire === WIRE_LEN) {
      const length = Number(readVarint());
      if (offset + length > bytes.length)
        throw new Error(`protobuf: field ${field} runs past the end`);
      fields.push({ field, wire, bytes: bytes.subarray(offset, offset + length) });
      offset += length;
    } else if (wire === 1) offset += 8;
    else if (wire === 5) offset += 4;
    else throw new Error(`protobuf: wire type ${wire} at byte ${offset} is not supported`);
  }
  return fields;
}
