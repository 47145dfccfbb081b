// The guest's memory map, in the e820 form both boot paths hand over (PVH: hvm_memmap_table_entry,
// which uses the same type numbers; bzImage: boot_params.e820_table).
//
// Choices:
// - Low RAM stops at the EBDA (0x9FC00), as on a PC; [0x9FC00, 1 MiB) is one *reserved* entry. It
//   holds the ACPI tables at 0xA0000, but they are not typed "ACPI reclaimable": the guest never needs
//   to reclaim a few KiB there, and Linux's PVH entry itself adds [0xA0000, 1 MiB) as reserved, which
//   would contradict a type-3 entry.
// - The MMIO hole [3 GiB, 4 GiB) is not listed: a gap is what tells the guest it may put devices there.
import {
  EBDA_START,
  HIGH_MEMORY_START,
  ramRegions,
  type RamRegion,
} from './memory-layout.js';

/** Address range types (ACPI "System Address Map Interfaces"; Xen's XEN_HVM_MEMMAP_TYPE_* match). */
export const E820Type = {
  RAM: 1,
  RESERVED: 2,
  ACPI: 3,
  NVS: 4,
  UNUSABLE: 5,
} as const;
export type E820Type = (typeof E820Type)[keyof typeof E820Type];

export interface E820Entry {
  addr: number;
  size: number;
  type: E820Type;
}

/** The memory map for `ramSize` bytes of RAM laid out by ramRegions(). Sorted, non-overlapping. */
export function buildE820(ramSize: number): E820Entry[] {
  return e820FromRegions(ramRegions(ramSize));
}

/** The memory map for explicit RAM regions; the region at 0 must reach past 1 MiB. */
export function e820FromRegions(regions: readonly RamRegion[]): E820Entry[] {
  const sorted = [...regions].sort((a, b) => a.gpa - b.gpa);
  const low = sorted[0];
  if (low === undefined || low.gpa !== 0 || low.size <= HIGH_MEMORY_START) {
    throw new RangeError('the memory map needs a RAM region from address 0 to beyond 1 MiB');
  }
  const map: E820Entry[] = [
    { addr: 0, size: EBDA_START, type: E820Type.RAM },
    { addr: EBDA_START, size: HIGH_MEMORY_START - EBDA_START, type: E820Type.RESERVED },
    { addr: HIGH_MEMORY_START, size: low.size - HIGH_MEMORY_START, type: E820Type.RAM },
  ];
  for (const region of sorted.slice(1)) {
    map.push({ addr: region.gpa, size: region.size, type: E820Type.RAM });
  }
  return map;
}

/** Bytes of RAM the map describes (type RAM only). */
export function e820RamBytes(map: readonly E820Entry[]): number {
  return map.filter((e) => e.type === E820Type.RAM).reduce((sum, e) => sum + e.size, 0);
}
