import test from 'ava';
import { Cmos, CmosIndex as I, memorySizeBytes, type GuestRamLayout } from '../../../src/devices/cmos.js';
import { PioBus } from '../../../src/devices/bus.js';
import { FakeClock, FakeLifecycle } from './helpers/fakes.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function setup(memory: GuestRamLayout = { belowFourGiB: 256 * MiB, aboveFourGiB: 0 }) {
  const lifecycle = new FakeLifecycle();
  const clock = new FakeClock(0, Date.UTC(2024, 1, 29, 13, 45, 30, 999)); // a Thursday, leap day
  const cmos = new Cmos({ lifecycle, clock, memory });
  const bus = new PioBus();
  bus.register(0x70, 2, cmos);
  const get = (index: number): number => {
    bus.write(0x70, 1, index);
    return bus.read(0x71, 1);
  };
  const set = (index: number, value: number): void => {
    bus.write(0x70, 1, index);
    bus.write(0x71, 1, value);
  };
  return { lifecycle, clock, cmos, bus, get, set };
}

function sizeBytes(memory: GuestRamLayout): Record<string, number> {
  const s = setup(memory);
  const word = (index: number): number => s.get(index) | (s.get(index + 1) << 8);
  return {
    base: word(0x15),
    extended: word(0x17),
    extendedCopy: word(0x30),
    above16M: word(0x34),
    above4G: s.get(0x5b) | (s.get(0x5c) << 8) | (s.get(0x5d) << 16),
  };
}

test('memory size bytes for 64 MiB', (t) => {
  t.deepEqual(sizeBytes({ belowFourGiB: 64 * MiB, aboveFourGiB: 0 }), {
    base: 640,
    extended: 63 * 1024, // KiB from 1 MiB to 64 MiB
    extendedCopy: 63 * 1024,
    above16M: 48 * 16, // 64 KiB blocks from 16 MiB to 64 MiB
    above4G: 0,
  });
});

test('memory size bytes for 3 GiB (extended memory capped)', (t) => {
  t.deepEqual(sizeBytes({ belowFourGiB: 3 * GiB, aboveFourGiB: 0 }), {
    base: 640,
    extended: 0xffff,
    extendedCopy: 0xffff,
    above16M: (3 * 1024 - 16) * 16, // 0xbf00
    above4G: 0,
  });
});

test('memory size bytes for 6 GiB split as 3 GiB below and 3 GiB above 4 GiB', (t) => {
  const bytes = sizeBytes({ belowFourGiB: 3 * GiB, aboveFourGiB: 3 * GiB });
  t.is(bytes.above16M, 0xbf00);
  t.is(bytes.above4G, 0x00_c000); // 3 GiB in 64 KiB blocks
  const s = setup({ belowFourGiB: 3 * GiB, aboveFourGiB: 3 * GiB });
  t.deepEqual([s.get(0x5b), s.get(0x5c), s.get(0x5d)], [0x00, 0xc0, 0x00]);
});

test('memory size bytes for tiny and huge guests', (t) => {
  t.deepEqual(sizeBytes({ belowFourGiB: 512 * 1024, aboveFourGiB: 0 }), {
    base: 512, extended: 0, extendedCopy: 0, above16M: 0, above4G: 0,
  });
  t.is(sizeBytes({ belowFourGiB: 3 * GiB, aboveFourGiB: 2 ** 50 }).above4G, 0xff_ffff, 'capped at 24 bits');
  t.throws(() => memorySizeBytes({ belowFourGiB: 5 * GiB, aboveFourGiB: 0 }), { instanceOf: RangeError });
});

test('RTC in BCD, 24-hour (the default)', (t) => {
  const { get } = setup();
  t.is(get(I.SECONDS), 0x30);
  t.is(get(I.MINUTES), 0x45);
  t.is(get(I.HOURS), 0x13);
  t.is(get(I.DAY_OF_WEEK), 5, 'Thursday; Sunday is 1');
  t.is(get(I.DAY_OF_MONTH), 0x29);
  t.is(get(I.MONTH), 0x02);
  t.is(get(I.YEAR), 0x24);
  t.is(get(I.CENTURY), 0x20);
});

test('RTC in binary when register B has DM set', (t) => {
  const { get, set } = setup();
  set(I.REG_B, 0x06);
  t.deepEqual(
    [I.SECONDS, I.MINUTES, I.HOURS, I.DAY_OF_MONTH, I.MONTH, I.YEAR, I.CENTURY].map(get),
    [30, 45, 13, 29, 2, 24, 20],
  );
});

test('RTC in 12-hour mode: bit 7 is PM, midnight and noon are 12', (t) => {
  const { clock, get, set } = setup();
  set(I.REG_B, 0x00);
  t.is(get(I.HOURS), 0x81, '13:45 is 1 PM');
  clock.ms = Date.UTC(2024, 0, 1, 0, 5);
  t.is(get(I.HOURS), 0x12, 'midnight: 12 AM');
  clock.ms = Date.UTC(2024, 0, 1, 12, 5);
  t.is(get(I.HOURS), 0x92, 'noon: 12 PM');
  set(I.REG_B, 0x04);
  clock.ms = Date.UTC(2024, 0, 1, 23, 5);
  t.is(get(I.HOURS), 0x80 | 11, 'binary 12-hour');
});

test('the RTC follows the clock', (t) => {
  const { clock, get } = setup();
  clock.ms = Date.UTC(1999, 11, 31, 23, 59, 59);
  t.deepEqual([get(I.YEAR), get(I.CENTURY), get(I.MONTH), get(I.DAY_OF_MONTH), get(I.DAY_OF_WEEK)], [0x99, 0x19, 0x12, 0x31, 6]);
  clock.ms += 1000;
  t.deepEqual([get(I.YEAR), get(I.CENTURY), get(I.MONTH), get(I.DAY_OF_MONTH), get(I.HOURS), get(I.SECONDS)], [0x00, 0x20, 0x01, 0x01, 0x00, 0x00]);
});

test('status registers: A 0x26 with UIP clear, B 0x02, C 0, D 0x80', (t) => {
  const { get, set } = setup();
  t.is(get(I.REG_A), 0x26);
  t.is(get(I.REG_B), 0x02);
  t.is(get(I.REG_C), 0);
  t.is(get(I.REG_D), 0x80);
  set(I.REG_A, 0xa6); // UIP is read-only
  t.is(get(I.REG_A), 0x26);
  set(I.REG_D, 0);
  t.is(get(I.REG_D), 0x80);
});

test('the guest can set the time with register B SET', (t) => {
  const { clock, get, set } = setup();
  set(I.REG_B, 0x82);
  t.is(get(I.SECONDS), 0x30, 'frozen at the time SET went on');
  clock.ms += 5000;
  t.is(get(I.SECONDS), 0x30, 'no updates while SET');
  set(I.HOURS, 0x08);
  set(I.MINUTES, 0x00);
  set(I.SECONDS, 0x00);
  set(I.DAY_OF_MONTH, 0x01);
  set(I.MONTH, 0x03);
  set(I.YEAR, 0x25);
  t.is(get(I.HOURS), 0x08);
  set(I.REG_B, 0x02);
  t.deepEqual([get(I.YEAR), get(I.MONTH), get(I.DAY_OF_MONTH), get(I.HOURS), get(I.MINUTES), get(I.SECONDS)], [0x25, 0x03, 0x01, 0x08, 0x00, 0x00]);
  clock.ms += 61_000;
  t.deepEqual([get(I.MINUTES), get(I.SECONDS)], [0x01, 0x01], 'runs on from the new time');
});

test('bit 7 of the index (NMI mask) is not part of the register number', (t) => {
  const { bus, get, set } = setup();
  set(0x40, 0x5a);
  t.is(get(0x80 | 0x40), 0x5a);
  t.is(get(0x80 | I.SECONDS), 0x30);
  bus.write(0x70, 1, 0x8d);
  t.is(bus.read(0x70, 1), 0x8d, 'the index port reads back the raw byte');
});

test('CMOS RAM outside the clock keeps what is written, all 128 bytes', (t) => {
  const { get, set } = setup();
  for (let i = 0x0e; i < 0x80; i++) if (i !== I.CENTURY) set(i, (i * 3) & 0xff);
  for (let i = 0x0e; i < 0x80; i++) if (i !== I.CENTURY) t.is(get(i), (i * 3) & 0xff);
  set(0x01, 0x42); // seconds alarm: plain RAM
  t.is(get(0x01), 0x42);
});

test('reset rule: index 0x8F then data 0', (t) => {
  const { lifecycle, bus } = setup();
  bus.write(0x70, 1, 0x8f);
  bus.write(0x71, 1, 0x00);
  t.deepEqual(lifecycle.events, ['reset:cmos-reset']);
});

test('near misses of the reset rule do nothing', (t) => {
  const { lifecycle, set } = setup();
  set(0x0f, 0x00); // same register with NMI enabled
  set(0x8f, 0x01); // other data
  set(0x8e, 0x00); // other register
  t.deepEqual(lifecycle.events, []);
});

test('two instances over one state share index and RAM', (t) => {
  const a = setup();
  const b = new Cmos({ lifecycle: new FakeLifecycle(), clock: a.clock }, a.cmos.state);
  a.bus.write(0x70, 1, 0x34);
  t.is(b.read(1, 1), (256 - 16) * 16 & 0xff, 'the index written through one is used by the other');
  b.write(0, 1, 0x50);
  b.write(1, 1, 0x99);
  t.is(a.get(0x50), 0x99);
});

test('a Cmos needs either a RAM layout or an existing state', (t) => {
  t.throws(() => new Cmos({ lifecycle: new FakeLifecycle() }), { instanceOf: TypeError });
});
