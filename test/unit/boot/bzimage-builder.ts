// Builds small synthetic bzImages for the loader tests: real-mode setup sectors holding a setup header
// with known values, then a protected-mode kernel with a recognisable entry and a payload inside it.

export interface BzImageSpec {
  /** stored setup_sects; 0 means 4 to the loader */
  setupSects?: number;
  version?: number;
  /** exclusive end of the header, stored as the jump byte at 0x201 (0x202 + byte) */
  headerEnd?: number;
  loadflags?: number;
  xloadflags?: number;
  relocatable?: boolean;
  kernelAlignment?: number;
  prefAddress?: number;
  initSize?: number;
  initrdAddrMax?: number;
  cmdlineSize?: number;
  payload?: Uint8Array;
  kernelVersion?: string;
  /** bytes appended after the kernel, as a signature would be */
  trailer?: Uint8Array;
}

/** A gzip member header then filler; the last 4 bytes say 0x00123456 (the "decompressed size"). */
export const GZIP_PAYLOAD = Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x56, 0x34, 0x12, 0x00);
export const PAYLOAD_OFFSET = 0x400;
/** hlt at the 32-bit entry, cli; hlt at the 64-bit entry (offset 0x200) */
export const ENTRY32_BYTES = Uint8Array.of(0xf4);
export const ENTRY64_BYTES = Uint8Array.of(0xfa, 0xf4);
/** where the builder puts the kernel version string, inside the setup sectors */
export const KERNEL_VERSION_AT = 0x300;
/** a byte the builder fills the rest of the setup code with, to show what is and is not copied */
export const SETUP_FILL = 0xcc;

export function buildBzImage(spec: BzImageSpec = {}): Uint8Array {
  const setupSects = spec.setupSects ?? 4;
  const setupSize = ((setupSects || 4) + 1) * 512;
  const payload = spec.payload ?? GZIP_PAYLOAD;
  const kernelSize = Math.ceil((PAYLOAD_OFFSET + payload.length) / 16) * 16;
  const trailer = spec.trailer ?? new Uint8Array(0);
  const bytes = new Uint8Array(setupSize + kernelSize + trailer.length);
  const view = new DataView(bytes.buffer);
  bytes.fill(SETUP_FILL, 0, setupSize);
  const headerEnd = spec.headerEnd ?? 0x26c;
  bytes.fill(0, 0x1f1, headerEnd);

  view.setUint8(0x1f1, setupSects);
  view.setUint16(0x1f2, 1, true); // root_flags
  view.setUint32(0x1f4, kernelSize / 16, true); // syssize
  view.setUint16(0x1fa, 0xffff, true); // vid_mode: normal
  view.setUint16(0x1fe, 0xaa55, true);
  view.setUint8(0x200, 0xeb); // jmp short over the header
  view.setUint8(0x201, headerEnd - 0x202);
  bytes.set(new TextEncoder().encode('HdrS'), 0x202);
  view.setUint16(0x206, spec.version ?? 0x020f, true);
  const kernelVersion = spec.kernelVersion ?? '6.1.0-test (nodevmm@test) #1 SMP';
  view.setUint16(0x20e, KERNEL_VERSION_AT - 0x200, true);
  bytes.set(new TextEncoder().encode(`${kernelVersion}\0`), KERNEL_VERSION_AT);
  view.setUint8(0x211, spec.loadflags ?? 0x01); // LOADED_HIGH
  view.setUint32(0x214, 0x100000, true); // code32_start
  view.setUint32(0x22c, spec.initrdAddrMax ?? 0x7fffffff, true);
  view.setUint32(0x230, spec.kernelAlignment ?? 0x200000, true);
  view.setUint8(0x234, (spec.relocatable ?? true) ? 1 : 0);
  view.setUint8(0x235, 21); // min_alignment: log2(2 MiB)
  view.setUint16(0x236, spec.xloadflags ?? 0x03, true); // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
  view.setUint32(0x238, spec.cmdlineSize ?? 2047, true);
  if (headerEnd >= 0x250) {
    view.setUint32(0x248, PAYLOAD_OFFSET, true);
    view.setUint32(0x24c, payload.length, true);
  }
  if (headerEnd >= 0x264) {
    view.setBigUint64(0x258, BigInt(spec.prefAddress ?? 0x1000000), true);
    view.setUint32(0x260, spec.initSize ?? 0x400000, true);
  }

  const kernel = bytes.subarray(setupSize, setupSize + kernelSize);
  kernel.fill(0x90); // nop
  kernel.set(ENTRY32_BYTES, 0);
  kernel.set(ENTRY64_BYTES, 0x200);
  kernel.set(payload, PAYLOAD_OFFSET);
  bytes.set(trailer, setupSize + kernelSize);
  return bytes;
}

/** The file offset of the protected-mode kernel in an image from buildBzImage. */
export function setupSizeOf(spec: BzImageSpec = {}): number {
  return (((spec.setupSects ?? 4) || 4) + 1) * 512;
}
