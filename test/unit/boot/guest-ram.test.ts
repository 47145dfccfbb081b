import test from 'ava';
import { GuestRam } from '../../../src/boot/guest-ram.js';
import { GiB, KiB, MiB, ramRegions, type RamRegion } from '../../../src/boot/memory-layout.js';

/** Two small regions with a gap, like the low and high RAM around the MMIO hole. */
const SPLIT: RamRegion[] = [
  { gpa: 0, size: 64 * KiB, hostOffset: 0 },
  { gpa: 0x1_0000_0000, size: 16 * KiB, hostOffset: 64 * KiB },
];

test('write and read round-trip; read is a view, not a copy', (t) => {
  const ram = GuestRam.allocate(ramRegions(32 * MiB));
  ram.write(0x1000, Uint8Array.of(1, 2, 3, 4));
  const view = ram.read(0x1000, 4);
  t.deepEqual([...view], [1, 2, 3, 4]);
  view[0] = 9;
  t.is(ram.readU8(0x1000), 9);
  t.is(ram.size, 32 * MiB);
});

test('the regions sit at their host offsets in the one mapping', (t) => {
  const memory = new Uint8Array(80 * KiB);
  const ram = new GuestRam(memory, SPLIT);
  ram.writeU8(0x1_0000_0000, 0xab);
  ram.writeU8(0x10, 0xcd);
  t.is(memory[64 * KiB], 0xab);
  t.is(memory[0x10], 0xcd);
});

test('an ArrayBuffer mapping and per-region views work too', (t) => {
  const buffer = new ArrayBuffer(80 * KiB);
  new GuestRam(buffer, SPLIT).writeU32(0x1_0000_0004, 0x11223344);
  t.is(new DataView(buffer).getUint32(64 * KiB + 4, true), 0x11223344);

  const low = new Uint8Array(64 * KiB);
  const high = new Uint8Array(16 * KiB);
  new GuestRam([low, high], SPLIT).writeU16(0x1_0000_0000, 0xbeef);
  t.deepEqual([...high.subarray(0, 2)], [0xef, 0xbe]);
  t.throws(() => new GuestRam([low], SPLIT), { instanceOf: RangeError, message: /region 1 needs a 16384-byte view/ });
});

test('a mapping too small for the regions is refused', (t) => {
  t.throws(() => new GuestRam(new Uint8Array(64 * KiB), SPLIT), {
    instanceOf: RangeError,
    message: /needs host bytes up to 0x14000, but the mapping has 0x10000/,
  });
  t.throws(() => new GuestRam(new Uint8Array(64 * KiB), []), { instanceOf: RangeError });
  t.throws(
    () => new GuestRam(new Uint8Array(128 * KiB), [
      { gpa: 0, size: 64 * KiB, hostOffset: 0 },
      { gpa: 32 * KiB, size: 64 * KiB, hostOffset: 64 * KiB },
    ]),
    { instanceOf: RangeError, message: /overlap/ },
  );
});

test('little-endian integer readers and writers', (t) => {
  const ram = GuestRam.allocate(ramRegions(16 * MiB));
  ram.writeU16(0x100, 0x1234);
  ram.writeU32(0x104, 0xdeadbeef);
  ram.writeU64(0x108, 0x0102030405060708n);
  ram.writeU64(0x110, 0x1234_5678);
  t.deepEqual([...ram.read(0x100, 2)], [0x34, 0x12]);
  t.deepEqual([...ram.read(0x104, 4)], [0xef, 0xbe, 0xad, 0xde]);
  t.deepEqual([...ram.read(0x108, 8)], [8, 7, 6, 5, 4, 3, 2, 1]);
  t.is(ram.readU16(0x100), 0x1234);
  t.is(ram.readU32(0x104), 0xdeadbeef);
  t.is(ram.readU64(0x108), 0x0102030405060708n);
  t.is(ram.readU64(0x110), 0x1234_5678n);
});

test('writers refuse values that do not fit', (t) => {
  const ram = GuestRam.allocate(ramRegions(16 * MiB));
  t.throws(() => ram.writeU8(0, 256), { instanceOf: RangeError, message: /does not fit in u8/ });
  t.throws(() => ram.writeU16(0, -1), { instanceOf: RangeError, message: /does not fit in u16/ });
  t.throws(() => ram.writeU32(0, 2 ** 32), { instanceOf: RangeError, message: /does not fit in u32/ });
  t.throws(() => ram.writeU32(0, 1.5), { instanceOf: RangeError, message: /does not fit in u32/ });
  t.throws(() => ram.writeU64(0, 1n << 64n), { instanceOf: RangeError, message: /does not fit in u64/ });
  t.throws(() => ram.fill(0, 4, 300), { instanceOf: RangeError });
});

test('fill sets a range', (t) => {
  const ram = GuestRam.allocate(ramRegions(16 * MiB));
  ram.fill(0x200, 3, 0x5a);
  t.deepEqual([...ram.read(0x1ff, 5)], [0, 0x5a, 0x5a, 0x5a, 0]);
});

test('contains checks the whole range', (t) => {
  const ram = GuestRam.allocate(SPLIT);
  t.true(ram.contains(0, 64 * KiB));
  t.true(ram.contains(64 * KiB - 1));
  t.false(ram.contains(64 * KiB));
  t.false(ram.contains(64 * KiB - 2, 4));
  t.true(ram.contains(0x1_0000_0000, 16 * KiB));
  t.false(ram.contains(0x1_0000_0000 - 1, 2));
  t.false(ram.contains(-1));
  t.false(ram.contains(1.5));
  t.false(ram.contains(0, -1));
});

test('accesses outside RAM throw a RangeError naming the address and length', (t) => {
  const ram = GuestRam.allocate(ramRegions(16 * MiB));
  const end = 16 * MiB;
  t.throws(() => ram.read(end, 4), {
    instanceOf: RangeError,
    message: /\[0x1000000, 0x1000004\) \(4 bytes at 0x1000000\) is outside guest RAM \(\[0x0, 0x1000000\)\)/,
  });
  t.throws(() => ram.write(end - 2, new Uint8Array(4)), { instanceOf: RangeError, message: /4 bytes at 0xfffffe/ });
  t.throws(() => ram.readU32(end - 3), { instanceOf: RangeError, message: /4 bytes at 0xfffffd/ });
  t.throws(() => ram.writeU64(0xc000_0000, 1n), { instanceOf: RangeError, message: /8 bytes at 0xc0000000/ });
  t.throws(() => ram.fill(end, 1), { instanceOf: RangeError, message: /1 bytes at 0x1000000/ });
  t.throws(() => ram.readU8(-1), { instanceOf: RangeError, message: /invalid guest memory access: address -1, length 1/ });
  t.throws(() => ram.read(0, 2.5), { instanceOf: RangeError, message: /invalid guest memory access/ });
});

test('an access that crosses a region end throws instead of being split', (t) => {
  const ram = GuestRam.allocate(SPLIT);
  t.throws(() => ram.read(64 * KiB - 2, 4), {
    instanceOf: RangeError,
    message: /4 bytes at 0xfffe\) is outside guest RAM \(\[0x0, 0x10000\), \[0x100000000, 0x100004000\)\)/,
  });
  t.throws(() => ram.readU16(0x1_0000_0000 + 16 * KiB - 1), { instanceOf: RangeError, message: /0x100003fff/ });
});

test('zero-length accesses are fine inside a region, up to its end', (t) => {
  const ram = GuestRam.allocate(SPLIT);
  t.is(ram.read(64 * KiB, 0).length, 0);
  t.notThrows(() => ram.write(0, new Uint8Array(0)));
});

test('a 5 GiB guest over one ArrayBuffer reaches its high RAM', (t) => {
  // ArrayBuffer pages are allocated lazily, so this touches only the pages written.
  const ram = GuestRam.allocate(ramRegions(5 * GiB));
  ram.writeU32(4 * GiB + 2 * GiB - 4, 0xcafef00d);
  ram.writeU32(3 * GiB - 4, 0x12345678);
  t.is(ram.readU32(6 * GiB - 4), 0xcafef00d);
  t.is(ram.readU32(3 * GiB - 4), 0x12345678);
  t.false(ram.contains(3 * GiB, 1));
  t.is(ram.size, 5 * GiB);
});
