// The compressed vmlinux inside a bzImage (payload_offset/payload_length, boot protocol 2.08+). The
// VMM can decompress it on the host and boot the vmlinux through its PVH note, instead of letting the
// bzImage's own decompressor run in the guest (slow where guest kernel code is emulated).
import { hex } from './memory-layout.js';
import { BzImageError, parseSetupHeader, type SetupHeader } from './setup-header.js';

export type PayloadCompression = 'gzip' | 'bzip2' | 'lzma' | 'xz' | 'lzo' | 'lz4' | 'zstd' | 'unknown';

/** Leading bytes of each format as Linux's build produces it (scripts/Makefile.lib). */
const MAGIC: ReadonlyArray<[PayloadCompression, readonly number[]]> = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]], // the legacy frame `lz4 -l` writes
  ['lz4', [0x04, 0x22, 0x4d, 0x18]], // the current frame format
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]], // "BZh"
  ['lzma', [0x5d, 0x00, 0x00]], // lzma-alone: properties byte 0x5D, then the dictionary size
];

export interface BzImagePayload {
  format: PayloadCompression;
  /** a view into the image */
  bytes: Uint8Array;
  /** file offset of the payload in the image */
  fileOffset: number;
  /**
   * The size of the decompressed vmlinux, from the payload's last four bytes: gzip's ISIZE, and for
   * the other formats the same little-endian 32-bit size Linux's build appends (size_append).
   */
  uncompressedSize: number;
}

export function detectCompression(bytes: Uint8Array): PayloadCompression {
  const match = MAGIC.find(([, magic]) => magic.length <= bytes.length && magic.every((b, i) => bytes[i] === b));
  return match === undefined ? 'unknown' : match[0];
}

/** The payload of a bzImage, or throws BzImageError when the header does not locate one. */
export function parseBzImagePayload(image: Uint8Array, header: SetupHeader = parseSetupHeader(image)): BzImagePayload {
  if (header.version < 0x0208) {
    throw new BzImageError(`bzImage boot protocol ${header.versionText} does not locate its payload (needs 2.08+)`);
  }
  const { payloadOffset, payloadLength, kernelSize } = header;
  if (payloadLength < 4) throw new BzImageError(`bzImage payload_length is ${payloadLength}: there is no payload`);
  if (payloadOffset + payloadLength > kernelSize) {
    throw new BzImageError(
      `bzImage payload [${hex(payloadOffset)}, ${hex(payloadOffset + payloadLength)}) runs past the ` +
        `protected-mode kernel (${hex(kernelSize)} bytes)`,
    );
  }
  const fileOffset = header.setupSize + payloadOffset;
  const bytes = image.subarray(fileOffset, fileOffset + payloadLength);
  const tail = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4);
  return { format: detectCompression(bytes), bytes, fileOffset, uncompressedSize: tail.getUint32(0, true) };
}
