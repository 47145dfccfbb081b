import test from 'ava';
import { GuestRam } from '../../../src/boot/guest-ram.js';
import { GiB, MiB, ramRegions } from '../../../src/boot/memory-layout.js';
import { IDENTITY_MAP_CR3, IDENTITY_MAP_SIZE, writeIdentityPageTables } from '../../../src/boot/page-tables.js';

const PRESENT = 1n;
const WRITABLE = 2n;
const PAGE_SIZE_BIT = 0x80n;
const ADDRESS_MASK = 0x000f_ffff_ffff_f000n;

/**
 * Translates a virtual address the way the CPU does with 4-level paging (Intel SDM vol. 3, 4.5),
 * written independently of the code under test. Returns undefined when a level is not present, and
 * also reports whether every level allows writes.
 */
function translate(ram: GuestRam, cr3: bigint, va: bigint): { pa: bigint; writable: boolean } | undefined {
  let table = cr3 & ADDRESS_MASK;
  let writable = true;
  const levels = [39n, 30n, 21n, 12n];
  for (const [depth, shift] of levels.entries()) {
    const index = (va >> shift) & 0x1ffn;
    const entry = ram.readU64(Number(table + index * 8n));
    if ((entry & PRESENT) === 0n) return undefined;
    writable &&= (entry & WRITABLE) !== 0n;
    const leaf = depth === 3 || ((depth === 1 || depth === 2) && (entry & PAGE_SIZE_BIT) !== 0n);
    if (leaf) {
      const offsetMask = (1n << shift) - 1n;
      return { pa: (entry & ADDRESS_MASK & ~offsetMask) | (va & offsetMask), writable };
    }
    table = entry & ADDRESS_MASK;
  }
  return undefined;
}

function dirtyRam(): GuestRam {
  const ram = GuestRam.allocate(ramRegions(32 * MiB));
  ram.fill(0, 1 * MiB, 0xff);
  return ram;
}

test('the first 4 GiB translate to themselves, writable', (t) => {
  const ram = dirtyRam();
  const cr3 = writeIdentityPageTables(ram);
  t.is(cr3, 0x9000n);
  t.is(cr3, IDENTITY_MAP_CR3);
  t.is(IDENTITY_MAP_SIZE, 4 * GiB);
  const addresses = [
    0n, 0x7000n, 0x8ff0n, 0x2_0000n, 0x10_0000n, 0x1f_ffffn, 0x20_0000n, 0x100_0200n, 0x1234_5678n,
    0x3fff_ffffn, 0x4000_0000n, 0xbfff_f000n, 0xc000_0000n, 0xfee0_0000n, 0xffff_ffffn,
  ];
  for (const va of addresses) {
    t.deepEqual(translate(ram, cr3, va), { pa: va, writable: true }, `0x${va.toString(16)}`);
  }
});

test('nothing above 4 GiB is mapped', (t) => {
  const ram = dirtyRam();
  const cr3 = writeIdentityPageTables(ram);
  t.is(translate(ram, cr3, 0x1_0000_0000n), undefined);
  t.is(translate(ram, cr3, 0x80_0000_0000n), undefined); // PML4[1]
  t.is(translate(ram, cr3, 0xffff_8000_0000_0000n), undefined); // the kernel's half
});

test('the entries: PML4 -> PDPT -> four PDs of 2 MiB pages, stale entries cleared', (t) => {
  const ram = dirtyRam();
  writeIdentityPageTables(ram);
  t.is(ram.readU64(0x9000), 0xa003n);
  for (let i = 1; i < 512; i++) t.is(ram.readU64(0x9000 + i * 8), 0n);
  t.deepEqual([0, 1, 2, 3].map((i) => ram.readU64(0xa000 + i * 8)), [0xb003n, 0xc003n, 0xd003n, 0xe003n]);
  for (let i = 4; i < 512; i++) t.is(ram.readU64(0xa000 + i * 8), 0n);
  t.is(ram.readU64(0xb000), 0x83n);
  t.is(ram.readU64(0xb008), 0x20_0083n);
  t.is(ram.readU64(0xc000), 0x4000_0083n);
  t.is(ram.readU64(0xeff8), 0xffe0_0083n);
  t.is(ram.readU8(0xf000), 0xff, 'nothing is written past the last page directory');
  t.is(ram.readU8(0x8fff), 0xff, 'nor before the PML4');
});
