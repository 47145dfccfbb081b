// What kind of kernel image --kernel points at. nodevmm boots PVH ELF kernels (an ELF with Xen's
// XEN_ELFNOTE_PHYS32_ENTRY note) and bzImages (Linux boot protocol); anything else is refused here
// with a message that says what was expected.
import { ElfError, findPvhEntry, hasElfMagic, parseElf } from './elf.js';
import { NO_PVH_NOTE_MESSAGE } from './pvh.js';

export type PayloadKind = 'pvh-elf' | 'bzimage';

/** Linux boot protocol: boot_flag 0xAA55 at 0x1FE and the "HdrS" header signature at 0x202. */
export const BZIMAGE_BOOT_FLAG_OFFSET = 0x1fe;
export const BZIMAGE_BOOT_FLAG = 0xaa55;
export const BZIMAGE_HEADER_MAGIC_OFFSET = 0x202;
export const BZIMAGE_HEADER_MAGIC = 'HdrS';

export function isBzImage(bytes: Uint8Array): boolean {
  const at = BZIMAGE_HEADER_MAGIC_OFFSET;
  if (bytes.length < at + BZIMAGE_HEADER_MAGIC.length) return false;
  const flag = bytes[BZIMAGE_BOOT_FLAG_OFFSET] | (bytes[BZIMAGE_BOOT_FLAG_OFFSET + 1] << 8);
  const magic = String.fromCharCode(...bytes.subarray(at, at + BZIMAGE_HEADER_MAGIC.length));
  return flag === BZIMAGE_BOOT_FLAG && magic === BZIMAGE_HEADER_MAGIC;
}

/** Recognises a kernel image, or throws an Error naming what is wrong with it. */
export function detectPayload(bytes: Uint8Array): PayloadKind {
  if (bytes.length === 0) throw new Error('kernel image is empty');
  if (hasElfMagic(bytes)) {
    let entry: number | undefined;
    try {
      entry = findPvhEntry(parseElf(bytes));
    } catch (error) {
      if (error instanceof ElfError) throw new Error(`ELF kernel is malformed: ${error.message}`, { cause: error });
      throw error;
    }
    if (entry === undefined) throw new Error(NO_PVH_NOTE_MESSAGE);
    return 'pvh-elf';
  }
  if (isBzImage(bytes)) return 'bzimage';
  throw new Error('kernel image is not a PVH ELF or a bzImage');
}
