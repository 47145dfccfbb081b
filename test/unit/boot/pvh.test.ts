import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { buildE820, E820Type, type E820Entry } from '../../../src/boot/e820.js';
import { bootGdtEntries, BootSelector, segmentDescriptor } from '../../../src/boot/gdt.js';
import { GuestRam } from '../../../src/boot/guest-ram.js';
import { MiB, ramRegions } from '../../../src/boot/memory-layout.js';
import { detectPayload } from '../../../src/boot/payload.js';
import { encodeCmdline, loadPvh, pvhCpuState, XEN_HVM_START_MAGIC } from '../../../src/boot/pvh.js';
import { decodeSregs, encodeSregs, KVM_SREGS_SIZE, type KvmSregs } from '../../../src/kvm/structs.js';
import { buildElf, pvhNote, type ElfSpec } from './elf-builder.js';

const RAM_SIZE = 32 * MiB;
const code = Uint8Array.of(0xfa, 0xf4, 0xeb, 0xfd); // cli; hlt; jmp .-1
const data = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

function kernel(overrides: Partial<ElfSpec> = {}): Uint8Array {
  return buildElf({
    bits: 32,
    segments: [
      { paddr: 0x100000, data: code },
      { paddr: 0x101000, data, memsz: 0x2000 }, // .data then .bss
    ],
    notes: [pvhNote(0x100000)],
    ...overrides,
  });
}

function freshRam(size = RAM_SIZE): GuestRam {
  return GuestRam.allocate(ramRegions(size));
}

function dirtyRam(size = RAM_SIZE): GuestRam {
  const ram = freshRam(size);
  ram.fill(0, 2 * MiB, 0xff); // as if a previous boot had left things behind
  return ram;
}

const memoryMap = buildE820(RAM_SIZE);
const view = (ram: GuestRam, gpa: number, length: number) => {
  const bytes = ram.read(gpa, length);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

test('hvm_start_info v1 is written at 0x6000 with every field at its offset', (t) => {
  const ram = dirtyRam();
  const initramfs = new Uint8Array(10000).fill(0x42);
  const boot = loadPvh(kernel(), ram, { cmdline: 'console=ttyS0 quiet', initramfs, memoryMap, rsdpAddress: 0xa0000 });
  t.deepEqual(boot, { entry: 0x100000, startInfoAddress: 0x6000, kernelEnd: 0x103000, initramfsAddress: 0x1ffd000 });

  const info = view(ram, 0x6000, 64);
  t.is(info.getUint32(0, true), 0x336ec578); // magic
  t.is(info.getUint32(0, true), XEN_HVM_START_MAGIC);
  t.is(info.getUint32(4, true), 1); // version
  t.is(info.getUint32(8, true), 0); // flags
  t.is(info.getUint32(12, true), 1); // nr_modules
  t.is(info.getBigUint64(16, true), 0x6040n); // modlist_paddr
  t.is(info.getBigUint64(24, true), 0x20000n); // cmdline_paddr
  t.is(info.getBigUint64(32, true), 0xa0000n); // rsdp_paddr
  t.is(info.getBigUint64(40, true), 0x6100n); // memmap_paddr
  t.is(info.getUint32(48, true), 3); // memmap_entries
  t.is(info.getUint32(52, true), 0); // reserved
  t.is(info.getBigUint64(56, true), 0n); // nothing after the 56 bytes (stale bytes cleared)
});

test('the initramfs is module 0, page aligned at the top of low RAM', (t) => {
  const ram = dirtyRam();
  const initramfs = Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff);
  const boot = loadPvh(kernel(), ram, { cmdline: '', initramfs, memoryMap });
  const mod = view(ram, 0x6040, 32);
  t.is(mod.getBigUint64(0, true), 0x1ffd000n); // paddr = alignDown(32 MiB - 10000, 4 KiB)
  t.is(mod.getBigUint64(8, true), 10000n); // size
  t.is(mod.getBigUint64(16, true), 0n); // cmdline_paddr: none
  t.is(mod.getBigUint64(24, true), 0n); // reserved
  t.is(boot.initramfsAddress! % 4096, 0);
  t.true(boot.initramfsAddress! + initramfs.length <= RAM_SIZE);
  t.deepEqual(ram.read(0x1ffd000, 10000), initramfs);
});

test('without an initramfs there are no modules', (t) => {
  const ram = dirtyRam();
  const boot = loadPvh(kernel(), ram, { cmdline: 'x', memoryMap });
  t.is(boot.initramfsAddress, undefined);
  t.false('initramfsAddress' in boot);
  t.is(ram.readU32(0x6000 + 12), 0);
  t.is(ram.readU64(0x6000 + 16), 0n);
  t.is(ram.readU64(0x6000 + 32), 0n); // no RSDP given
  t.is(ram.readU64(0x6040), 0n);
});

test('the memory map is written as hvm_memmap_table_entry records', (t) => {
  const ram = dirtyRam();
  loadPvh(kernel(), ram, { cmdline: '', memoryMap });
  const entries: E820Entry[] = [];
  for (let i = 0; i < 3; i++) {
    const e = view(ram, 0x6100 + i * 24, 24);
    entries.push({ addr: Number(e.getBigUint64(0, true)), size: Number(e.getBigUint64(8, true)), type: e.getUint32(16, true) as E820Entry['type'] });
    t.is(e.getUint32(20, true), 0);
  }
  t.deepEqual(entries, memoryMap);
  t.deepEqual(entries[0], { addr: 0, size: 0x9fc00, type: E820Type.RAM });
  t.is(ram.readU64(0x6100 + 3 * 24), 0n);
});

test('segments are loaded at p_paddr and the bss is zeroed', (t) => {
  const ram = dirtyRam();
  loadPvh(kernel(), ram, { cmdline: '', memoryMap });
  t.deepEqual([...ram.read(0x100000, 4)], [...code]);
  t.is(ram.readU8(0x100004), 0xff); // between segments: untouched
  t.deepEqual([...ram.read(0x101000, 8)], [...data]);
  t.true(ram.read(0x101008, 0x2000 - 8).every((b) => b === 0));
  t.is(ram.readU8(0x103000), 0xff); // past memsz: untouched
});

test('ELF64 kernels with an 8-byte PVH note load the same way', (t) => {
  const ram = dirtyRam();
  const image = kernel({ bits: 64, notes: [pvhNote(0x100001, 8)] });
  const boot = loadPvh(image, ram, { cmdline: '', memoryMap });
  t.is(boot.entry, 0x100001);
  t.deepEqual([...ram.read(0x101000, 8)], [...data]);
});

test('the command line is written NUL-terminated at 0x20000', (t) => {
  const ram = dirtyRam();
  loadPvh(kernel(), ram, { cmdline: 'console=ttyS0 panic=-1 é', memoryMap });
  const expected = new TextEncoder().encode('console=ttyS0 panic=-1 é');
  t.deepEqual(ram.read(0x20000, expected.length), expected);
  t.is(ram.readU8(0x20000 + expected.length), 0);
  t.true(ram.read(0x20000 + expected.length, 2048 - expected.length).every((b) => b === 0));
});

test('command line limits', (t) => {
  t.notThrows(() => encodeCmdline('a'.repeat(2047)));
  t.is(encodeCmdline('a'.repeat(2047)).length, 2048);
  t.throws(() => encodeCmdline('a'.repeat(2048)), {
    instanceOf: RangeError,
    message: /^kernel command line is 2048 bytes; the limit is 2047/,
  });
  t.throws(() => encodeCmdline('a\0b'), { instanceOf: RangeError, message: 'kernel command line contains a NUL character' });
  const ram = dirtyRam();
  t.throws(() => loadPvh(kernel(), ram, { cmdline: 'x'.repeat(3000), memoryMap }), { message: /limit is 2047/ });
  t.is(ram.readU8(0x100000), 0xff, 'nothing is written when a check fails');
});

test('the boot GDT is written at 0x500', (t) => {
  const ram = dirtyRam();
  loadPvh(kernel(), ram, { cmdline: '', memoryMap });
  t.is(ram.readU64(0x500), 0n);
  t.is(ram.readU64(0x508), 0n);
  t.is(ram.readU64(0x510), 0x00cf_9b00_0000_ffffn); // flat 32-bit code
  t.is(ram.readU64(0x518), 0x00cf_9300_0000_ffffn); // flat data
  t.is(ram.readU64(0x520), 0x0000_8b00_0000_0067n); // busy 32-bit TSS, base 0, limit 0x67
  t.is(ram.readU64(0x528), 0n);
});

test('segments outside RAM are refused', (t) => {
  const image = kernel({ segments: [{ paddr: 0x1ffff00, data: code, memsz: 0x200 }] , notes: [pvhNote(0x1ffff00)] });
  t.throws(() => loadPvh(image, freshRam(), { cmdline: '', memoryMap }), {
    instanceOf: RangeError,
    message: 'PT_LOAD segment 0 [0x1ffff00, 0x2000100) lies outside guest RAM',
  });
  const inHole = kernel({ segments: [{ paddr: 0xc000_0000, data: code }], notes: [pvhNote(0xc000_0000)] });
  t.throws(() => loadPvh(inHole, freshRam(), { cmdline: '', memoryMap }), { message: /lies outside guest RAM/ });
});

test('segments overlapping the boot structures are refused', (t) => {
  const cases: Array<[number, RegExp]> = [
    [0x6000, /overlaps the PVH start info, module list and memory map \[0x6000, 0x7000\)/],
    [0x20100, /overlaps the kernel command line \[0x20000, 0x20800\)/],
    [0xa0000, /overlaps the EBDA, ACPI tables and BIOS area \[0x9fc00, 0x100000\)/],
    [0x500, /overlaps the boot GDT/],
    [0x7800, /overlaps the zero page/],
  ];
  for (const [paddr, message] of cases) {
    const image = kernel({ segments: [{ paddr, data: code }], notes: [pvhNote(paddr)] });
    t.throws(() => loadPvh(image, freshRam(), { cmdline: '', memoryMap }), { instanceOf: RangeError, message });
  }
  // Free low memory between the boot areas is fine.
  const low = kernel({ segments: [{ paddr: 0x10000, data: code }], notes: [pvhNote(0x10000)] });
  t.is(loadPvh(low, freshRam(), { cmdline: '', memoryMap }).entry, 0x10000);
});

test('an initramfs that does not fit is refused', (t) => {
  t.throws(() => loadPvh(kernel(), freshRam(), { cmdline: '', memoryMap, initramfs: new Uint8Array(31 * MiB) }), {
    instanceOf: RangeError,
    message: 'initramfs of 32505856 bytes does not fit between the kernel end 0x103000 and the end of low RAM 0x2000000',
  });
  t.throws(() => loadPvh(kernel(), freshRam(), { cmdline: '', memoryMap, initramfs: new Uint8Array(0) }), {
    message: 'initramfs is empty',
  });
});

test('kernels without the PVH note, without segments or with an entry outside them are refused', (t) => {
  t.throws(() => loadPvh(kernel({ notes: [] }), freshRam(), { cmdline: '', memoryMap }), {
    message: 'ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); nodevmm boots PVH ELF kernels and bzImages',
  });
  t.throws(() => loadPvh(kernel({ segments: [] }), freshRam(), { cmdline: '', memoryMap }), {
    message: 'ELF kernel has no PT_LOAD segment to load',
  });
  t.throws(() => loadPvh(kernel({ notes: [pvhNote(0x200000)] }), freshRam(), { cmdline: '', memoryMap }), {
    message: 'PVH entry 0x200000 is not inside any PT_LOAD segment',
  });
  t.throws(() => loadPvh(new Uint8Array(64), freshRam(), { cmdline: '', memoryMap }), { message: /^not an ELF file/ });
});

test('memory maps and RSDP addresses are checked', (t) => {
  const load = (options: { memoryMap: E820Entry[]; rsdpAddress?: number }) => () =>
    loadPvh(kernel(), freshRam(), { cmdline: '', ...options });
  t.throws(load({ memoryMap: [] }), { message: 'the memory map is empty' });
  const many = Array.from({ length: 128 }, (_, i) => ({ addr: i * 0x1000, size: 0x1000, type: E820Type.RESERVED }));
  t.throws(load({ memoryMap: many }), { message: 'the memory map has 128 entries; PVH boot passes at most 127' });
  t.notThrows(load({ memoryMap: many.slice(0, 127) }));
  t.throws(load({ memoryMap: buildE820(64 * MiB) }), {
    message: 'memory map entry [0x100000, 0x4000000) is typed RAM but not backed by guest RAM',
  });
  t.throws(load({ memoryMap: [{ addr: 0, size: -1, type: E820Type.RAM }] }), { message: /is malformed/ });
  t.throws(load({ memoryMap, rsdpAddress: 0xc000_0000 }), { message: 'RSDP address 0xc0000000 is not in guest RAM' });
});

function resetSregs(): KvmSregs {
  const sregs = decodeSregs(new Uint8Array(KVM_SREGS_SIZE));
  // roughly what KVM reports after vCPU creation
  sregs.cs = { ...sregs.cs, base: 0xffff0000n, limit: 0xffff, selector: 0xf000, type: 0xb, present: 1, s: 1 };
  sregs.ldt = { ...sregs.ldt, limit: 0xffff, type: 2, present: 1 };
  sregs.idt = { base: 0n, limit: 0xffff };
  sregs.cr0 = 0x6000_0010n;
  sregs.cr8 = 3n;
  sregs.apicBase = 0xfee0_0900n;
  sregs.interruptBitmap = [1n, 0n, 0n, 0n];
  return sregs;
}

test('pvhCpuState: flat 32-bit protected mode, entry in EIP, start info in EBX', (t) => {
  const current = resetSregs();
  const { sregs, regs } = pvhCpuState(current, { entry: 0x100000, startInfoAddress: 0x6000 });
  t.deepEqual(sregs.cs, {
    base: 0n, limit: 0xffffffff, selector: 0x10, type: 0xb, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0, unusable: 0,
  });
  for (const name of ['ds', 'es', 'fs', 'gs', 'ss'] as const) {
    t.deepEqual(sregs[name], {
      base: 0n, limit: 0xffffffff, selector: 0x18, type: 0x3, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0, unusable: 0,
    }, name);
  }
  t.deepEqual(sregs.tr, {
    base: 0n, limit: 0x67, selector: 0x20, type: 0xb, present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 0,
  });
  t.deepEqual(sregs.gdt, { base: 0x500n, limit: 39 });
  t.deepEqual(sregs.idt, { base: 0n, limit: 0 });
  t.is(sregs.cr0, 0x11n);
  t.is(sregs.cr3, 0n);
  t.is(sregs.cr4, 0n);
  t.is(sregs.efer, 0n);
  // kept from the vCPU
  t.is(sregs.apicBase, 0xfee0_0900n);
  t.is(sregs.cr8, 3n);
  t.deepEqual(sregs.ldt, current.ldt);
  t.deepEqual(sregs.interruptBitmap, [1n, 0n, 0n, 0n]);
  // registers
  t.is(regs.rip, 0x100000n);
  t.is(regs.rbx, 0x6000n);
  t.is(regs.rflags, 0x2n);
  t.is(regs.rsp, 0n);
  t.is(regs.rax, 0n);
  // the input is not modified, and the result encodes
  t.is(current.cr0, 0x6000_0010n);
  t.is(current.cs.selector, 0xf000);
  sregs.ldt.limit = 1;
  t.is(current.ldt.limit, 0xffff);
  t.deepEqual(decodeSregs(encodeSregs(sregs)).cs, sregs.cs);
});

test('the GDT entries match the segments loaded into the vCPU', (t) => {
  const { sregs } = pvhCpuState(resetSregs(), { entry: 0x100000, startInfoAddress: 0x6000 });
  const gdt = bootGdtEntries();
  t.is(gdt.length * 8 - 1, sregs.gdt.limit);
  t.is(gdt[BootSelector.CODE32 >> 3], segmentDescriptor(sregs.cs));
  t.is(gdt[BootSelector.DATA >> 3], segmentDescriptor(sregs.ds));
  t.is(gdt[BootSelector.TSS >> 3], segmentDescriptor(sregs.tr));
  t.is(sregs.cs.selector, BootSelector.CODE32);
});

test('segmentDescriptor encodes base, limit and attributes', (t) => {
  const seg = { base: 0x12345678n, limit: 0xabcde, selector: 0, type: 0x9, present: 1, dpl: 3, db: 0, s: 0, l: 0, g: 0, avl: 1, unusable: 0 };
  t.is(segmentDescriptor(seg), 0x121a_e934_5678_bcden);
  t.throws(() => segmentDescriptor({ ...seg, limit: 0x100000 }), { instanceOf: RangeError, message: /needs g = 1/ });
});

const helloPath = fileURLToPath(new URL('../../../../dist/guests/hello.elf', import.meta.url));

// `npm test` builds the guests first; a bare `ava` run without them declares this skipped, by name.
const helloTest = existsSync(helloPath) ? test : test.skip;
const unbuilt = existsSync(helloPath) ? '' : ' (SKIPPED: dist/guests/hello.elf is not built; npm run build:guests)';

helloTest(`dist/guests/hello.elf loads as a PVH kernel${unbuilt}`, (t) => {
  const image = new Uint8Array(readFileSync(helloPath));
  t.is(detectPayload(image), 'pvh-elf');
  const ram = freshRam();
  const boot = loadPvh(image, ram, { cmdline: 'hello', memoryMap });
  t.log(`hello.elf: entry 0x${boot.entry.toString(16)}, kernel end 0x${boot.kernelEnd.toString(16)}`);
  t.true(ram.contains(boot.entry, 1));
  t.not(ram.readU8(boot.entry), undefined);
  t.is(ram.readU32(boot.startInfoAddress), XEN_HVM_START_MAGIC);
});
