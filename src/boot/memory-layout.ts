// Where things live in guest physical memory (LIFECYCLE.md §6), and how the configured RAM size is
// cut into regions around the 32-bit PCI/MMIO hole. Pure numbers: no KVM, no allocation.
//
// Low memory, below 1 MiB (the classic PC layout the Linux boot paths expect):
//   0x0000_0500  boot GDT (flat code/data + TSS, 32-bit for PVH or 64-bit for bzImage; gdt.ts)
//   0x0000_6000  hvm_start_info (56 bytes), its module list at 0x6040, its memory map at 0x6100
//   0x0000_7000  zero page (struct boot_params) for the bzImage path
//   0x0000_8000  boot stack for the bzImage 64-bit entry (RSP = 0x8FF0, grows down)
//   0x0000_9000  identity-mapped page tables for the bzImage 64-bit entry: PML4, PDPT, 4 PDs (to 0xF000)
//   0x0002_0000  kernel command line, at most CMDLINE_MAX_SIZE bytes with its NUL
//   0x0009_FC00  EBDA ─┐
//   0x000A_0000  RSDP and the other ACPI tables (a later ACPI builder) ├ reserved in e820
//   0x0010_0000  ───────────────────────────────────────────────────────┘ kernel (PVH p_paddr, usually 1 MiB)
// RAM runs from 0 to min(size, 3 GiB); anything above that continues at 4 GiB.

import { KiB, MiB, GiB, hex } from '../util/units.js';

// The units are re-exported: boot code and its tests take them with the layout.
export { KiB, MiB, GiB, hex };
export const PAGE_SIZE = 4 * KiB;

/** GDT used at boot; 0x500 is the first byte past the real-mode IVT and BIOS data area. */
export const BOOT_GDT_ADDRESS = 0x500;
export const BOOT_GDT_MAX_SIZE = 0x100;

/** struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h), handed to a PVH kernel in EBX. */
export const PVH_START_INFO_ADDRESS = 0x6000;
/** hvm_modlist_entry[]: 32 bytes each, room for PVH_MODLIST_MAX_ENTRIES before the memory map. */
export const PVH_MODLIST_ADDRESS = 0x6040;
export const PVH_MODLIST_MAX_ENTRIES = 6;
/** hvm_memmap_table_entry[]: 24 bytes each, up to the zero page. */
export const PVH_MEMMAP_ADDRESS = 0x6100;
/**
 * Linux copies the PVH memory map into its 128-entry e820 table without a bound check and then
 * appends one entry of its own (the ISA range), so more than 127 entries would overflow it.
 */
export const PVH_MEMMAP_MAX_ENTRIES = 127;
export const PVH_AREA_END = 0x7000;

/** struct boot_params ("zero page") for the Linux boot protocol (bzImage path). */
export const ZERO_PAGE_ADDRESS = 0x7000;
export const ZERO_PAGE_SIZE = PAGE_SIZE;

/**
 * The stack the bzImage 64-bit entry starts with. Linux sets its own stack within a few instructions,
 * but RSP should point at RAM nothing else uses in case anything is pushed before that.
 */
export const BOOT_STACK_START = 0x8000;
export const BOOT_STACK_POINTER = 0x8ff0;
export const BOOT_STACK_END = 0x9000;

/**
 * Identity-mapped page tables for the bzImage 64-bit entry (page-tables.ts): one PML4, one PDPT and
 * four page directories of 2 MiB pages, which map the first 4 GiB. Same addresses as Firecracker and
 * Cloud Hypervisor use for theirs.
 */
export const BOOT_PML4_ADDRESS = 0x9000;
export const BOOT_PDPT_ADDRESS = 0xa000;
export const BOOT_PD_ADDRESS = 0xb000;
export const BOOT_PD_COUNT = 4;
export const BOOT_PAGE_TABLES_END = BOOT_PD_ADDRESS + BOOT_PD_COUNT * PAGE_SIZE;

/** The kernel command line. */
export const CMDLINE_ADDRESS = 0x2_0000;
/**
 * Bytes including the terminating NUL. Linux on x86 keeps COMMAND_LINE_SIZE = 2048 bytes and silently
 * truncates longer lines (PVH passes only a pointer), so nodevmm refuses them instead.
 */
export const CMDLINE_MAX_SIZE = 2048;

/** Extended BIOS data area: where a PC's low RAM traditionally ends (639 KiB). */
export const EBDA_START = 0x9_fc00;
/** The RSDP, followed by the other ACPI tables, in [ACPI_TABLES_START, ACPI_TABLES_END). */
export const RSDP_ADDRESS = 0xa_0000;
export const ACPI_TABLES_START = RSDP_ADDRESS;
export const ACPI_TABLES_END = 0x10_0000;

/** First byte above the legacy 1 MiB area; PVH kernels normally load here. */
export const HIGH_MEMORY_START = 0x10_0000;
export const KERNEL_LOAD_ADDRESS = HIGH_MEMORY_START;

/** The 32-bit PCI/MMIO hole [3 GiB, 4 GiB): never RAM (IOAPIC, LAPIC, GED, later PCI live here). */
export const MMIO_HOLE_START = 0xc000_0000;
export const MMIO_HOLE_END = 0x1_0000_0000;
/** RAM beyond MMIO_HOLE_START continues here. */
export const HIGH_RAM_START = MMIO_HOLE_END;

/**
 * Smallest RAM accepted. The boot structures need only 1 MiB, but no useful guest fits in less than
 * 16 MiB (the tiny test guests default to 32 MiB), and a smaller value is almost always a unit
 * mistake such as "256" meant as MiB.
 */
export const MIN_RAM_SIZE = 16 * MiB;
/** Largest RAM accepted: a sanity bound, far below what a host can map, that catches unit mistakes. */
export const MAX_RAM_SIZE = 1024 * GiB;

/** One contiguous piece of guest RAM, backed by the host mapping at hostOffset (one KVM memory slot). */
export interface RamRegion {
  /** guest physical address of the first byte */
  gpa: number;
  /** bytes */
  size: number;
  /** offset of the first byte in the host mapping */
  hostOffset: number;
}

/** A named piece of low memory the loaders write; kernel segments and modules must not overlap one. */
export interface BootArea {
  name: string;
  start: number;
  /** exclusive */
  end: number;
}

export const BOOT_AREAS: readonly BootArea[] = [
  { name: 'boot GDT', start: BOOT_GDT_ADDRESS, end: BOOT_GDT_ADDRESS + BOOT_GDT_MAX_SIZE },
  { name: 'PVH start info, module list and memory map', start: PVH_START_INFO_ADDRESS, end: PVH_AREA_END },
  { name: 'zero page', start: ZERO_PAGE_ADDRESS, end: ZERO_PAGE_ADDRESS + ZERO_PAGE_SIZE },
  { name: 'boot stack', start: BOOT_STACK_START, end: BOOT_STACK_END },
  { name: 'boot page tables', start: BOOT_PML4_ADDRESS, end: BOOT_PAGE_TABLES_END },
  { name: 'kernel command line', start: CMDLINE_ADDRESS, end: CMDLINE_ADDRESS + CMDLINE_MAX_SIZE },
  { name: 'EBDA, ACPI tables and BIOS area', start: EBDA_START, end: HIGH_MEMORY_START },
];

/** Throws a RangeError unless `size` is a RAM size nodevmm can lay out. */
export function validateRamSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new RangeError(`RAM size must be a positive whole number of bytes, got ${size}`);
  }
  if (size < MIN_RAM_SIZE) {
    throw new RangeError(`RAM size ${size} bytes is below the minimum of ${MIN_RAM_SIZE / MiB} MiB`);
  }
  if (size % PAGE_SIZE !== 0) {
    throw new RangeError(`RAM size ${size} (${hex(size)}) is not a multiple of the ${PAGE_SIZE}-byte page`);
  }
  if (size > MAX_RAM_SIZE) {
    throw new RangeError(`RAM size ${size} bytes is above the maximum of ${MAX_RAM_SIZE / GiB} GiB`);
  }
}

/**
 * The RAM regions for `size` bytes of guest memory: [0, min(size, 3 GiB)) and, for larger sizes, the
 * rest from 4 GiB. Both come from one host mapping, the high region right after the low one.
 */
export function ramRegions(size: number): RamRegion[] {
  validateRamSize(size);
  const lowSize = Math.min(size, MMIO_HOLE_START);
  const regions: RamRegion[] = [{ gpa: 0, size: lowSize, hostOffset: 0 }];
  if (size > lowSize) {
    regions.push({ gpa: HIGH_RAM_START, size: size - lowSize, hostOffset: lowSize });
  }
  return regions;
}

/** End (exclusive) of the RAM below the MMIO hole: where 32-bit boot data can go. */
export function lowRamEnd(regions: readonly RamRegion[]): number {
  const low = regions.find((r) => r.gpa === 0);
  if (low === undefined) throw new RangeError('no RAM region starts at guest address 0');
  return low.size;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function alignDown(value: number, alignment: number): number {
  return Math.floor(value / alignment) * alignment;
}

/** True when [aStart, aEnd) and [bStart, bEnd) share at least one byte. */
export function overlaps(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  return aStart < bEnd && bStart < aEnd;
}
