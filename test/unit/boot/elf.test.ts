import test from 'ava';
import {
  ElfError,
  elfNotes,
  findPvhEntry,
  loadSegments,
  parseElf,
  parseNotes,
  PT_LOAD,
  PT_NOTE,
} from '../../../src/boot/elf.js';
import { buildElf, ElfOffsets, encodeNotes, pvhNote, u32le } from './elf-builder.js';

const code = Uint8Array.of(0xf4, 0xeb, 0xfd); // hlt; jmp .-1
const data = Uint8Array.from({ length: 40 }, (_, i) => i + 1);

for (const bits of [32, 64] as const) {
  test(`ELF${bits}: header and program headers`, (t) => {
    const image = buildElf({
      bits,
      entry: 0x100000n,
      segments: [
        { paddr: 0x100000, data: code },
        { paddr: 0x200000, data, memsz: 0x1000, align: 0x200000 },
      ],
      notes: [pvhNote(0x100000)],
    });
    const elf = parseElf(image);
    t.is(elf.header.bits, bits);
    t.is(elf.header.machine, bits === 64 ? 62 : 3);
    t.is(elf.header.entry, 0x100000n);
    t.is(elf.programHeaders.length, 3);
    const [text, bss, note] = elf.programHeaders;
    t.is(text.type, PT_LOAD);
    t.is(text.paddr, 0x100000);
    t.is(text.filesz, 3);
    t.is(text.memsz, 3);
    t.deepEqual([...image.subarray(text.offset, text.offset + text.filesz)], [...code]);
    t.is(bss.paddr, 0x200000);
    t.is(bss.filesz, 40);
    t.is(bss.memsz, 0x1000);
    t.is(bss.align, 0x200000);
    t.is(note.type, PT_NOTE);
    t.deepEqual(loadSegments(elf).map((ph) => ph.index), [0, 1]);
  });

  for (const descSize of [4, 8] as const) {
    test(`ELF${bits}: PVH note with a ${descSize}-byte descriptor`, (t) => {
      const image = buildElf({ bits, segments: [{ paddr: 0x100000, data: code }], notes: [pvhNote(0x100123, descSize)] });
      t.is(findPvhEntry(parseElf(image)), 0x100123);
    });
  }

  test(`ELF${bits}: the PVH note is found among other notes and in an SHT_NOTE section`, (t) => {
    const others = [
      { name: 'GNU', type: 3, desc: Uint8Array.from({ length: 20 }, (_, i) => i) },
      { name: 'Xen', type: 6, desc: new TextEncoder().encode('linux\0') },
      { name: 'Linux', type: 18, desc: u32le(0xbad) }, // same type, other owner
    ];
    const inSegment = buildElf({ bits, notes: [...others, pvhNote(0x1000000)] });
    t.is(findPvhEntry(parseElf(inSegment)), 0x1000000);
    t.deepEqual(elfNotes(parseElf(inSegment)).map((n) => n.name), ['GNU', 'Xen', 'Linux', 'Xen']);
    const inSection = buildElf({ bits, notes: [...others, pvhNote(0x1000000, 8)], notesIn: 'section' });
    t.is(parseElf(inSection).programHeaders.length, 0);
    t.is(findPvhEntry(parseElf(inSection)), 0x1000000);
  });

  test(`ELF${bits}: no PVH note gives undefined`, (t) => {
    t.is(findPvhEntry(parseElf(buildElf({ bits, segments: [{ paddr: 0x100000, data: code }] }))), undefined);
    t.is(findPvhEntry(parseElf(buildElf({ bits, notes: [{ name: 'GNU', type: 18, desc: u32le(1) }] }))), undefined);
  });

  test(`ELF${bits}: truncated program header table`, (t) => {
    const image = buildElf({ bits, segments: [{ paddr: 0x100000, data: code }] });
    new DataView(image.buffer).setUint16(ElfOffsets.phnum(bits), 400, true);
    t.throws(() => parseElf(image), { instanceOf: ElfError, message: /^truncated program header table: 400 headers/ });
  });

  test(`ELF${bits}: wrong program header size`, (t) => {
    const image = buildElf({ bits, segments: [{ paddr: 0x100000, data: code }] });
    new DataView(image.buffer).setUint16(ElfOffsets.phentsize(bits), 12, true);
    t.throws(() => parseElf(image), { instanceOf: ElfError, message: /unexpected program header size 12/ });
  });

  test(`ELF${bits}: a segment past the end of the file`, (t) => {
    const image = buildElf({ bits, segments: [{ paddr: 0x100000, data: code }] });
    const cut = parseElf(image).programHeaders[0].offset + 1;
    t.throws(() => parseElf(image.subarray(0, cut)), {
      instanceOf: ElfError,
      message: /truncated PT_LOAD segment 0: file bytes \[\d+, \d+\) go past the end of the file/,
    });
  });

  test(`ELF${bits}: p_filesz larger than p_memsz`, (t) => {
    const image = buildElf({ bits, segments: [{ paddr: 0x100000, data, memsz: 8 }] });
    t.throws(() => parseElf(image), { instanceOf: ElfError, message: 'PT_LOAD segment 0: p_filesz 40 exceeds p_memsz 8' });
  });

  test(`ELF${bits}: a PVH note with an odd descriptor size`, (t) => {
    const image = buildElf({ bits, notes: [{ name: 'Xen', type: 18, desc: Uint8Array.of(1, 2, 3) }] });
    t.throws(() => findPvhEntry(parseElf(image)), { instanceOf: ElfError, message: /3-byte descriptor \(expected 4 or 8\)/ });
  });

  test(`ELF${bits}: a PVH note above 4 GiB`, (t) => {
    const image = buildElf({ bits, notes: [pvhNote(0, 8)] });
    const elf = parseElf(image);
    const note = elfNotes(elf)[0];
    new DataView(note.desc.buffer, note.desc.byteOffset).setBigUint64(0, 0x1_0000_0000n, true);
    t.throws(() => findPvhEntry(elf), { instanceOf: ElfError, message: /not a 32-bit address/ });
  });
}

test('ELF64 kernel virtual addresses above 2^53 are kept exactly', (t) => {
  const image = buildElf({
    bits: 64,
    entry: 0xffff_ffff_8100_0000n,
    segments: [{ paddr: 0x1000000, vaddr: 0xffff_ffff_8100_0000n, data: code }],
  });
  const elf = parseElf(image);
  t.is(elf.header.entry, 0xffff_ffff_8100_0000n);
  t.is(elf.programHeaders[0].vaddr, 0xffff_ffff_8100_0000n);
  t.is(elf.programHeaders[0].paddr, 0x1000000);
});

test('8-byte aligned notes', (t) => {
  const notes = [{ name: 'GNU', type: 5, desc: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) }, pvhNote(0x100000)];
  const image = buildElf({ bits: 64, notes, noteAlign: 8 });
  t.is(findPvhEntry(parseElf(image)), 0x100000);
  const raw = encodeNotes(notes, 8);
  t.deepEqual(parseNotes(raw, 0, raw.length, 8, 'test').map((n) => n.desc.length), [12, 4]);
});

test('truncated notes are reported', (t) => {
  const raw = encodeNotes([pvhNote(0x100000)]);
  t.throws(() => parseNotes(raw, 0, raw.length - 2, 4, 'PT_NOTE segment 1'), {
    instanceOf: ElfError,
    message: /^truncated note in PT_NOTE segment 1 at file offset 0/,
  });
  t.throws(() => parseNotes(raw, 0, 6, 4, 'X'), { instanceOf: ElfError, message: /^truncated note header in X/ });
});

test('header validation errors', (t) => {
  const good = () => buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: code }] });
  t.throws(() => parseElf(new Uint8Array(100)), { instanceOf: ElfError, message: /^not an ELF file/ });
  t.throws(() => parseElf(new Uint8Array(0)), { instanceOf: ElfError, message: /^not an ELF file/ });
  t.throws(() => parseElf(good().subarray(0, 10)), { instanceOf: ElfError, message: /^truncated ELF header: the file has 10 bytes/ });
  t.throws(() => parseElf(good().subarray(0, 40)), {
    instanceOf: ElfError,
    message: 'truncated ELF header: the file has 40 bytes, an ELF64 header needs 64',
  });
  const corrupt = (offset: number, value: number, width: 1 | 2 = 1) => {
    const image = good();
    if (width === 1) image[offset] = value;
    else new DataView(image.buffer).setUint16(offset, value, true);
    return image;
  };
  t.throws(() => parseElf(corrupt(ElfOffsets.CLASS, 3)), { instanceOf: ElfError, message: /^unsupported ELF class 3/ });
  t.throws(() => parseElf(corrupt(ElfOffsets.DATA, 2)), { instanceOf: ElfError, message: /^unsupported ELF data encoding 2: only little-endian/ });
  t.throws(() => parseElf(corrupt(ElfOffsets.VERSION, 0)), { instanceOf: ElfError, message: /^unsupported ELF version 0/ });
  t.throws(() => parseElf(corrupt(ElfOffsets.TYPE, 1, 2)), { instanceOf: ElfError, message: /^unsupported ELF type 1/ });
  t.throws(() => parseElf(corrupt(ElfOffsets.MACHINE, 183, 2)), { instanceOf: ElfError, message: /^unsupported ELF machine 183/ });
  t.notThrows(() => parseElf(corrupt(ElfOffsets.TYPE, 3, 2)));
});

test('a 64-bit offset beyond 2^53 is refused', (t) => {
  const image = buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: code }] });
  new DataView(image.buffer).setBigUint64(ElfOffsets.phdr(64, 0) + 24, 1n << 60n, true);
  t.throws(() => parseElf(image), { instanceOf: ElfError, message: /^p_paddr 0x1000000000000000 is too large/ });
});
