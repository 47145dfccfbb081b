// LZ4 decompression of the "legacy" frame Linux's build writes for an lz4-compressed kernel (lz4 -l):
// a magic number, then blocks, each a 32-bit little-endian compressed size and an LZ4 block. The
// build appends the uncompressed size (4 bytes) after the last block.

export const LZ4_LEGACY_MAGIC = 0x184c2102;

export class Lz4Error extends Error {}

/** Decodes a legacy-frame stream into a buffer of `outputSize` bytes (the size Linux appends). */
export function decompressLz4Legacy(input: Uint8Array, outputSize: number): Uint8Array {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (input.length < 4 || view.getUint32(0, true) !== LZ4_LEGACY_MAGIC) throw new Lz4Error('not an LZ4 legacy frame');
  const output = new Uint8Array(outputSize);
  let at = 4;
  let written = 0;
  while (at + 4 <= input.length) {
    const blockSize = view.getUint32(at, true);
    if (blockSize === LZ4_LEGACY_MAGIC) {
      at += 4; // concatenated frames
      continue;
    }
    if (at + 4 + blockSize > input.length) {
      if (input.length - at === 4) break; // the appended uncompressed size
      throw new Lz4Error(`LZ4 block at ${at} runs past the end of the input`);
    }
    written = decodeBlock(input, at + 4, at + 4 + blockSize, output, written);
    at += 4 + blockSize;
  }
  if (written !== outputSize) throw new Lz4Error(`LZ4 stream decoded to ${written} bytes, expected ${outputSize}`);
  return output;
}

/** One LZ4 block: sequences of literals then a back-reference; the last sequence has only literals. */
export function decodeBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, out: number): number {
  let i = start;
  while (i < end) {
    const token = src[i++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        b = src[i++];
        literals += b;
      } while (b === 255);
    }
    if (out + literals > dst.length || i + literals > end) throw new Lz4Error('LZ4 literals overflow');
    dst.set(src.subarray(i, i + literals), out);
    i += literals;
    out += literals;
    if (i >= end) break; // last sequence
    const offset = src[i] | (src[i + 1] << 8);
    i += 2;
    if (offset === 0 || offset > out) throw new Lz4Error(`LZ4 match offset ${offset} is invalid at output ${out}`);
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        b = src[i++];
        length += b;
      } while (b === 255);
    }
    if (out + length > dst.length) throw new Lz4Error('LZ4 match overflows the output');
    let from = out - offset;
    if (offset >= length) {
      dst.copyWithin(out, from, from + length);
      out += length;
    } else {
      // Overlapping match: a repeating pattern, copied forward byte by byte.
      for (let k = 0; k < length; k++) dst[out++] = dst[from++];
    }
  }
  return out;
}
