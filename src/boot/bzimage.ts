// Linux boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): load
// a bzImage's protected-mode kernel, write the zero page, command line, initramfs, a 64-bit GDT and
// identity-mapped page tables, then enter at load address + 0x200 in long mode with RSI pointing at
// boot_params (long-mode.ts gives the vCPU state).
//
// Where the kernel goes: a relocatable kernel at its pref_address when that is an aligned address at
// or above 1 MiB (boot.rst: "a relocating bootloader should attempt to load at this address"; Debian's
// is 16 MiB), anything else at 1 MiB, where code32_start says and where QEMU puts every bzImage.
// Either way the decompressor then runs at max(load address aligned up to kernel_alignment,
// pref_address) and needs init_size bytes from there: that footprint must be RAM, and the initramfs
// goes above it.
import type { E820Entry } from './e820.js';
import { writeLongModeGdt } from './gdt.js';
import type { GuestRam } from './guest-ram.js';
import {
  alignUp,
  CMDLINE_ADDRESS,
  CMDLINE_MAX_SIZE,
  hex,
  KERNEL_LOAD_ADDRESS,
  lowRamEnd,
} from './memory-layout.js';
import { writeIdentityPageTables } from './page-tables.js';
import { checkMemoryMap, checkPlacement, checkRsdpAddress, placeHigh } from './placement.js';
import { encodeCmdline } from './pvh.js';
import { checkEntersIn64BitMode, parseSetupHeader, type SetupHeader } from './setup-header.js';
import { writeZeroPage, ZERO_PAGE_E820_MAX_ENTRIES } from './zero-page.js';

export { parseBzImagePayload, detectCompression, type BzImagePayload, type PayloadCompression } from './bzimage-payload.js';
export { BzImageError, parseSetupHeader, type SetupHeader } from './setup-header.js';

/** The 64-bit entry point's offset from the start of the protected-mode kernel. */
export const BZIMAGE_64BIT_ENTRY_OFFSET = 0x200;

export interface BzImageOptions {
  cmdline: string;
  initramfs?: Uint8Array;
  memoryMap: readonly E820Entry[];
  /** where the ACPI builder put the RSDP (boot_params.acpi_rsdp_addr); 0/absent: none */
  rsdpAddress?: number;
}

export interface BzImageBoot {
  /** 64-bit entry point (RIP) */
  entry: number;
  /** guest address of struct boot_params (RSI) */
  bootParamsAddress: number;
  /** where the protected-mode kernel was copied */
  loadAddress: number;
  /** first byte past the kernel: its image, or the init_size footprint it decompresses into */
  kernelEnd: number;
  initramfsAddress?: number;
  /** the parsed setup header, for logging (protocol version, kernel version string) */
  header: SetupHeader;
}

export interface KernelPlacement {
  loadAddress: number;
  /** where the decompressor runs: the start of the init_size footprint */
  runAddress: number;
  /** exclusive end of everything the kernel occupies at boot */
  kernelEnd: number;
}

/** Where the kernel is loaded and where it will decompress itself (see the comment at the top). */
export function placeKernel(header: SetupHeader): KernelPlacement {
  const { prefAddress, kernelAlignment, relocatable } = header;
  const aligned = kernelAlignment > 0 && prefAddress % kernelAlignment === 0;
  const loadAddress = relocatable && aligned && prefAddress >= KERNEL_LOAD_ADDRESS ? prefAddress : KERNEL_LOAD_ADDRESS;
  const runAddress = relocatable
    ? Math.max(kernelAlignment > 0 ? alignUp(loadAddress, kernelAlignment) : loadAddress, prefAddress)
    : prefAddress || KERNEL_LOAD_ADDRESS;
  const kernelEnd = Math.max(loadAddress + header.kernelSize, runAddress + header.initSize);
  return { loadAddress, runAddress, kernelEnd };
}

/** Loads a bzImage and its boot data into guest RAM. Throws before writing if anything is off. */
export function loadBzImage(image: Uint8Array, ram: GuestRam, options: BzImageOptions): BzImageBoot {
  const header = parseSetupHeader(image);
  checkEntersIn64BitMode(header);
  const cmdline = encodeCmdline(options.cmdline);
  if (cmdline.length - 1 > header.cmdlineSize) {
    throw new RangeError(
      `kernel command line is ${cmdline.length - 1} bytes; this kernel accepts at most ${header.cmdlineSize} (cmdline_size)`,
    );
  }
  const placement = placeKernel(header);
  checkPlacement(ram, 'bzImage protected-mode kernel', placement.loadAddress, header.kernelSize);
  checkFootprint(ram, placement, header);
  checkMemoryMap(ram, options.memoryMap, ZERO_PAGE_E820_MAX_ENTRIES, 'the Linux boot protocol');
  const rsdpAddress = checkRsdpAddress(ram, options.rsdpAddress);
  const initramfsAddress =
    options.initramfs === undefined ? undefined : placeInitramfs(ram, options.initramfs.length, placement.kernelEnd, header);

  ram.write(placement.loadAddress, image.subarray(header.setupSize, header.setupSize + header.kernelSize));
  ram.fill(CMDLINE_ADDRESS, CMDLINE_MAX_SIZE);
  ram.write(CMDLINE_ADDRESS, cmdline);
  if (options.initramfs !== undefined && initramfsAddress !== undefined) ram.write(initramfsAddress, options.initramfs);
  const bootParamsAddress = writeZeroPage(ram, image, header, {
    loadAddress: placement.loadAddress,
    cmdlineAddress: CMDLINE_ADDRESS,
    ...(initramfsAddress === undefined ? {} : { initramfs: { address: initramfsAddress, size: options.initramfs!.length } }),
    memoryMap: options.memoryMap,
    rsdpAddress,
  });
  writeLongModeGdt(ram);
  writeIdentityPageTables(ram);
  return {
    entry: placement.loadAddress + BZIMAGE_64BIT_ENTRY_OFFSET,
    bootParamsAddress,
    loadAddress: placement.loadAddress,
    kernelEnd: placement.kernelEnd,
    ...(initramfsAddress === undefined ? {} : { initramfsAddress }),
    header,
  };
}

/** The decompressor's footprint must be RAM too, or the kernel dies before printing anything. */
function checkFootprint(ram: GuestRam, placement: KernelPlacement, header: SetupHeader): void {
  const size = placement.kernelEnd - placement.runAddress;
  if (!ram.contains(placement.runAddress, size)) {
    throw new RangeError(
      `the kernel decompresses into [${hex(placement.runAddress)}, ${hex(placement.kernelEnd)}) ` +
        `(init_size ${hex(header.initSize)}), which is not all guest RAM: give the guest more memory`,
    );
  }
  checkPlacement(ram, 'kernel footprint (init_size)', placement.runAddress, size);
}

/**
 * High in low RAM, page aligned, above the kernel's footprint and wholly at or below initrd_addr_max
 * (the highest address the kernel accepts for any initrd byte).
 */
function placeInitramfs(ram: GuestRam, size: number, kernelEnd: number, header: SetupHeader): number {
  if (size > 0xffff_ffff) throw new RangeError(`initramfs of ${size} bytes is too large for ramdisk_size`);
  const top = Math.min(lowRamEnd(ram.regions), header.initrdAddrMax + 1);
  return placeHigh(ram, 'initramfs', size, {
    lowest: kernelEnd,
    top,
    limits: `the kernel's end and min(end of low RAM, initrd_addr_max + 1)`,
  });
}
