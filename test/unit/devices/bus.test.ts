import test from 'ava';
import { MmioBus, PioBus } from '../../../src/devices/bus.js';
import type { BusDevice } from '../../../src/devices/device.js';
import { COUNTER_SLOTS, unclaimedOf, vcpuCounters, vcpuUnclaimed } from '../../../src/vm/vcpu-spec.js';
import { exitCountsByName } from '../../../src/vmm/counters.js';

/** Remembers every access and answers reads with offset * 0x10 + size. */
class Recorder implements BusDevice {
  readonly accesses: string[] = [];
  constructor(readonly name: string) {}
  read(offset: number, size: number): number {
    this.accesses.push(`r${offset}/${size}`);
    return offset * 0x10 + size;
  }
  write(offset: number, size: number, value: number): void {
    this.accesses.push(`w${offset}/${size}=${value.toString(16)}`);
  }
}

test('PioBus dispatches with offsets relative to the range base', (t) => {
  const bus = new PioBus();
  const uart = new Recorder('uart');
  bus.register(0x3f8, 8, uart);
  t.is(bus.read(0x3fd, 1), 0x51);
  bus.write(0x3f8, 1, 0x41);
  bus.write(0x3ff, 2, 0xbeef);
  t.deepEqual(uart.accesses, ['r5/1', 'w0/1=41', 'w7/2=beef']);
  t.is(bus.rangeAt(0x3fa)?.device, uart);
  t.is(bus.rangeAt(0x400), undefined);
});

test('PioBus: one device at two ranges sees offsets from the range that was hit', (t) => {
  const bus = new PioBus();
  const debug = new Recorder('debug');
  bus.register(0xe9, 1, debug);
  bus.register(0x402, 1, debug);
  bus.write(0xe9, 1, 1);
  bus.write(0x402, 1, 2);
  t.deepEqual(debug.accesses, ['w0/1=1', 'w0/1=2']);
});

test('PioBus: unclaimed ports read all ones, drop writes, and are counted', (t) => {
  const bus = new PioBus();
  bus.register(0x70, 2, new Recorder('cmos'));
  t.is(bus.read(0x72, 1), 0xff);
  t.is(bus.read(0x1234, 2), 0xffff);
  t.is(bus.read(0xcfc, 4), 0xffff_ffff);
  bus.write(0x1234, 1, 0);
  t.deepEqual(bus.unclaimed, { reads: 3, writes: 1 });
  bus.read(0x70, 1);
  t.deepEqual(bus.unclaimed, { reads: 3, writes: 1 }, 'claimed accesses are not counted');
});

test('the buses count unclaimed accesses into the arrays they are given: a vCPU\'s shared counters, read by vm.counters', (t) => {
  const counters = new SharedArrayBuffer(COUNTER_SLOTS * 8 * 2);
  const unclaimed = vcpuUnclaimed(counters, 1);
  const pio = new PioBus(unclaimed.pio);
  const mmio = new MmioBus(unclaimed.mmio);
  pio.read(0x1234, 1);
  pio.write(0x1234, 1, 0);
  pio.write(0x1235, 1, 0);
  mmio.read(0xd000_0000, 4);
  t.deepEqual(unclaimedOf(vcpuCounters(counters, 1)), { pioReads: 1, pioWrites: 2, mmioReads: 1, mmioWrites: 0 });
  t.deepEqual(unclaimedOf(vcpuCounters(counters, 0)), { pioReads: 0, pioWrites: 0, mmioReads: 0, mmioWrites: 0 }, 'vCPU 0\'s are its own');
  t.deepEqual(exitCountsByName(vcpuCounters(counters, 1)), {}, 'and they are not exit reasons');
});

test('PioBus refuses overlaps, naming both devices and ranges', (t) => {
  const bus = new PioBus();
  bus.register(0x60, 5, new Recorder('i8042'));
  bus.register(0x65, 1, new Recorder('adjacent')); // touching is fine
  const error = t.throws(() => bus.register(0x64, 4, new Recorder('intruder')));
  t.regex(error!.message, /0x64\.\.0x67 \("intruder"\) overlaps 0x60\.\.0x64 \("i8042"\)/);
  t.throws(() => bus.register(0x65, 1, new Recorder('again')), { message: /"adjacent"/ });
  t.is(bus.read(0x66, 1), 0xff, 'a refused range claims nothing');
});

test('PioBus refuses ranges outside the 64 KiB port space', (t) => {
  const bus = new PioBus();
  t.throws(() => bus.register(0xffff, 2, new Recorder('tail')), { instanceOf: RangeError, message: /"tail"/ });
  t.throws(() => bus.register(-1, 1, new Recorder('neg')), { instanceOf: RangeError });
  t.throws(() => bus.register(0x10, 0, new Recorder('empty')), { instanceOf: RangeError });
  t.throws(() => bus.register(1.5, 1, new Recorder('fraction')), { instanceOf: RangeError });
  bus.register(0xffff, 1, new Recorder('last'));
  t.is(bus.rangeAt(0xffff)?.device.name, 'last');
});

test('MmioBus finds the right range among many', (t) => {
  const bus = new MmioBus();
  const devices: Recorder[] = [];
  // registered out of order on purpose
  for (const i of [5, 1, 9, 3, 7, 0, 2, 8, 4, 6]) {
    const d = new Recorder(`d${i}`);
    devices[i] = d;
    bus.register(0xd000_0000 + i * 0x1000, 0x100, d);
  }
  for (let i = 0; i < 10; i++) {
    t.is(bus.rangeAt(0xd000_0000 + i * 0x1000 + 0xff)?.device, devices[i]);
    t.is(bus.rangeAt(0xd000_0000 + i * 0x1000 + 0x100), undefined, 'gap after each range');
  }
  t.is(bus.read(0xd000_3004, 4), 0x44);
  t.deepEqual(devices[3].accesses, ['r4/4']);
  t.is(bus.rangeAt(0xcfff_ffff), undefined);
});

test('MmioBus refuses overlaps on either side and accepts adjacent ranges', (t) => {
  const bus = new MmioBus();
  bus.register(0x1000, 0x100, new Recorder('a'));
  bus.register(0x2000, 0x100, new Recorder('b'));
  bus.register(0x1100, 0xf00, new Recorder('between')); // fills the gap exactly
  t.throws(() => bus.register(0x10ff, 2, new Recorder('x')), { message: /"x"\) overlaps 0x1000\.\.0x10ff \("a"\)/ });
  t.throws(() => bus.register(0x0f00, 0x101, new Recorder('y')), { message: /overlaps 0x1000\.\.0x10ff \("a"\)/ });
  t.throws(() => bus.register(0x1800, 0x10, new Recorder('z')), { message: /"between"/ });
  t.throws(() => bus.register(0x3000, 0, new Recorder('empty')), { instanceOf: RangeError });
  t.throws(() => bus.register(2 ** 53, 1, new Recorder('huge')), { instanceOf: RangeError });
});

test('MmioBus splits 8-byte accesses into two 4-byte ones, low half first', (t) => {
  const bus = new MmioBus();
  const d = new Recorder('wide');
  bus.register(0x10_0000_0000, 0x10, d); // above 4 GiB
  bus.write(0x10_0000_0000, 8, 0x1_2345_6789);
  t.is(bus.read(0x10_0000_0008, 8), 0x84 + 0xc4 * 2 ** 32);
  t.deepEqual(d.accesses, ['w0/4=23456789', 'w4/4=1', 'r8/4', 'r12/4']);
});

test('MmioBus: unclaimed addresses read all ones and are counted', (t) => {
  const bus = new MmioBus();
  t.is(bus.read(0xfee0_0000, 4), 0xffff_ffff);
  t.is(bus.read(0xfee0_0000, 1), 0xff);
  t.is(bus.read(0xfee0_0000, 8), 2 ** 64 - 1);
  bus.write(0xfee0_0000, 4, 1);
  t.deepEqual(bus.unclaimed, { reads: 4, writes: 1 }, 'the 8-byte read counts as its two halves');
});
