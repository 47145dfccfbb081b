import test from 'ava';
import { buildE820, E820Type, e820FromRegions, e820RamBytes } from '../../../src/boot/e820.js';
import { GiB, MiB } from '../../../src/boot/memory-layout.js';

const RAM = E820Type.RAM;
const RESERVED = E820Type.RESERVED;

function lowEntries(lowEnd: number) {
  return [
    { addr: 0, size: 0x9fc00, type: RAM },
    { addr: 0x9fc00, size: 0x100000 - 0x9fc00, type: RESERVED },
    { addr: 0x100000, size: lowEnd - 0x100000, type: RAM },
  ];
}

test('e820 for 32 MiB', (t) => {
  t.deepEqual(buildE820(32 * MiB), lowEntries(32 * MiB));
});

test('e820 for 256 MiB', (t) => {
  t.deepEqual(buildE820(256 * MiB), lowEntries(256 * MiB));
});

test('e820 for 3 GiB stops at the MMIO hole', (t) => {
  t.deepEqual(buildE820(3 * GiB), lowEntries(0xc000_0000));
});

test('e820 for 5 GiB continues at 4 GiB and leaves the hole out', (t) => {
  const map = buildE820(5 * GiB);
  t.deepEqual(map, [...lowEntries(0xc000_0000), { addr: 0x1_0000_0000, size: 2 * GiB, type: RAM }]);
  t.false(map.some((e) => e.addr < 0x1_0000_0000 && e.addr + e.size > 0xc000_0000));
});

test('e820 entries are sorted and disjoint, and RAM is all but the reserved legacy area', (t) => {
  for (const size of [32 * MiB, 256 * MiB, 3 * GiB, 5 * GiB]) {
    const map = buildE820(size);
    for (let i = 1; i < map.length; i++) t.true(map[i - 1].addr + map[i - 1].size <= map[i].addr);
    t.is(e820RamBytes(map), size - (0x100000 - 0x9fc00));
  }
});

test('e820 type numbers follow the ACPI address range types', (t) => {
  t.deepEqual(E820Type, { RAM: 1, RESERVED: 2, ACPI: 3, NVS: 4, UNUSABLE: 5 });
});

test('e820 needs RAM from 0 past 1 MiB', (t) => {
  t.throws(() => e820FromRegions([]), { instanceOf: RangeError, message: /from address 0/ });
  t.throws(() => e820FromRegions([{ gpa: 0, size: 0x80000, hostOffset: 0 }]), { instanceOf: RangeError });
  t.throws(() => e820FromRegions([{ gpa: 0x100000, size: 32 * MiB, hostOffset: 0 }]), { instanceOf: RangeError });
});
