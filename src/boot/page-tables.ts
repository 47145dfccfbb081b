// Identity-mapped page tables for the Linux 64-bit boot protocol entry, which starts the kernel with
// paging on: virtual = physical over the first 4 GiB, so the kernel image and its init_size footprint,
// the zero page, the command line and the initramfs are all reachable wherever low RAM puts them
// (the MMIO hole is mapped too, harmlessly: the kernel builds its own tables before touching devices).
//
// 4-level paging (Intel SDM vol. 3, 4.5): PML4[0] -> PDPT; PDPT[0..3] -> four page directories whose
// 512 entries each map a 2 MiB page. 2 MiB pages work on every x86-64 CPU; 1 GiB pages would need
// CPUID pdpe1gb, which not every host (or nested hypervisor) passes through.
import type { GuestRam } from './guest-ram.js';
import {
  BOOT_PAGE_TABLES_END,
  BOOT_PD_ADDRESS,
  BOOT_PD_COUNT,
  BOOT_PDPT_ADDRESS,
  BOOT_PML4_ADDRESS,
  GiB,
  MiB,
  PAGE_SIZE,
} from './memory-layout.js';

/** Page-table entry bits. */
export const PTE_PRESENT = 1n << 0n;
export const PTE_WRITABLE = 1n << 1n;
/** In a page-directory entry: the entry maps a 2 MiB page instead of pointing at a page table. */
export const PTE_PAGE_SIZE = 1n << 7n;

export const PAGE_TABLE_ENTRIES = 512;
export const LARGE_PAGE_SIZE = 2 * MiB;
/** Bytes mapped from address 0: one page directory per GiB. */
export const IDENTITY_MAP_SIZE = BOOT_PD_COUNT * GiB;

/** CR3 for the identity map: the PML4's address (PCD, PWT and the PCID bits all 0). */
export const IDENTITY_MAP_CR3 = BigInt(BOOT_PML4_ADDRESS);

/** Writes the identity map at BOOT_PML4_ADDRESS.. (clearing stale entries first) and returns CR3. */
export function writeIdentityPageTables(ram: GuestRam): bigint {
  ram.fill(BOOT_PML4_ADDRESS, BOOT_PAGE_TABLES_END - BOOT_PML4_ADDRESS);
  const table = PTE_PRESENT | PTE_WRITABLE;
  ram.writeU64(BOOT_PML4_ADDRESS, BigInt(BOOT_PDPT_ADDRESS) | table);
  for (let gib = 0; gib < BOOT_PD_COUNT; gib++) {
    const pd = BOOT_PD_ADDRESS + gib * PAGE_SIZE;
    ram.writeU64(BOOT_PDPT_ADDRESS + gib * 8, BigInt(pd) | table);
    for (let i = 0; i < PAGE_TABLE_ENTRIES; i++) {
      const page = BigInt(gib) * BigInt(GiB) + BigInt(i * LARGE_PAGE_SIZE);
      ram.writeU64(pd + i * 8, page | table | PTE_PAGE_SIZE);
    }
  }
  return IDENTITY_MAP_CR3;
}
