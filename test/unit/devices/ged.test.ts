import test from 'ava';
import { Ged, GedEvent } from '../../../src/devices/ged.js';
import { MmioBus } from '../../../src/devices/bus.js';
import { Mmio } from '../../../src/devices/addresses.js';
import { FakeIrq } from './helpers/fakes.js';

function setup() {
  const irq = new FakeIrq();
  const ged = new Ged({ irq });
  const bus = new MmioBus();
  bus.register(Mmio.GED_BASE, Mmio.GED_LENGTH, ged);
  return { irq, ged, bus };
}

test('power button: notify raises the line, the _EVT read returns the bit, clears it and drops the line', (t) => {
  const { irq, ged, bus } = setup();
  t.is(bus.read(Mmio.GED_BASE, 4), 0);
  t.deepEqual(irq.changes, [], 'reading nothing pending does not touch the line');
  ged.notify(GedEvent.POWER_BUTTON);
  t.deepEqual(irq.changes, [true]);
  t.is(ged.pending, 1);
  t.is(bus.read(Mmio.GED_BASE, 4), GedEvent.POWER_BUTTON);
  t.deepEqual(irq.changes, [true, false]);
  t.is(bus.read(Mmio.GED_BASE, 4), 0, 'read-to-clear');
});

test('events accumulate until read; the line rises once', (t) => {
  const { irq, ged, bus } = setup();
  ged.notify(1);
  ged.notify(1 << 1);
  ged.notify(1 << 31);
  t.deepEqual(irq.changes, [true]);
  t.is(bus.read(Mmio.GED_BASE, 4), (1 | 2 | 2 ** 31) >>> 0);
  t.deepEqual(irq.changes, [true, false]);
});

test('a narrow read returns and clears only its own bytes', (t) => {
  const { irq, ged, bus } = setup();
  ged.notify(0x0000_0201);
  t.is(bus.read(Mmio.GED_BASE + 1, 1), 0x02);
  t.is(ged.pending, 0x01, 'bits 7:0 still pending');
  t.deepEqual(irq.changes, [true]);
  t.is(bus.read(Mmio.GED_BASE, 2), 0x01);
  t.deepEqual(irq.changes, [true, false]);
});

test('writes are ignored and the reserved registers read 0', (t) => {
  const { ged, bus } = setup();
  ged.notify(GedEvent.POWER_BUTTON);
  bus.write(Mmio.GED_BASE, 4, 0);
  t.is(ged.pending, 1);
  t.is(bus.read(Mmio.GED_BASE + 4, 4), 0);
  t.is(bus.read(Mmio.GED_BASE + 0xc, 4), 0);
  t.is(ged.pending, 1, 'reserved reads clear nothing');
});

test('two instances over one state: the host notifies on one, the guest reads through the other', (t) => {
  const host = setup();
  const guestIrq = new FakeIrq();
  const guest = new Ged({ irq: guestIrq }, host.ged.state.buffer);
  host.ged.notify(GedEvent.POWER_BUTTON);
  t.is(guest.read(0, 4), 1);
  t.deepEqual(host.irq.changes, [true]);
  t.deepEqual(guestIrq.changes, [false], 'the shared level is known to both');
  t.is(host.ged.pending, 0);
});
