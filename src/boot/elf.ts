// A minimal ELF reader for kernels: little-endian ELF32/ELF64 for x86 and x86-64, enough to load
// PT_LOAD segments by physical address and to read notes (the Xen PVH entry note in particular).
// Layouts from the System V gABI (ELF header, program header, section header, note entries).

export class ElfError extends Error {
  override name = 'ElfError';
}

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"
export const ElfClass = { ELF32: 1, ELF64: 2 } as const;
export const ELFDATA2LSB = 1;
export const EV_CURRENT = 1;
export const ElfType = { REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;
export const ElfMachine = { I386: 3, X86_64: 62 } as const;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_NOTE = 7;

/** Xen's ELF note owner name, and the note giving the 32-bit PVH entry point (public/elfnote.h). */
export const XEN_ELFNOTE_NAME = 'Xen';
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

export interface ElfHeader {
  bits: 32 | 64;
  type: number;
  machine: number;
  /** e_entry: a virtual address, often above 2^53 for 64-bit kernels, hence bigint */
  entry: bigint;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
}

export interface ProgramHeader {
  index: number;
  type: number;
  flags: number;
  offset: number;
  /** virtual address: a bigint, since kernel virtual addresses exceed 2^53 */
  vaddr: bigint;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface SectionHeader {
  index: number;
  type: number;
  offset: number;
  size: number;
  addralign: number;
}

export interface ElfNote {
  name: string;
  type: number;
  /** a view into the file's bytes */
  desc: Uint8Array;
}

export interface ElfFile {
  bytes: Uint8Array;
  header: ElfHeader;
  programHeaders: ProgramHeader[];
}

const ELF32_HEADER_SIZE = 52;
const ELF64_HEADER_SIZE = 64;
const ELF32_PHDR_SIZE = 32;
const ELF64_PHDR_SIZE = 56;
const ELF32_SHDR_SIZE = 40;
const ELF64_SHDR_SIZE = 64;
const NOTE_HEADER_SIZE = 12;

export function hasElfMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

/** Parses and validates the ELF header and program header table. Throws ElfError on anything odd. */
export function parseElf(bytes: Uint8Array): ElfFile {
  const header = parseHeader(bytes);
  const programHeaders = parseProgramHeaders(bytes, header);
  return { bytes, header, programHeaders };
}

function parseHeader(bytes: Uint8Array): ElfHeader {
  if (!hasElfMagic(bytes)) throw new ElfError('not an ELF file (no \\x7fELF magic)');
  if (bytes.length < 16) throw new ElfError(`truncated ELF header: the file has ${bytes.length} bytes`);
  const elfClass = bytes[4];
  if (elfClass !== ElfClass.ELF32 && elfClass !== ElfClass.ELF64) {
    throw new ElfError(`unsupported ELF class ${elfClass} (expected 1 for ELF32 or 2 for ELF64)`);
  }
  if (bytes[5] !== ELFDATA2LSB) {
    throw new ElfError(`unsupported ELF data encoding ${bytes[5]}: only little-endian ELF files are supported`);
  }
  if (bytes[6] !== EV_CURRENT) throw new ElfError(`unsupported ELF version ${bytes[6]} (expected 1)`);
  const bits = elfClass === ElfClass.ELF32 ? 32 : 64;
  const headerSize = bits === 32 ? ELF32_HEADER_SIZE : ELF64_HEADER_SIZE;
  if (bytes.length < headerSize) {
    throw new ElfError(`truncated ELF header: the file has ${bytes.length} bytes, an ELF${bits} header needs ${headerSize}`);
  }
  const r = new Reader(bytes);
  const type = r.u16(16);
  const machine = r.u16(18);
  const header: ElfHeader =
    bits === 32
      ? {
          bits, type, machine,
          entry: BigInt(r.u32(24)),
          phoff: r.u32(28), shoff: r.u32(32),
          phentsize: r.u16(42), phnum: r.u16(44), shentsize: r.u16(46), shnum: r.u16(48),
        }
      : {
          bits, type, machine,
          entry: r.u64(24),
          phoff: r.u64n(32, 'e_phoff'), shoff: r.u64n(40, 'e_shoff'),
          phentsize: r.u16(54), phnum: r.u16(56), shentsize: r.u16(58), shnum: r.u16(60),
        };
  if (type !== ElfType.EXEC && type !== ElfType.DYN) {
    throw new ElfError(`unsupported ELF type ${type}: a kernel must be an executable (ET_EXEC = 2 or ET_DYN = 3)`);
  }
  if (machine !== ElfMachine.I386 && machine !== ElfMachine.X86_64) {
    throw new ElfError(`unsupported ELF machine ${machine}: nodevmm loads x86 (EM_386 = 3) and x86-64 (EM_X86_64 = 62) kernels`);
  }
  return header;
}

function parseProgramHeaders(bytes: Uint8Array, h: ElfHeader): ProgramHeader[] {
  if (h.phnum === 0) return [];
  const expected = h.bits === 32 ? ELF32_PHDR_SIZE : ELF64_PHDR_SIZE;
  if (h.phentsize !== expected) {
    throw new ElfError(`unexpected program header size ${h.phentsize} (ELF${h.bits} uses ${expected})`);
  }
  const tableEnd = h.phoff + h.phnum * h.phentsize;
  if (tableEnd > bytes.length) {
    throw new ElfError(
      `truncated program header table: ${h.phnum} headers at offset ${h.phoff} end at ${tableEnd}, ` +
        `past the end of the file (${bytes.length} bytes)`,
    );
  }
  const r = new Reader(bytes);
  const headers: ProgramHeader[] = [];
  for (let index = 0; index < h.phnum; index++) {
    const at = h.phoff + index * h.phentsize;
    const ph: ProgramHeader =
      h.bits === 32
        ? {
            index, type: r.u32(at), offset: r.u32(at + 4), vaddr: BigInt(r.u32(at + 8)), paddr: r.u32(at + 12),
            filesz: r.u32(at + 16), memsz: r.u32(at + 20), flags: r.u32(at + 24), align: r.u32(at + 28),
          }
        : {
            index, type: r.u32(at), flags: r.u32(at + 4), offset: r.u64n(at + 8, 'p_offset'), vaddr: r.u64(at + 16),
            paddr: r.u64n(at + 24, 'p_paddr'), filesz: r.u64n(at + 32, 'p_filesz'),
            memsz: r.u64n(at + 40, 'p_memsz'), align: r.u64n(at + 48, 'p_align'),
          };
    if (ph.type === PT_LOAD || ph.type === PT_NOTE) checkFileRange(bytes, ph);
    if (ph.type === PT_LOAD && ph.filesz > ph.memsz) {
      throw new ElfError(`PT_LOAD segment ${index}: p_filesz ${ph.filesz} exceeds p_memsz ${ph.memsz}`);
    }
    headers.push(ph);
  }
  return headers;
}

function checkFileRange(bytes: Uint8Array, ph: ProgramHeader): void {
  if (ph.offset + ph.filesz > bytes.length) {
    throw new ElfError(
      `truncated ${segmentTypeName(ph.type)} segment ${ph.index}: file bytes [${ph.offset}, ${ph.offset + ph.filesz}) ` +
        `go past the end of the file (${bytes.length} bytes)`,
    );
  }
}

function segmentTypeName(type: number): string {
  return type === PT_LOAD ? 'PT_LOAD' : type === PT_NOTE ? 'PT_NOTE' : `type ${type}`;
}

/** The PT_LOAD segments that occupy memory (p_memsz > 0), in file order. */
export function loadSegments(elf: ElfFile): ProgramHeader[] {
  return elf.programHeaders.filter((ph) => ph.type === PT_LOAD && ph.memsz > 0);
}

/** The section header table; parsed on demand because loading never needs it. */
export function parseSectionHeaders(elf: ElfFile): SectionHeader[] {
  const { bytes, header: h } = elf;
  if (h.shnum === 0 || h.shoff === 0) return [];
  const expected = h.bits === 32 ? ELF32_SHDR_SIZE : ELF64_SHDR_SIZE;
  if (h.shentsize !== expected) {
    throw new ElfError(`unexpected section header size ${h.shentsize} (ELF${h.bits} uses ${expected})`);
  }
  const tableEnd = h.shoff + h.shnum * h.shentsize;
  if (tableEnd > bytes.length) {
    throw new ElfError(
      `truncated section header table: ${h.shnum} headers at offset ${h.shoff} end at ${tableEnd}, ` +
        `past the end of the file (${bytes.length} bytes)`,
    );
  }
  const r = new Reader(bytes);
  const sections: SectionHeader[] = [];
  for (let index = 0; index < h.shnum; index++) {
    const at = h.shoff + index * h.shentsize;
    sections.push(
      h.bits === 32
        ? { index, type: r.u32(at + 4), offset: r.u32(at + 16), size: r.u32(at + 20), addralign: r.u32(at + 32) }
        : {
            index, type: r.u32(at + 4), offset: r.u64n(at + 24, 'sh_offset'), size: r.u64n(at + 32, 'sh_size'),
            addralign: r.u64n(at + 48, 'sh_addralign'),
          },
    );
  }
  return sections;
}

/**
 * Parses the notes in bytes [offset, offset + size) of the file. Entries are padded to 4 bytes, or to
 * 8 when the segment/section is 8-aligned (as GNU property notes in ELF64 are).
 */
export function parseNotes(bytes: Uint8Array, offset: number, size: number, alignment: number, where: string): ElfNote[] {
  if (offset + size > bytes.length) {
    throw new ElfError(`truncated notes in ${where}: bytes [${offset}, ${offset + size}) go past the end of the file`);
  }
  const pad = alignment === 8 ? 8 : 4;
  const r = new Reader(bytes);
  const notes: ElfNote[] = [];
  const end = offset + size;
  let at = offset;
  while (at < end) {
    if (at + NOTE_HEADER_SIZE > end) throw new ElfError(`truncated note header in ${where} at file offset ${at}`);
    const namesz = r.u32(at);
    const descsz = r.u32(at + 4);
    const type = r.u32(at + 8);
    const nameAt = at + NOTE_HEADER_SIZE;
    const descAt = offset + alignUpTo(nameAt + namesz - offset, pad);
    const next = offset + alignUpTo(descAt + descsz - offset, pad);
    if (nameAt + namesz > end || descAt + descsz > end) {
      throw new ElfError(`truncated note in ${where} at file offset ${at}: name ${namesz} bytes, desc ${descsz} bytes`);
    }
    notes.push({ name: noteName(bytes.subarray(nameAt, nameAt + namesz)), type, desc: bytes.subarray(descAt, descAt + descsz) });
    at = next;
  }
  return notes;
}

/** Every note of the file: from PT_NOTE segments, or from SHT_NOTE sections when there are none. */
export function elfNotes(elf: ElfFile): ElfNote[] {
  const segments = elf.programHeaders.filter((ph) => ph.type === PT_NOTE);
  if (segments.length > 0) {
    return segments.flatMap((ph) => parseNotes(elf.bytes, ph.offset, ph.filesz, ph.align, `PT_NOTE segment ${ph.index}`));
  }
  return parseSectionHeaders(elf)
    .filter((sh) => sh.type === SHT_NOTE)
    .flatMap((sh) => parseNotes(elf.bytes, sh.offset, sh.size, sh.addralign, `SHT_NOTE section ${sh.index}`));
}

/**
 * The 32-bit PVH entry point from the Xen note XEN_ELFNOTE_PHYS32_ENTRY, or undefined when the file
 * has none. Its descriptor is the address as a 4-byte (Linux: .long) or 8-byte little-endian integer.
 */
export function findPvhEntry(elf: ElfFile): number | undefined {
  const note = elfNotes(elf).find((n) => n.name === XEN_ELFNOTE_NAME && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
  if (note === undefined) return undefined;
  const view = new DataView(note.desc.buffer, note.desc.byteOffset, note.desc.byteLength);
  if (note.desc.length === 4) return view.getUint32(0, true);
  if (note.desc.length === 8) {
    const entry = view.getBigUint64(0, true);
    if (entry > 0xffff_ffffn) {
      throw new ElfError(`Xen PHYS32_ENTRY note gives entry 0x${entry.toString(16)}, which is not a 32-bit address`);
    }
    return Number(entry);
  }
  throw new ElfError(`Xen PHYS32_ENTRY note has a ${note.desc.length}-byte descriptor (expected 4 or 8)`);
}

function noteName(raw: Uint8Array): string {
  const nul = raw.indexOf(0);
  return new TextDecoder('latin1').decode(nul >= 0 ? raw.subarray(0, nul) : raw);
}

function alignUpTo(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Little-endian reads; 64-bit offsets and sizes are returned as numbers only when exact. */
class Reader {
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  u64(at: number): bigint {
    return this.view.getBigUint64(at, true);
  }

  u64n(at: number, field: string): number {
    const value = this.u64(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ElfError(`${field} 0x${value.toString(16)} is too large`);
    }
    return Number(value);
  }
}
