// The setup header of a bzImage (Linux x86 boot protocol, Documentation/arch/x86/boot.rst): read
// and checked here, copied into the zero page by zero-page.ts.
//
// A bzImage is (setup_sects + 1) * 512 bytes of real-mode setup code, whose first sector holds the
// header from 0x1F1, followed by syssize * 16 bytes of protected-mode kernel (the decompressor, with
// the compressed vmlinux inside it). Signed kernels may carry a signature after that; it is not loaded.
import { isBzImage } from './payload.js';
import { hex } from './memory-layout.js';

export class BzImageError extends Error {
  override name = 'BzImageError';
}

/**
 * Field offsets. The header sits at 0x1F1 both in the image and in struct boot_params, so each offset
 * is valid in either.
 */
export const SetupHeaderField = {
  SETUP_SECTS: 0x1f1, // u8; 0 means 4
  SYSSIZE: 0x1f4, // u32, 16-byte units (2.04+)
  VID_MODE: 0x1fa, // u16
  BOOT_FLAG: 0x1fe, // u16 0xAA55
  JUMP: 0x200, // 2 bytes: EB <offset of the end of the header - 0x202>
  HEADER: 0x202, // "HdrS"
  VERSION: 0x206, // u16, major.minor
  KERNEL_VERSION: 0x20e, // u16: offset - 0x200 of a NUL-terminated version string
  TYPE_OF_LOADER: 0x210, // u8
  LOADFLAGS: 0x211, // u8
  CODE32_START: 0x214, // u32
  RAMDISK_IMAGE: 0x218, // u32
  RAMDISK_SIZE: 0x21c, // u32
  HEAP_END_PTR: 0x224, // u16
  CMD_LINE_PTR: 0x228, // u32 (2.02+)
  INITRD_ADDR_MAX: 0x22c, // u32 (2.03+): highest address the initrd may occupy
  KERNEL_ALIGNMENT: 0x230, // u32 (2.05+)
  RELOCATABLE_KERNEL: 0x234, // u8 (2.05+)
  MIN_ALIGNMENT: 0x235, // u8 (2.10+), log2
  XLOADFLAGS: 0x236, // u16 (2.12+)
  CMDLINE_SIZE: 0x238, // u32 (2.06+): maximum command line length, NUL excluded
  PAYLOAD_OFFSET: 0x248, // u32 (2.08+), from the start of the protected-mode kernel
  PAYLOAD_LENGTH: 0x24c, // u32 (2.08+)
  SETUP_DATA: 0x250, // u64 (2.09+): linked list of struct setup_data
  PREF_ADDRESS: 0x258, // u64 (2.10+)
  INIT_SIZE: 0x260, // u32 (2.10+): bytes the kernel needs from its run address to decompress and start
  HANDOVER_OFFSET: 0x264, // u32 (2.11+)
  KERNEL_INFO_OFFSET: 0x268, // u32 (2.15+)
} as const;

/** Where the header starts, and where boot_params' room for it ends (edd_mbr_sig_buffer follows). */
export const SETUP_HEADER_START = SetupHeaderField.SETUP_SECTS;
export const SETUP_HEADER_ROOM_END = 0x290;
/** The header's end is 0x202 + the byte at 0x201 (the jump over it); boot.rst */
export const SETUP_HEADER_END_BASE = 0x202;

export const LoadFlag = {
  LOADED_HIGH: 1 << 0, // protected-mode code goes at 1 MiB (bzImage), not 0x10000 (zImage)
  KASLR: 1 << 1, // set by the kernel itself
  QUIET: 1 << 5,
  KEEP_SEGMENTS: 1 << 6, // obsolete
  CAN_USE_HEAP: 1 << 7, // heap_end_ptr is valid
} as const;

export const XLoadFlag = {
  KERNEL_64: 1 << 0, // a 64-bit entry point at load address + 0x200
  CAN_BE_LOADED_ABOVE_4G: 1 << 1,
  EFI_HANDOVER_32: 1 << 2,
  EFI_HANDOVER_64: 1 << 3,
  EFI_KEXEC: 1 << 4,
  FIVE_LEVEL: 1 << 5,
  FIVE_LEVEL_ENABLED: 1 << 6,
} as const;

/** Oldest boot protocol nodevmm loads: 2.06 (Linux 2.6.22) is the first with cmdline_size. */
export const MIN_BOOT_PROTOCOL = 0x0206;
const SECTOR_SIZE = 512;
const DEFAULT_SETUP_SECTS = 4;
const MAX_VERSION_STRING = 256;

export interface SetupHeader {
  /** as stored: 0x020f is protocol 2.15 */
  version: number;
  /** "2.15" */
  versionText: string;
  /** setup_sects, with 0 read as 4 */
  setupSects: number;
  /** file offset of the protected-mode kernel: (setup_sects + 1) * 512 */
  setupSize: number;
  /** bytes of protected-mode kernel to load: syssize * 16 */
  kernelSize: number;
  /** exclusive end of the header in the image (0x202 + byte at 0x201) */
  headerEnd: number;
  loadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  xloadflags: number;
  cmdlineSize: number;
  /** 0 before protocol 2.08 */
  payloadOffset: number;
  payloadLength: number;
  /** 0 before protocol 2.10 */
  prefAddress: number;
  /** 0 before protocol 2.10 */
  initSize: number;
  /** the string kernel_version points at, e.g. "6.1.0-18-cloud-amd64 (debian-kernel@…) #1 SMP …" */
  kernelVersion?: string;
}

/** Where each protocol version's header fields end: a shorter header is corrupt. */
const HEADER_END_BY_VERSION: ReadonlyArray<[version: number, end: number]> = [
  [0x020f, SetupHeaderField.KERNEL_INFO_OFFSET + 4],
  [0x020b, SetupHeaderField.HANDOVER_OFFSET + 4],
  [0x020a, SetupHeaderField.INIT_SIZE + 4],
  [0x0209, SetupHeaderField.SETUP_DATA + 8],
  [0x0208, SetupHeaderField.PAYLOAD_LENGTH + 4],
  [0x0206, SetupHeaderField.CMDLINE_SIZE + 4],
];

export function protocolText(version: number): string {
  return `${version >> 8}.${String(version & 0xff).padStart(2, '0')}`;
}

/** Reads and checks the setup header. Throws BzImageError saying what is wrong. */
export function parseSetupHeader(image: Uint8Array): SetupHeader {
  if (!isBzImage(image)) {
    throw new BzImageError('not a bzImage: no boot flag 0xAA55 at 0x1FE and "HdrS" at 0x202');
  }
  const f = SetupHeaderField;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < f.VERSION + 2) throw new BzImageError(`truncated bzImage: ${image.length} bytes`);
  const version = view.getUint16(f.VERSION, true);
  const versionText = protocolText(version);
  if (version < MIN_BOOT_PROTOCOL) {
    throw new BzImageError(
      `bzImage uses Linux boot protocol ${versionText}; nodevmm needs ${protocolText(MIN_BOOT_PROTOCOL)} or later (Linux 2.6.22+)`,
    );
  }
  const headerEnd = SETUP_HEADER_END_BASE + image[f.JUMP + 1];
  const required = HEADER_END_BY_VERSION.find(([v]) => version >= v)![1];
  if (headerEnd < required) {
    throw new BzImageError(
      `bzImage setup header ends at ${hex(headerEnd)}, but boot protocol ${versionText} defines fields up to ${hex(required)}`,
    );
  }
  if (image.length < headerEnd) {
    throw new BzImageError(`truncated bzImage: ${image.length} bytes, the setup header alone ends at ${hex(headerEnd)}`);
  }
  const u8 = (at: number) => view.getUint8(at);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const since = (v: number, read: () => number) => (version >= v ? read() : 0);

  const setupSects = u8(f.SETUP_SECTS) || DEFAULT_SETUP_SECTS;
  const setupSize = (setupSects + 1) * SECTOR_SIZE;
  const kernelSize = u32(f.SYSSIZE) * 16;
  if (kernelSize === 0) throw new BzImageError('bzImage has no protected-mode kernel (syssize is 0)');
  if (image.length < setupSize + kernelSize) {
    throw new BzImageError(
      `truncated bzImage: ${image.length} bytes, but ${setupSize} bytes of setup and ${kernelSize} bytes of ` +
        `protected-mode kernel (syssize) need ${setupSize + kernelSize}`,
    );
  }
  const prefAddress = since(0x020a, () => {
    const value = view.getBigUint64(f.PREF_ADDRESS, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new BzImageError(`bzImage pref_address ${hex(value)} is too large`);
    return Number(value);
  });
  const header: SetupHeader = {
    version,
    versionText,
    setupSects,
    setupSize,
    kernelSize,
    headerEnd,
    loadflags: u8(f.LOADFLAGS),
    code32Start: u32(f.CODE32_START),
    initrdAddrMax: u32(f.INITRD_ADDR_MAX),
    kernelAlignment: u32(f.KERNEL_ALIGNMENT),
    relocatable: u8(f.RELOCATABLE_KERNEL) !== 0,
    xloadflags: since(0x020c, () => u16(f.XLOADFLAGS)),
    cmdlineSize: u32(f.CMDLINE_SIZE),
    payloadOffset: since(0x0208, () => u32(f.PAYLOAD_OFFSET)),
    payloadLength: since(0x0208, () => u32(f.PAYLOAD_LENGTH)),
    prefAddress,
    initSize: since(0x020a, () => u32(f.INIT_SIZE)),
  };
  const kernelVersion = readKernelVersion(image, u16(f.KERNEL_VERSION), setupSize);
  return kernelVersion === undefined ? header : { ...header, kernelVersion };
}

/** kernel_version is an offset from 0x200 into the setup code; 0 or out of range means none. */
function readKernelVersion(image: Uint8Array, pointer: number, setupSize: number): string | undefined {
  if (pointer === 0) return undefined;
  const start = SetupHeaderField.JUMP + pointer;
  if (start >= setupSize) return undefined;
  const window = image.subarray(start, Math.min(setupSize, start + MAX_VERSION_STRING));
  const nul = window.indexOf(0);
  if (nul <= 0) return undefined;
  return new TextDecoder('latin1').decode(window.subarray(0, nul));
}

/** Throws unless the kernel can be entered the way nodevmm enters bzImages: 64-bit, loaded high. */
export function checkEntersIn64BitMode(header: SetupHeader): void {
  if ((header.xloadflags & XLoadFlag.KERNEL_64) === 0) {
    throw new BzImageError(
      `bzImage has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64, which 64-bit kernels set from boot ` +
        `protocol 2.12; this one is ${header.versionText}): nodevmm enters bzImages in 64-bit mode, so 32-bit ` +
        `kernels cannot be booted`,
    );
  }
  if ((header.loadflags & LoadFlag.LOADED_HIGH) === 0) {
    throw new BzImageError('kernel is a zImage (loadflags lacks LOADED_HIGH): nodevmm loads bzImages only');
  }
}
