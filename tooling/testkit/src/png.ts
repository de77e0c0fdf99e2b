// PNGs built byte by byte, for tests of what a decoder must refuse: image data of any length,
// however far that is from what the header's size needs. A bomb (a small file whose data
// inflates to hundreds of MiB) is deflated from zeros in a stream, so that the test never holds
// the inflated bytes itself.
import { constants, crc32, createDeflate } from "node:zlib";

export interface ZeroPngOptions {
  width: number;
  height: number;
  /** How many bytes the image data inflates to: all zeros (filter type 0, black, transparent). */
  inflatedBytes: number;
  /** Adam7 interlacing; plain rows when false. */
  interlaced?: boolean;
  /**
   * An embedded colour profile (iCCP) before the image data: one that inflates to so many zero
   * bytes, or "corrupt", compressed data that does not inflate at all.
   */
  profile?: number | "corrupt";
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** `total` zero bytes through zlib, a MiB at a time; run-length coding keeps it fast. */
async function deflateZeros(total: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9, strategy: constants.Z_RLE });
  const out: Buffer[] = [];
  deflate.on("data", (c: Buffer) => out.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    deflate.on("end", resolve);
    deflate.on("error", reject);
  });
  const zeros = Buffer.alloc(1 << 20);
  for (let left = total; left > 0; left -= zeros.length) {
    if (!deflate.write(zeros.subarray(0, Math.min(left, zeros.length))))
      await new Promise((resolve) => deflate.once("drain", resolve));
  }
  deflate.end();
  await ended;
  return Buffer.concat(out);
}

/** An 8-bit RGBA PNG whose one IDAT chunk inflates to `inflatedBytes` zero bytes. */
export async function zeroPng(options: ZeroPngOptions): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(options.width, 0);
  ihdr.writeUInt32BE(options.height, 4);
  // Bit depth 8, colour type 6 (RGBA), compression 0, filter 0, interlace 0 or 1 (Adam7).
  ihdr.set([8, 6, 0, 0, options.interlaced ? 1 : 0], 8);
  const profile =
    options.profile === undefined
      ? []
      : [
          chunk(
            "iCCP",
            Buffer.concat([
              // Name, its NUL, compression method 0 (zlib).
              Buffer.from("test\0\0", "latin1"),
              // A zlib header, then a DEFLATE block of the reserved type 3: an error at once.
              options.profile === "corrupt"
                ? Buffer.from("78daffffffffffffffff", "hex")
                : await deflateZeros(options.profile),
            ]),
          ),
        ];
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", ihdr),
    ...profile,
    chunk("IDAT", await deflateZeros(options.inflatedBytes)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
