// The vmlinux inside a bzImage, decompressed on the host: booting it through its PVH note skips the
// bzImage's own decompressor, which is slow wherever guest kernel code is emulated.
import { gunzipSync } from 'node:zlib';
import { parseBzImagePayload } from './bzimage-payload.js';
import { decompressLz4Legacy } from './lz4.js';
import { findPvhEntry, parseElf } from './elf.js';

export type VmlinuxExtraction =
  | { ok: true; vmlinux: Uint8Array; format: string; compressedBytes: number }
  | { ok: false; reason: string };

export function extractVmlinux(bzImage: Uint8Array): VmlinuxExtraction {
  let payload;
  try {
    payload = parseBzImagePayload(bzImage);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  let vmlinux: Uint8Array;
  try {
    switch (payload.format) {
      case 'gzip':
        vmlinux = new Uint8Array(gunzipSync(payload.bytes));
        break;
      case 'lz4':
        vmlinux = decompressLz4Legacy(payload.bytes, payload.uncompressedSize);
        break;
      default:
        return { ok: false, reason: `the payload is ${payload.format}-compressed; nodevmm decompresses gzip and lz4` };
    }
  } catch (error) {
    return { ok: false, reason: `decompressing the ${payload.format} payload failed: ${(error as Error).message}` };
  }
  try {
    if (findPvhEntry(parseElf(vmlinux)) === undefined) return { ok: false, reason: 'the vmlinux has no PVH entry note' };
  } catch (error) {
    return { ok: false, reason: `the payload is not an ELF vmlinux: ${(error as Error).message}` };
  }
  return { ok: true, vmlinux, format: payload.format, compressedBytes: payload.bytes.length };
}
