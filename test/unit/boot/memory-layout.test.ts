import test from 'ava';
import {
  BOOT_AREAS,
  BOOT_PAGE_TABLES_END,
  BOOT_PD_ADDRESS,
  BOOT_PDPT_ADDRESS,
  BOOT_PML4_ADDRESS,
  BOOT_STACK_END,
  BOOT_STACK_POINTER,
  BOOT_STACK_START,
  CMDLINE_ADDRESS,
  GiB,
  HIGH_MEMORY_START,
  HIGH_RAM_START,
  KiB,
  lowRamEnd,
  MiB,
  MMIO_HOLE_START,
  overlaps,
  PVH_AREA_END,
  PVH_MEMMAP_ADDRESS,
  PVH_MEMMAP_MAX_ENTRIES,
  PVH_MODLIST_ADDRESS,
  PVH_MODLIST_MAX_ENTRIES,
  PVH_START_INFO_ADDRESS,
  ramRegions,
  RSDP_ADDRESS,
  ZERO_PAGE_ADDRESS,
} from '../../../src/boot/memory-layout.js';

test('32 MiB is one low region', (t) => {
  t.deepEqual(ramRegions(32 * MiB), [{ gpa: 0, size: 32 * MiB, hostOffset: 0 }]);
});

test('256 MiB is one low region', (t) => {
  t.deepEqual(ramRegions(256 * MiB), [{ gpa: 0, size: 256 * MiB, hostOffset: 0 }]);
});

test('3 GiB fills the low region up to the MMIO hole', (t) => {
  const regions = ramRegions(3 * GiB);
  t.deepEqual(regions, [{ gpa: 0, size: 3 * GiB, hostOffset: 0 }]);
  t.is(lowRamEnd(regions), MMIO_HOLE_START);
});

test('5 GiB puts 2 GiB above 4 GiB, right after the low region in the host mapping', (t) => {
  t.deepEqual(ramRegions(5 * GiB), [
    { gpa: 0, size: 3 * GiB, hostOffset: 0 },
    { gpa: 0x1_0000_0000, size: 2 * GiB, hostOffset: 3 * GiB },
  ]);
  t.is(HIGH_RAM_START, 4 * GiB);
});

test('one page over 3 GiB goes above 4 GiB', (t) => {
  const regions = ramRegions(3 * GiB + 4 * KiB);
  t.is(regions.length, 2);
  t.deepEqual(regions[1], { gpa: 4 * GiB, size: 4 * KiB, hostOffset: 3 * GiB });
});

test('RAM sizes are validated', (t) => {
  t.throws(() => ramRegions(32 * MiB + 1), { instanceOf: RangeError, message: /not a multiple of the 4096-byte page/ });
  t.throws(() => ramRegions(8 * MiB), { instanceOf: RangeError, message: /below the minimum of 16 MiB/ });
  t.throws(() => ramRegions(256), { instanceOf: RangeError, message: /below the minimum/ });
  t.throws(() => ramRegions(0), { instanceOf: RangeError, message: /positive whole number/ });
  t.throws(() => ramRegions(-4096), { instanceOf: RangeError, message: /positive whole number/ });
  t.throws(() => ramRegions(1.5 * MiB + 0.5), { instanceOf: RangeError, message: /positive whole number/ });
  t.throws(() => ramRegions(Number.NaN), { instanceOf: RangeError });
  t.throws(() => ramRegions(2048 * GiB), { instanceOf: RangeError, message: /above the maximum of 1024 GiB/ });
  t.notThrows(() => ramRegions(16 * MiB));
});

test('the boot areas lie below 1 MiB and do not overlap', (t) => {
  for (const area of BOOT_AREAS) {
    t.true(area.start < area.end, area.name);
    t.true(area.end <= HIGH_MEMORY_START, area.name);
  }
  for (const a of BOOT_AREAS) {
    for (const b of BOOT_AREAS) {
      if (a !== b) t.false(overlaps(a.start, a.end, b.start, b.end), `${a.name} / ${b.name}`);
    }
  }
});

test('the PVH tables fit their page, before the zero page', (t) => {
  t.is(PVH_START_INFO_ADDRESS, 0x6000);
  t.true(PVH_START_INFO_ADDRESS + 56 <= PVH_MODLIST_ADDRESS);
  t.true(PVH_MODLIST_ADDRESS + PVH_MODLIST_MAX_ENTRIES * 32 <= PVH_MEMMAP_ADDRESS);
  t.true(PVH_MEMMAP_ADDRESS + PVH_MEMMAP_MAX_ENTRIES * 24 <= PVH_AREA_END);
  t.is(PVH_AREA_END, ZERO_PAGE_ADDRESS);
  t.is(ZERO_PAGE_ADDRESS, 0x7000);
  t.is(CMDLINE_ADDRESS, 0x20000);
  t.is(RSDP_ADDRESS, 0xa0000);
  t.is(HIGH_MEMORY_START, 0x100000);
  t.is(MMIO_HOLE_START, 0xc000_0000);
});

test('overlaps treats ranges as half-open', (t) => {
  t.false(overlaps(0, 10, 10, 20));
  t.true(overlaps(0, 11, 10, 20));
  t.true(overlaps(12, 13, 10, 20));
});

test('the bzImage boot stack and page tables sit between the zero page and the command line', (t) => {
  t.is(BOOT_STACK_START, ZERO_PAGE_ADDRESS + 0x1000);
  t.true(BOOT_STACK_POINTER > BOOT_STACK_START && BOOT_STACK_POINTER < BOOT_STACK_END);
  t.is(BOOT_PML4_ADDRESS, 0x9000);
  t.is(BOOT_PDPT_ADDRESS, 0xa000);
  t.is(BOOT_PD_ADDRESS, 0xb000);
  t.is(BOOT_PAGE_TABLES_END, 0xf000);
  t.true(BOOT_PAGE_TABLES_END <= CMDLINE_ADDRESS);
  for (const name of ['boot stack', 'boot page tables']) t.true(BOOT_AREAS.some((area) => area.name === name), name);
});
