import test from 'ava';
import { decodeBlock, decompressLz4Legacy, Lz4Error, LZ4_LEGACY_MAGIC } from '../../../src/boot/lz4.js';

/** A legacy frame around the given raw blocks, with the appended size as Linux's build writes it. */
function frame(blocks: number[][], size: number): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
  parts.push(...u32(LZ4_LEGACY_MAGIC));
  for (const block of blocks) parts.push(...u32(block.length), ...block);
  parts.push(...u32(size));
  return Uint8Array.from(parts);
}

test('a block of literals only', (t) => {
  const out = new Uint8Array(5);
  t.is(decodeBlock(Uint8Array.from([0x50, 104, 101, 108, 108, 111]), 0, 6, out, 0), 5);
  t.is(Buffer.from(out).toString(), 'hello');
});

test('a match that overlaps its own output repeats the pattern', (t) => {
  // literals "ab", then offset 2, match length 4 + 6 = 10 → "ababababababab"... then last literals "!"
  const block = [0x26, 97, 98, 2, 0, 0x10, 33];
  const out = new Uint8Array(13);
  t.is(decodeBlock(Uint8Array.from(block), 0, block.length, out, 0), 13);
  t.is(Buffer.from(out).toString(), 'abababababab!');
});

test('long literal and match lengths use extra length bytes', (t) => {
  // 20 literals: nibble 15 + extra 5; then offset 20, match 15 + 4 + 1 = 20 (nibble 15, extra 1); then 1 literal
  const literals = Array.from({ length: 20 }, (_, i) => 65 + i);
  const block = [0xff, 5, ...literals, 20, 0, 1, 0x10, 122];
  const out = new Uint8Array(41);
  t.is(decodeBlock(Uint8Array.from(block), 0, block.length, out, 0), 41);
  const text = Buffer.from(out).toString();
  t.is(text.slice(0, 20), text.slice(20, 40));
  t.is(text[40], 'z');
});

test('legacy frames: several blocks, the appended size, and errors', (t) => {
  const data = frame([[0x30, 102, 111, 111], [0x30, 98, 97, 114]], 6);
  t.is(Buffer.from(decompressLz4Legacy(data, 6)).toString(), 'foobar');
  t.throws(() => decompressLz4Legacy(data, 7), { instanceOf: Lz4Error, message: /decoded to 6 bytes, expected 7/ });
  t.throws(() => decompressLz4Legacy(Uint8Array.from([1, 2, 3, 4, 5]), 1), { instanceOf: Lz4Error, message: /not an LZ4 legacy frame/ });
  const badOffset = frame([[0x11, 97, 9, 0]], 6);
  t.throws(() => decompressLz4Legacy(badOffset, 6), { instanceOf: Lz4Error, message: /offset 9 is invalid/ });
});
