// Builds small synthetic ELF files for the loader tests: an ELF header, a program header table, the
// segments' bytes and, optionally, notes in a PT_NOTE segment or an SHT_NOTE section.

export interface SegmentSpec {
  /** p_type, PT_LOAD (1) unless given */
  type?: number;
  paddr: number;
  vaddr?: bigint;
  data: Uint8Array;
  /** defaults to data.length */
  memsz?: number;
  align?: number;
}

export interface NoteSpec {
  name: string;
  type: number;
  desc: Uint8Array;
}

export interface ElfSpec {
  bits: 32 | 64;
  machine?: number;
  elfType?: number;
  entry?: bigint;
  segments?: SegmentSpec[];
  notes?: NoteSpec[];
  /** where the notes go: a PT_NOTE segment (default) or an SHT_NOTE section only */
  notesIn?: 'segment' | 'section';
  /** 4 (default) or 8 */
  noteAlign?: 4 | 8;
}

const PT_LOAD = 1;
const PT_NOTE = 4;
const SHT_NOTE = 7;

export function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

export function u64le(value: bigint | number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), true);
  return out;
}

/** The Xen PHYS32_ENTRY note with a 4- or 8-byte descriptor. */
export function pvhNote(entry: number, descSize: 4 | 8 = 4): NoteSpec {
  return { name: 'Xen', type: 18, desc: descSize === 4 ? u32le(entry) : u64le(entry) };
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

export function encodeNotes(notes: readonly NoteSpec[], pad: 4 | 8 = 4): Uint8Array {
  const parts: number[] = [];
  for (const note of notes) {
    const name = new TextEncoder().encode(`${note.name}\0`);
    const start = parts.length;
    parts.push(...u32le(name.length), ...u32le(note.desc.length), ...u32le(note.type), ...name);
    while ((parts.length - start) % pad !== 0) parts.push(0);
    parts.push(...note.desc);
    while ((parts.length - start) % pad !== 0) parts.push(0);
  }
  return Uint8Array.from(parts);
}

export function buildElf(spec: ElfSpec): Uint8Array {
  const is64 = spec.bits === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const pad = spec.noteAlign ?? 4;
  const notes = spec.notes !== undefined && spec.notes.length > 0 ? encodeNotes(spec.notes, pad) : undefined;
  const notesInSegment = notes !== undefined && (spec.notesIn ?? 'segment') === 'segment';
  const segments = [...(spec.segments ?? [])];
  const phnum = segments.length + (notesInSegment ? 1 : 0);

  // Lay out: header, program headers, segment data, notes, section headers.
  let at = align(ehsize + phnum * phentsize, 16);
  const dataOffsets = segments.map((s) => {
    const offset = at;
    at = align(at + s.data.length, 16);
    return offset;
  });
  const notesOffset = at;
  if (notes !== undefined) at = align(at + notes.length, 16);
  const withSections = notes !== undefined && !notesInSegment;
  const shoff = withSections ? at : 0;
  const shnum = withSections ? 2 : 0;
  const total = at + shnum * shentsize;

  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1]);
  v.setUint16(16, spec.elfType ?? 2, true);
  v.setUint16(18, spec.machine ?? (is64 ? 62 : 3), true);
  v.setUint32(20, 1, true);
  const entry = spec.entry ?? 0n;
  if (is64) {
    v.setBigUint64(24, entry, true);
    v.setBigUint64(32, BigInt(ehsize), true);
    v.setBigUint64(40, BigInt(shoff), true);
    v.setUint16(52, ehsize, true);
    v.setUint16(54, phentsize, true);
    v.setUint16(56, phnum, true);
    v.setUint16(58, shentsize, true);
    v.setUint16(60, shnum, true);
  } else {
    v.setUint32(24, Number(entry), true);
    v.setUint32(28, ehsize, true);
    v.setUint32(32, shoff, true);
    v.setUint16(40, ehsize, true);
    v.setUint16(42, phentsize, true);
    v.setUint16(44, phnum, true);
    v.setUint16(46, shentsize, true);
    v.setUint16(48, shnum, true);
  }

  const phdrs = segments.map((s, i) => ({
    type: s.type ?? PT_LOAD, offset: dataOffsets[i], vaddr: s.vaddr ?? BigInt(s.paddr), paddr: s.paddr,
    filesz: s.data.length, memsz: s.memsz ?? s.data.length, align: s.align ?? 0x1000,
  }));
  if (notesInSegment && notes !== undefined) {
    phdrs.push({ type: PT_NOTE, offset: notesOffset, vaddr: 0n, paddr: 0, filesz: notes.length, memsz: notes.length, align: pad });
  }
  phdrs.forEach((ph, i) => {
    const p = ehsize + i * phentsize;
    if (is64) {
      v.setUint32(p, ph.type, true);
      v.setUint32(p + 4, 5, true);
      v.setBigUint64(p + 8, BigInt(ph.offset), true);
      v.setBigUint64(p + 16, ph.vaddr, true);
      v.setBigUint64(p + 24, BigInt(ph.paddr), true);
      v.setBigUint64(p + 32, BigInt(ph.filesz), true);
      v.setBigUint64(p + 40, BigInt(ph.memsz), true);
      v.setBigUint64(p + 48, BigInt(ph.align), true);
    } else {
      v.setUint32(p, ph.type, true);
      v.setUint32(p + 4, ph.offset, true);
      v.setUint32(p + 8, Number(ph.vaddr), true);
      v.setUint32(p + 12, ph.paddr, true);
      v.setUint32(p + 16, ph.filesz, true);
      v.setUint32(p + 20, ph.memsz, true);
      v.setUint32(p + 24, 5, true);
      v.setUint32(p + 28, ph.align, true);
    }
  });
  segments.forEach((s, i) => out.set(s.data, dataOffsets[i]));
  if (notes !== undefined) out.set(notes, notesOffset);

  if (withSections && notes !== undefined) {
    // section 0 is the null section; section 1 holds the notes
    const p = shoff + shentsize;
    v.setUint32(p + 4, SHT_NOTE, true);
    if (is64) {
      v.setBigUint64(p + 24, BigInt(notesOffset), true);
      v.setBigUint64(p + 32, BigInt(notes.length), true);
      v.setBigUint64(p + 48, BigInt(pad), true);
    } else {
      v.setUint32(p + 16, notesOffset, true);
      v.setUint32(p + 20, notes.length, true);
      v.setUint32(p + 32, pad, true);
    }
  }
  return out;
}

/** Byte offsets of fields the error tests corrupt. */
export const ElfOffsets = {
  CLASS: 4,
  DATA: 5,
  VERSION: 6,
  TYPE: 16,
  MACHINE: 18,
  phnum: (bits: 32 | 64) => (bits === 64 ? 56 : 44),
  phentsize: (bits: 32 | 64) => (bits === 64 ? 54 : 42),
  phoff: (bits: 32 | 64) => (bits === 64 ? 32 : 28),
  phdr: (bits: 32 | 64, index: number) => (bits === 64 ? 64 + index * 56 : 52 + index * 32),
} as const;
