import test from 'ava';
import { buildPlatform, createPlatformState, type PlatformDeps } from '../../../src/devices/platform.js';
import { GuestClock } from '../../../src/devices/guest-clock.js';
import { Irq } from '../../../src/devices/addresses.js';
import { ByteCollector, FakeIrq, FakeLifecycle } from './helpers/fakes.js';
import { UartRegister as R } from '../../../src/devices/serial8250.js';
import { DeviceStateError } from '../../../src/devices/saved-state.js';

const memory = { belowFourGiB: 512 * 2 ** 20, aboveFourGiB: 0 };

function deps() {
  const lines = new Map<number, FakeIrq>();
  const platformDeps: PlatformDeps = {
    lifecycle: new FakeLifecycle(),
    signal: () => {},
    irq: (line) => {
      if (!lines.has(line)) lines.set(line, new FakeIrq());
      return lines.get(line)!;
    },
    serialOutput: new ByteCollector(),
    debugLog: new ByteCollector(),
  };
  return { platformDeps, lines };
}

test('the manager knows every device by id and how it is shared', (t) => {
  const { devices } = buildPlatform(createPlatformState(memory), deps().platformDeps);
  const ids = Object.fromEntries(devices.entries.map((e) => [e.id, e.sharing]));
  t.deepEqual(ids, {
    serial0: 'shared-memory', i8042: 'shared-memory', cmos: 'shared-memory', ged: 'shared-memory',
    'post-code': 'shared-memory', pci: 'shared-memory',
    'acpi-pm': 'stateless', 'acpi-sleep-reset': 'stateless', 'debug-console': 'stateless',
  });
  t.throws(() => devices.register({ id: 'pci', device: devices.get('pci')!.device, sharing: 'owner' }), { message: /registered twice/ });
});

test('save/restore moves every device and the guest clock to a fresh platform; reassertIrqs drives the lines', (t) => {
  const a = buildPlatform(createPlatformState(memory), deps().platformDeps);
  a.pio.write(0x3f8 + R.MCR, 1, 0x08);
  a.pio.write(0x3f8 + R.IER, 1, 0x01);
  a.serial!.receive(Uint8Array.of(0x41));
  a.ged.notify(1);
  a.postCode.write(0, 1, 0x77);
  const saved = JSON.parse(JSON.stringify(a.devices.save()));
  const { platformDeps, lines } = deps();
  const b = buildPlatform(createPlatformState(memory), platformDeps);
  b.devices.restore(saved);
  t.deepEqual(b.devices.save().devices, saved.devices);
  t.true(b.devices.clock.monotonicNs() >= saved.clock.monotonicNs);
  b.devices.reassertIrqs();
  t.true(lines.get(Irq.SERIAL_COM1)!.level);
  t.true(lines.get(Irq.GED)!.level);
  t.is(b.pio.read(0x3f8 + R.RBR, 1), 0x41);
});

test('a restore refused by one device leaves every device as it was', (t) => {
  const p = buildPlatform(createPlatformState(memory), deps().platformDeps);
  p.postCode.write(0, 1, 0x12);
  const before = p.devices.save().devices;
  const other = buildPlatform(createPlatformState(memory), deps().platformDeps);
  other.postCode.write(0, 1, 0x34);
  const saved = other.devices.save();
  saved.devices.pci = { version: 1, address: 'x' as unknown as number };
  t.throws(() => p.devices.restore(saved), { instanceOf: DeviceStateError, message: /pci-config: saved state address/ });
  t.deepEqual(p.devices.save().devices, before);
  t.throws(() => p.devices.restore({ ...saved, devices: { ...saved.devices, tap0: { version: 1 } } }), { message: /unknown device tap0/ });
  const { cmos: _cmos, ...lacking } = saved.devices;
  t.throws(() => p.devices.restore({ ...saved, devices: lacking }), { message: /lacks device cmos/ });
});

test('the guest clock continues from its saved time, not the host\'s', (t) => {
  const a = new GuestClock(GuestClock.createBase());
  const saved = a.save();
  const moved = { ...saved, monotonicNs: 5_000_000_000, wallMs: Date.UTC(2001, 0, 1) };
  const b = new GuestClock(GuestClock.createBase());
  b.restore(moved);
  const ns = b.monotonicNs();
  t.true(ns >= 5_000_000_000 && ns < 5_000_000_000 + 10e9, `${ns}`);
  t.true(Math.abs(b.wallMs() - Date.UTC(2001, 0, 1)) < 10_000);
  t.true(Number.isInteger(ns));
  t.throws(() => b.restore({ ...saved, version: 2 }), { message: /guest-clock: saved state version 2/ });
  t.throws(() => b.restore({ ...saved, monotonicNs: -1 }), { message: /guest-clock: saved state monotonicNs/ });
});

test('every thread\'s clock over one base agrees, and a restore moves them all', (t) => {
  const base = GuestClock.createBase();
  const a = new GuestClock(base);
  const b = new GuestClock(base);
  a.restore({ version: 1, monotonicNs: 1e9, wallMs: 0 });
  t.true(Math.abs(b.monotonicNs() - 1e9) < 1e9);
});
