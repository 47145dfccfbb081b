// A symbol's address in a test guest (an ELF32 with its symbol table), so a test can name the RAM the
// guest uses without copying addresses out of the assembly.
import { readFileSync } from 'node:fs';

const SHT_SYMTAB = 2;

export function guestSymbol(path: string, name: string): number {
  const elf = readFileSync(path);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 1) throw new Error(`${path}: not an ELF32 file`);
  const shoff = elf.readUInt32LE(0x20);
  const shentsize = elf.readUInt16LE(0x2e);
  const shnum = elf.readUInt16LE(0x30);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { type: elf.readUInt32LE(at + 4), offset: elf.readUInt32LE(at + 16), size: elf.readUInt32LE(at + 20), link: elf.readUInt32LE(at + 24) };
  };
  for (let i = 0; i < shnum; i++) {
    const symtab = section(i);
    if (symtab.type !== SHT_SYMTAB) continue;
    const strtab = section(symtab.link);
    for (let at = symtab.offset; at < symtab.offset + symtab.size; at += 16) {
      const nameAt = strtab.offset + elf.readUInt32LE(at);
      const end = elf.indexOf(0, nameAt);
      if (elf.toString('latin1', nameAt, end) === name) return elf.readUInt32LE(at + 4);
    }
  }
  throw new Error(`${path}: no symbol ${name}`);
}
