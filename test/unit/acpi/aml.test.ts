import test from 'ava';
import {
  buffer,
  device,
  dwordConst,
  eisaId,
  eisaIdValue,
  encodePkgLength,
  integer,
  interrupt,
  io,
  irqNoFlags,
  local,
  arg,
  method,
  nameSeg,
  nameString,
  pkg,
  pkgLength,
  qwordConst,
  byteConst,
  wordConst,
  string,
  fixedIo,
  memory32Fixed,
} from '../../../src/acpi/aml.js';
import { AML_CASES, toHex } from './aml-cases.js';

const hex = (bytes: Uint8Array) => toHex(bytes);

for (const c of AML_CASES) {
  test(`matches iasl: ${c.title}`, (t) => {
    t.is(hex(c.build()), c.hex, c.asl.length < 400 ? c.asl : undefined);
  });
}

test('package length: 1 byte up to 63, then 2, 3 and 4 bytes, counting its own size', (t) => {
  t.deepEqual([...pkgLength(0)], [0x01]);
  t.deepEqual([...pkgLength(62)], [0x3f], 'the largest 1-byte length');
  // 63 + 2 = 65 = 0x41: lead byte 0b01 << 6 | low nibble 1, then 0x41 >> 4
  t.deepEqual([...pkgLength(63)], [0x41, 0x04]);
  t.deepEqual([...pkgLength(4093)], [0x4f, 0xff], 'the largest 2-byte length, 4095');
  t.deepEqual([...pkgLength(4094)], [0x81, 0x00, 0x01], '4094 + 2 = 4096 no longer fits: 3 bytes, 4097');
  t.deepEqual([...pkgLength((1 << 20) - 4)], [0x8f, 0xff, 0xff], 'the largest 3-byte length');
  t.deepEqual([...pkgLength((1 << 20) - 3)], [0xc1, 0x00, 0x00, 0x01]);
  t.deepEqual([...pkgLength((1 << 28) - 5)], [0xcf, 0xff, 0xff, 0xff], 'the largest 4-byte length');
  t.throws(() => pkgLength((1 << 28) - 4), { instanceOf: RangeError });
});

test('field lengths use the package-length format without counting themselves', (t) => {
  t.deepEqual([...encodePkgLength(32)], [0x20]);
  t.deepEqual([...encodePkgLength(63)], [0x3f]);
  t.deepEqual([...encodePkgLength(64)], [0x40, 0x04]);
  t.deepEqual([...encodePkgLength(1024)], [0x40, 0x40]);
  t.deepEqual([...encodePkgLength(4096)], [0x80, 0x00, 0x01]);
  t.throws(() => encodePkgLength(-1), { instanceOf: RangeError });
  t.throws(() => encodePkgLength(1 << 28), { instanceOf: RangeError });
});

test('name segments are padded with _ and validated', (t) => {
  t.is(Buffer.from(nameSeg('GED')).toString(), 'GED_');
  t.is(Buffer.from(nameSeg('_S5')).toString(), '_S5_');
  t.is(Buffer.from(nameSeg('COM1')).toString(), 'COM1');
  for (const bad of ['', 'TOOLONG', '1ABC', 'ab', 'A-B']) {
    t.throws(() => nameSeg(bad), { instanceOf: RangeError }, bad);
  }
});

test('name strings: root, parents, dual and multi segment, NullName', (t) => {
  t.is(hex(nameString('\\')), '5c00');
  t.is(hex(nameString('')), '00');
  t.is(hex(nameString('\\_SB_')), '5c5f53425f');
  t.is(hex(nameString('^^PWRB')), '5e5e50575242');
  t.is(hex(nameString('\\_SB_.PWRB')), '5c2e5f53425f50575242');
  t.is(hex(nameString('_SB.PCI0.ISA')), '2f035f53425f504349304953415f');
  t.throws(() => nameString('\\_SB_..X'), { instanceOf: RangeError });
});

test('integers: the shortest encoding, fixed widths on request, range checks', (t) => {
  t.is(hex(integer(0)), '00');
  t.is(hex(integer(1)), '01');
  t.is(hex(integer(2)), '0a02');
  t.is(hex(integer(0xffff)), '0bffff');
  t.is(hex(integer(0x10000)), '0c00000100');
  t.is(hex(integer((1n << 64n) - 1n)), '0e' + 'ff'.repeat(8));
  t.is(hex(byteConst(1)), '0a01');
  t.is(hex(wordConst(5)), '0b0500');
  t.is(hex(dwordConst(0x3f8)), '0cf8030000');
  t.is(hex(qwordConst(0)), '0e' + '00'.repeat(8));
  t.throws(() => integer(-1), { instanceOf: RangeError });
  t.throws(() => integer(1n << 64n), { instanceOf: RangeError });
  t.throws(() => integer(2 ** 60), { instanceOf: RangeError }, 'unsafe numbers must be bigints');
  t.throws(() => integer(1.5), { instanceOf: RangeError });
  t.throws(() => byteConst(0x100), { instanceOf: RangeError });
});

test('EISA ids compress to the values the disassembler shows', (t) => {
  t.is(eisaIdValue('PNP0501'), 0x0105d041);
  t.is(eisaIdValue('PNP0C0C'), 0x0c0cd041);
  t.is(eisaIdValue('PNP0A03'), 0x030ad041);
  t.is(hex(eisaId('PNP0501')), '0c41d00501');
  t.throws(() => eisaId('ACPI0013'), { instanceOf: RangeError }, 'not an EISA id: a string _HID');
  t.throws(() => eisaId('pnp0501'), { instanceOf: RangeError });
});

test('strings must be ASCII without NUL', (t) => {
  t.is(hex(string('')), '0d00');
  t.throws(() => string('é'), { instanceOf: RangeError });
  t.throws(() => string('a\0b'), { instanceOf: RangeError });
});

test('packages and methods check their limits', (t) => {
  t.is(hex(pkg()), '120200');
  t.throws(() => pkg(...new Array(256).fill(integer(0))), { instanceOf: RangeError });
  t.throws(() => method('MTH0', 8, false), { instanceOf: RangeError });
  t.throws(() => local(8), { instanceOf: RangeError });
  t.throws(() => arg(7), { instanceOf: RangeError });
  t.is(hex(method('MTH0', 7, true)), '14064d5448300f');
});

test('an empty device and an empty buffer', (t) => {
  t.is(hex(device('DEV0')), '5b820544455630');
  t.is(hex(buffer([])), '110200');
});

test('resource descriptors check their ranges', (t) => {
  t.throws(() => io({ min: 0x10000, max: 0, alignment: 0, length: 1 }), { instanceOf: RangeError });
  t.throws(() => io({ min: 0, max: 0, alignment: 0, length: 0x100 }), { instanceOf: RangeError });
  t.throws(() => irqNoFlags(16), { instanceOf: RangeError });
  t.throws(() => fixedIo(0x400, 1), { instanceOf: RangeError });
  t.throws(() => interrupt({ edge: true, activeLow: false }), { instanceOf: RangeError });
  t.throws(() => memory32Fixed(true, 2 ** 32, 1), { instanceOf: RangeError });
  t.is(hex(irqNoFlags(0, 15)), '220180');
  t.is(hex(interrupt({ edge: false, activeLow: false, wake: true, consumer: false }, 7)), '890600100107000000');
});
