// PVH boot (Xen's x86/HVM direct boot ABI, which Linux and other kernels implement without Xen):
// load the ELF's PT_LOAD segments at their physical addresses, write the command line, the initramfs
// as module 0, the memory map and struct hvm_start_info, then enter at the XEN_ELFNOTE_PHYS32_ENTRY
// address in flat 32-bit protected mode with EBX pointing at the start info.
//
// Structures (xen/include/public/arch-x86/hvm/start_info.h, all little-endian):
//   hvm_start_info v1, 56 bytes: u32 magic, version, flags, nr_modules; u64 modlist_paddr,
//     cmdline_paddr, rsdp_paddr, memmap_paddr; u32 memmap_entries, reserved
//   hvm_modlist_entry, 32 bytes: u64 paddr, size, cmdline_paddr, reserved
//   hvm_memmap_table_entry, 24 bytes: u64 addr, size; u32 type, reserved
// Linux (arch/x86/platform/pvh/enlighten.c) takes module 0 as its initrd and copies the memory map
// into its e820 table, adding [0xA0000, 1 MiB) as reserved itself.
import { emptyRegs, type KvmRegs, type KvmSregs } from '../kvm/structs.js';
import type { E820Entry } from './e820.js';
import { ElfError, findPvhEntry, loadSegments, parseElf, type ProgramHeader } from './elf.js';
import { bootGdtRegister, bootTssSegment, flatCode32Segment, flatDataSegment, writeBootGdt } from './gdt.js';
import type { GuestRam } from './guest-ram.js';
import {
  alignDown,
  alignUp,
  CMDLINE_ADDRESS,
  CMDLINE_MAX_SIZE,
  hex,
  lowRamEnd,
  PAGE_SIZE,
  PVH_AREA_END,
  PVH_MEMMAP_ADDRESS,
  PVH_MEMMAP_MAX_ENTRIES,
  PVH_MODLIST_ADDRESS,
  PVH_START_INFO_ADDRESS,
} from './memory-layout.js';
import { checkMemoryMap, checkPlacement, checkRsdpAddress } from './placement.js';

export const XEN_HVM_START_MAGIC = 0x336e_c578;
export const HVM_START_INFO_VERSION = 1;
export const HVM_MEMMAP_ENTRY_SIZE = 24;

export const NO_PVH_NOTE_MESSAGE =
  'ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); nodevmm boots PVH ELF kernels and bzImages';

export interface PvhOptions {
  cmdline: string;
  initramfs?: Uint8Array;
  memoryMap: readonly E820Entry[];
  /** where the ACPI builder put the RSDP; 0/absent tells the guest there are no ACPI tables */
  rsdpAddress?: number;
}

export interface PvhBoot {
  /** 32-bit physical entry point (EIP) */
  entry: number;
  /** guest address of struct hvm_start_info (EBX) */
  startInfoAddress: number;
  /** first byte past the highest PT_LOAD segment (memsz included) */
  kernelEnd: number;
  initramfsAddress?: number;
}

/** Loads a PVH ELF kernel and its boot data into guest RAM. Throws before writing if anything is off. */
export function loadPvh(image: Uint8Array, ram: GuestRam, options: PvhOptions): PvhBoot {
  const elf = parseElf(image);
  const entry = findPvhEntry(elf);
  if (entry === undefined) throw new ElfError(NO_PVH_NOTE_MESSAGE);
  const segments = loadSegments(elf);
  if (segments.length === 0) throw new ElfError('ELF kernel has no PT_LOAD segment to load');
  segments.forEach((ph) => checkPlacement(ram, `PT_LOAD segment ${ph.index}`, ph.paddr, ph.memsz));
  if (!segments.some((ph) => entry >= ph.paddr && entry < ph.paddr + ph.memsz)) {
    throw new ElfError(`PVH entry ${hex(entry)} is not inside any PT_LOAD segment`);
  }
  const kernelEnd = Math.max(...segments.map((ph) => ph.paddr + ph.memsz));
  const cmdline = encodeCmdline(options.cmdline);
  checkMemoryMap(ram, options.memoryMap, PVH_MEMMAP_MAX_ENTRIES, 'PVH boot');
  const rsdpAddress = checkRsdpAddress(ram, options.rsdpAddress);
  const initramfsAddress =
    options.initramfs === undefined ? undefined : placeInitramfs(ram, options.initramfs.length, kernelEnd);

  segments.forEach((ph) => loadSegment(ram, image, ph));
  ram.fill(CMDLINE_ADDRESS, CMDLINE_MAX_SIZE);
  ram.write(CMDLINE_ADDRESS, cmdline);
  ram.fill(PVH_START_INFO_ADDRESS, PVH_AREA_END - PVH_START_INFO_ADDRESS);
  let modules = 0;
  if (options.initramfs !== undefined && initramfsAddress !== undefined) {
    ram.write(initramfsAddress, options.initramfs);
    writeModule(ram, PVH_MODLIST_ADDRESS, initramfsAddress, options.initramfs.length);
    modules = 1;
  }
  writeMemoryMap(ram, options.memoryMap);
  writeStartInfo(ram, {
    modules,
    memmapEntries: options.memoryMap.length,
    rsdpAddress,
  });
  writeBootGdt(ram);
  return { entry, startInfoAddress: PVH_START_INFO_ADDRESS, kernelEnd, ...(initramfsAddress === undefined ? {} : { initramfsAddress }) };
}

function loadSegment(ram: GuestRam, image: Uint8Array, ph: ProgramHeader): void {
  ram.write(ph.paddr, image.subarray(ph.offset, ph.offset + ph.filesz));
  // The rest of memsz is .bss: zero it, since RAM may hold a previous boot's contents.
  ram.fill(ph.paddr + ph.filesz, ph.memsz - ph.filesz);
}

/** The command line as NUL-terminated bytes, refused rather than truncated when too long. */
export function encodeCmdline(cmdline: string): Uint8Array {
  if (cmdline.includes('\0')) throw new RangeError('kernel command line contains a NUL character');
  const text = new TextEncoder().encode(cmdline);
  if (text.length + 1 > CMDLINE_MAX_SIZE) {
    throw new RangeError(
      `kernel command line is ${text.length} bytes; the limit is ${CMDLINE_MAX_SIZE - 1} ` +
        `(Linux's x86 COMMAND_LINE_SIZE, ${CMDLINE_MAX_SIZE}, counts the terminating NUL)`,
    );
  }
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return bytes;
}

/**
 * The initramfs goes at the top of low RAM, page aligned, above the kernel: kernels look for room to
 * grow just past their image, and the top of low RAM stays below 4 GiB for the 32-bit address fields.
 */
export function placeInitramfs(ram: GuestRam, size: number, kernelEnd: number): number {
  if (size === 0) throw new RangeError('initramfs is empty');
  const top = lowRamEnd(ram.regions);
  const lowest = alignUp(kernelEnd, PAGE_SIZE);
  const address = alignDown(top - size, PAGE_SIZE);
  if (address < lowest) {
    throw new RangeError(
      `initramfs of ${size} bytes does not fit between the kernel end ${hex(lowest)} and the end of low RAM ${hex(top)}`,
    );
  }
  checkPlacement(ram, 'initramfs', address, size);
  return address;
}

function writeModule(ram: GuestRam, at: number, paddr: number, size: number): void {
  ram.writeU64(at, paddr);
  ram.writeU64(at + 8, size);
  ram.writeU64(at + 16, 0); // no module command line
  ram.writeU64(at + 24, 0);
}

function writeMemoryMap(ram: GuestRam, map: readonly E820Entry[]): void {
  map.forEach((e, i) => {
    const at = PVH_MEMMAP_ADDRESS + i * HVM_MEMMAP_ENTRY_SIZE;
    ram.writeU64(at, e.addr);
    ram.writeU64(at + 8, e.size);
    ram.writeU32(at + 16, e.type);
    ram.writeU32(at + 20, 0);
  });
}

function writeStartInfo(ram: GuestRam, info: { modules: number; memmapEntries: number; rsdpAddress: number }): void {
  const at = PVH_START_INFO_ADDRESS;
  ram.writeU32(at, XEN_HVM_START_MAGIC);
  ram.writeU32(at + 4, HVM_START_INFO_VERSION);
  ram.writeU32(at + 8, 0); // flags: no SIF_* applies outside Xen
  ram.writeU32(at + 12, info.modules);
  ram.writeU64(at + 16, info.modules > 0 ? PVH_MODLIST_ADDRESS : 0);
  ram.writeU64(at + 24, CMDLINE_ADDRESS);
  ram.writeU64(at + 32, info.rsdpAddress);
  ram.writeU64(at + 40, PVH_MEMMAP_ADDRESS);
  ram.writeU32(at + 48, info.memmapEntries);
  ram.writeU32(at + 52, 0);
}

export interface PvhCpuState {
  sregs: KvmSregs;
  regs: KvmRegs;
}

export const CR0_PE = 0x1n;
export const CR0_ET = 0x10n;
export const RFLAGS_RESERVED_ONE = 0x2n;

/**
 * The vCPU state at a PVH entry (Xen's docs/misc/pvh.pandoc): flat 32-bit protected mode, paging off,
 * CR0 = PE|ET, CR4 = 0, EFER = 0, a busy 32-bit TSS in TR, EIP = entry, EBX = start info, EFLAGS with
 * only the always-one bit (IF, TF, VM clear). `current` is the vCPU's sregs as read from KVM: fields
 * the ABI leaves alone (APIC base, CR8, LDT, pending interrupts) are kept. GDTR points at the boot GDT
 * that loadPvh writes; IDTR is empty so a fault before the kernel sets its own ends in a triple fault
 * (KVM_EXIT_SHUTDOWN) rather than running through real-mode vectors.
 */
export function pvhCpuState(current: KvmSregs, boot: Pick<PvhBoot, 'entry' | 'startInfoAddress'>): PvhCpuState {
  const data = flatDataSegment();
  const sregs: KvmSregs = {
    ...current,
    cs: flatCode32Segment(),
    ds: { ...data },
    es: { ...data },
    fs: { ...data },
    gs: { ...data },
    ss: { ...data },
    tr: bootTssSegment(),
    ldt: { ...current.ldt },
    gdt: bootGdtRegister(),
    idt: { base: 0n, limit: 0 },
    cr0: CR0_PE | CR0_ET,
    cr3: 0n,
    cr4: 0n,
    efer: 0n,
    interruptBitmap: [...current.interruptBitmap],
  };
  const regs = emptyRegs();
  regs.rip = BigInt(boot.entry);
  regs.rbx = BigInt(boot.startInfoAddress);
  regs.rflags = RFLAGS_RESERVED_ONE;
  return { sregs, regs };
}
