// The flat segments a kernel is entered with, both as KVM's cached segment state and as the GDT
// entries they come from, so that a guest that reloads a selector before installing its own GDT gets
// the same segment back. Two GDTs: 32-bit code for the PVH entry, 64-bit code for the bzImage 64-bit
// entry; only one is in memory at a time, at BOOT_GDT_ADDRESS.
//
// Selectors follow Linux's boot GDT (arch/x86/boot: __BOOT_CS = 0x10, __BOOT_DS = 0x18, TSS = 0x20);
// entries 0 and 1 are null.
import type { KvmDtable, KvmSegment } from '../kvm/structs.js';
import type { GuestRam } from './guest-ram.js';
import { BOOT_GDT_ADDRESS, BOOT_GDT_MAX_SIZE } from './memory-layout.js';

/** CODE32 and CODE64 share 0x10: Linux's __BOOT_CS is the same selector in both boot protocols. */
export const BootSelector = { CODE32: 0x10, CODE64: 0x10, DATA: 0x18, TSS: 0x20 } as const;

/** Segment types (Intel SDM vol. 3, 3.4.5.1): code execute/read accessed, data read/write accessed. */
export const SegmentType = { CODE_EXEC_READ_ACCESSED: 0xb, DATA_READ_WRITE_ACCESSED: 0x3, TSS32_BUSY: 0xb } as const;

/** The PVH ABI's TSS: base 0, limit 0x67 (the 104-byte 32-bit TSS). Only its descriptor is used. */
export const BOOT_TSS_LIMIT = 0x67;

export function flatCode32Segment(): KvmSegment {
  return {
    base: 0n, limit: 0xffff_ffff, selector: BootSelector.CODE32, type: SegmentType.CODE_EXEC_READ_ACCESSED,
    present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0, unusable: 0,
  };
}

/** 64-bit code: L = 1 requires D = 0; base and limit are ignored in long mode but kept flat. */
export function flatCode64Segment(): KvmSegment {
  return { ...flatCode32Segment(), selector: BootSelector.CODE64, db: 0, l: 1 };
}

export function flatDataSegment(): KvmSegment {
  return {
    base: 0n, limit: 0xffff_ffff, selector: BootSelector.DATA, type: SegmentType.DATA_READ_WRITE_ACCESSED,
    present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0, unusable: 0,
  };
}

/**
 * A busy TSS: VMX refuses to enter a guest whose TR is unusable or not a busy TSS. Type 0xB means a
 * busy 32-bit TSS in protected mode and a busy 64-bit TSS in long mode, so both entries use it.
 */
export function bootTssSegment(): KvmSegment {
  return {
    base: 0n, limit: BOOT_TSS_LIMIT, selector: BootSelector.TSS, type: SegmentType.TSS32_BUSY,
    present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 0,
  };
}

/**
 * The 8-byte descriptor for a segment (code, data or 32-bit system segment). With g = 1 the limit is
 * stored in 4 KiB units, so KVM's byte limit 0xffffffff becomes 0xfffff.
 */
export function segmentDescriptor(seg: KvmSegment): bigint {
  const limit = seg.g ? Math.floor(seg.limit / 0x1000) : seg.limit;
  if (limit > 0xf_ffff) throw new RangeError(`segment limit 0x${seg.limit.toString(16)} needs g = 1`);
  if (seg.base > 0xffff_ffffn) throw new RangeError(`segment base 0x${seg.base.toString(16)} does not fit a descriptor`);
  const base = Number(seg.base);
  const low = ((base & 0xffff) << 16) | (limit & 0xffff);
  const high =
    ((base >>> 16) & 0xff) |
    ((seg.type & 0xf) << 8) |
    ((seg.s & 1) << 12) |
    ((seg.dpl & 3) << 13) |
    ((seg.present & 1) << 15) |
    (((limit >>> 16) & 0xf) << 16) |
    ((seg.avl & 1) << 20) |
    ((seg.l & 1) << 21) |
    ((seg.db & 1) << 22) |
    ((seg.g & 1) << 23) |
    (((base >>> 24) & 0xff) << 24);
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
}

/** GDT entries indexed by selector >> 3. */
export function bootGdtEntries(): bigint[] {
  const entries: bigint[] = [0n, 0n, 0n, 0n, 0n];
  for (const seg of [flatCode32Segment(), flatDataSegment(), bootTssSegment()]) {
    entries[seg.selector >> 3] = segmentDescriptor(seg);
  }
  return entries;
}

/** Where the boot GDT lives, as GDTR holds it. */
export function bootGdtRegister(): KvmDtable {
  return { base: BigInt(BOOT_GDT_ADDRESS), limit: bootGdtEntries().length * 8 - 1 };
}

/** Writes the boot GDT at BOOT_GDT_ADDRESS. */
export function writeBootGdt(ram: GuestRam): void {
  writeGdt(ram, bootGdtEntries());
}

/**
 * The GDT for the 64-bit entry, indexed by selector >> 3. In long mode a system descriptor takes 16
 * bytes: the TSS's entry at 0x20 is followed by one holding base[63:32], which is 0 here.
 */
export function longModeGdtEntries(): bigint[] {
  const entries: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n];
  for (const seg of [flatCode64Segment(), flatDataSegment(), bootTssSegment()]) {
    entries[seg.selector >> 3] = segmentDescriptor(seg);
  }
  return entries;
}

export function longModeGdtRegister(): KvmDtable {
  return { base: BigInt(BOOT_GDT_ADDRESS), limit: longModeGdtEntries().length * 8 - 1 };
}

/** Writes the 64-bit GDT at BOOT_GDT_ADDRESS (in place of the 32-bit one). */
export function writeLongModeGdt(ram: GuestRam): void {
  writeGdt(ram, longModeGdtEntries());
}

function writeGdt(ram: GuestRam, entries: readonly bigint[]): void {
  if (entries.length * 8 > BOOT_GDT_MAX_SIZE) throw new RangeError('boot GDT does not fit its area');
  ram.fill(BOOT_GDT_ADDRESS, BOOT_GDT_MAX_SIZE);
  entries.forEach((entry, i) => ram.writeU64(BOOT_GDT_ADDRESS + i * 8, entry));
}
