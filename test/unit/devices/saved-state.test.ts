// Round trips of every stateful device: drive registers into a non-trivial state, save, restore into
// a fresh device, and compare both the saved state and what the guest sees. Then refusals.
import test from 'ava';
import { Serial8250, UartRegister as R } from '../../../src/devices/serial8250.js';
import { I8042, I8042Command } from '../../../src/devices/i8042.js';
import { Cmos, CmosIndex } from '../../../src/devices/cmos.js';
import { Ged } from '../../../src/devices/ged.js';
import { PostCodePort } from '../../../src/devices/debug-port.js';
import { PciNoDevices } from '../../../src/devices/pci-none.js';
import { DeviceStateError } from '../../../src/devices/saved-state.js';
import { ByteCollector, FakeClock, FakeIrq, FakeLifecycle } from './helpers/fakes.js';

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const memory = { belowFourGiB: 512 * 2 ** 20, aboveFourGiB: 0 };

test('UART: registers and the receive FIFO survive a round trip, and reassertIrq drives the line', (t) => {
  const a = new Serial8250({ irq: new FakeIrq(), output: new ByteCollector() });
  a.write(R.LCR, 1, 0x80);
  a.write(R.DLL, 1, 1); // 115200 baud
  a.write(R.LCR, 1, 0x03);
  a.write(R.FCR, 1, 0xc1);
  a.write(R.MCR, 1, 0x0b);
  a.write(R.IER, 1, 0x01);
  a.write(R.SCR, 1, 0x5a);
  a.receive(Uint8Array.of(1, 2, 3, 4, 5));
  a.read(R.RBR, 1); // head moves
  const saved = json(a.save());
  t.is(saved.version, 1);
  const irq = new FakeIrq();
  const b = new Serial8250({ irq, output: new ByteCollector() });
  b.restore(saved);
  t.deepEqual(b.save(), saved);
  t.deepEqual(irq.changes, [], 'restore itself drives nothing');
  b.reassertIrq();
  t.deepEqual(irq.changes, [true], 'data pending with RDI and OUT2: the line is high');
  for (const reg of [R.IER, R.IIR, R.LCR, R.MCR, R.LSR, R.SCR]) t.is(b.read(reg, 1), a.read(reg, 1), `register ${reg}`);
  const bytes = (u: Serial8250) => [0, 1, 2, 3].map(() => u.read(R.RBR, 1));
  t.deepEqual(bytes(b), [2, 3, 4, 5]);
  t.deepEqual(bytes(a), [2, 3, 4, 5]);
  t.false(irq.level);
});

test('i8042: the controller configuration and a pending command survive a round trip', (t) => {
  const a = new I8042({ lifecycle: new FakeLifecycle() });
  a.write(4, 1, I8042Command.WRITE_CTR);
  a.write(0, 1, 0x47);
  a.write(4, 1, I8042Command.WRITE_OUTPUT_PORT); // waiting for its data byte
  const saved = json(a.save());
  const b = new I8042({ lifecycle: new FakeLifecycle() });
  b.restore(saved);
  t.deepEqual(b.save(), saved);
  for (const dev of [a, b]) {
    dev.write(0, 1, 0x03);
    dev.write(4, 1, I8042Command.READ_CTR);
  }
  t.is(b.read(0, 1), 0x47);
  t.is(a.read(0, 1), 0x47);
  t.deepEqual(b.save(), a.save());
});

test('CMOS: RAM, index and the guest-set time survive a round trip', (t) => {
  const clock = new FakeClock(0, Date.UTC(2024, 1, 29, 13, 45, 30));
  const a = new Cmos({ lifecycle: new FakeLifecycle(), clock }, Cmos.createState(memory));
  a.write(0, 1, 0x40);
  a.write(1, 1, 0xa5);
  a.write(0, 1, CmosIndex.REG_B);
  a.write(1, 1, a.read(1, 1) | 0x80); // SET: the guest sets the clock
  a.write(0, 1, CmosIndex.YEAR);
  a.write(1, 1, 0x30); // 2030 in BCD
  a.write(0, 1, CmosIndex.REG_B);
  a.write(1, 1, a.read(1, 1) & ~0x80);
  a.write(0, 1, CmosIndex.YEAR);
  const saved = json(a.save());
  t.not((saved.clockOffsetSeconds as number), 0, 'the guest moved its clock');
  const b = new Cmos({ lifecycle: new FakeLifecycle(), clock }, Cmos.createState({ belowFourGiB: 2 ** 20, aboveFourGiB: 0 }));
  b.restore(saved);
  t.deepEqual(b.save(), saved);
  t.is(b.read(1, 1), 0x30);
  b.write(0, 1, 0x40);
  t.is(b.read(1, 1), 0xa5);
});

test('GED: pending events survive a round trip and reassertIrq raises the line', (t) => {
  const a = new Ged({ irq: new FakeIrq() });
  a.notify(1);
  const irq = new FakeIrq();
  const b = new Ged({ irq });
  b.restore(json(a.save()));
  t.is(b.pending, 1);
  t.deepEqual(irq.changes, []);
  b.reassertIrq();
  t.deepEqual(irq.changes, [true]);
  t.is(b.read(0, 4), 1);
  t.deepEqual(irq.changes, [true, false]);
});

test('POST code and PCI address survive a round trip', (t) => {
  const post = new PostCodePort();
  for (let i = 0; i < 300; i++) post.write(0, 1, i & 0xff);
  const post2 = new PostCodePort();
  post2.restore(json(post.save()));
  t.is(post2.count, 300);
  t.is(post2.lastCode, 299 & 0xff);
  const pci = new PciNoDevices();
  pci.write(0, 4, 0x8000_1234);
  const pci2 = new PciNoDevices();
  pci2.restore(json(pci.save()));
  t.is(pci2.read(0, 4), pci.read(0, 4));
  t.deepEqual(pci2.save(), pci.save());
});

test('restore refuses a wrong version, wrong types and out-of-range values by device and field, writing nothing', (t) => {
  const uart = new Serial8250({ irq: new FakeIrq(), output: new ByteCollector() });
  uart.write(R.SCR, 1, 0x11);
  const good = json(uart.save());
  const before = uart.save();
  const cases: Array<[unknown, RegExp]> = [
    [{ ...good, version: 2 }, /serial8250: saved state version: 2 is not the supported version 1/],
    [{ ...good, scr: 'x' }, /serial8250: saved state scr: expected an integer/],
    [{ ...good, rxCount: 17 }, /serial8250: saved state rxCount: 17 is outside 0\.\.16/],
    [{ ...good, rxFifo: [1, 2] }, /serial8250: saved state rxFifo: expected an array of 16/],
    [{ ...good, rxFifo: [...(good.rxFifo as number[]).slice(1), 256] }, /rxFifo\[15\]: 256 is outside/],
    [null, /serial8250: saved state \(root\): not an object/],
  ];
  for (const [state, message] of cases) {
    // a field before the bad one must not have been written either
    const bad = typeof state === 'object' && state !== null ? { ...state, ier: 0x0f } : state;
    t.throws(() => uart.restore(bad), { instanceOf: DeviceStateError, message });
    t.deepEqual(uart.save(), before);
  }
});
