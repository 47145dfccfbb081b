import test from 'ava';
import { buildPlatform, createPlatformState, type PlatformDeps } from '../../../src/devices/platform.js';
import { Irq, Mmio } from '../../../src/devices/addresses.js';
import { ByteCollector, FakeClock, FakeIrq, FakeLifecycle } from './helpers/fakes.js';

function deps() {
  const lines = new Map<number, FakeIrq>();
  const lifecycle = new FakeLifecycle();
  const serialOutput = new ByteCollector();
  const debugLog = new ByteCollector();
  const platformDeps: PlatformDeps = {
    lifecycle,
    signal: () => {},
    irq: (line) => lines.get(line) ?? lines.set(line, new FakeIrq()).get(line)!,
    serialOutput,
    debugLog,
    clock: new FakeClock(1_000_000_000, Date.UTC(2030, 5, 15)),
  };
  return { platformDeps, lines, lifecycle, serialOutput, debugLog };
}

test('every device of LIFECYCLE.md §6 answers at its address', (t) => {
  const d = deps();
  const { pio, mmio } = buildPlatform(createPlatformState({ belowFourGiB: 512 * 2 ** 20, aboveFourGiB: 0 }), d.platformDeps);
  t.is(pio.read(0x3fd, 1), 0x60, 'COM1 LSR');
  pio.write(0x3f8, 1, 0x41);
  t.is(d.serialOutput.text, 'A');
  t.is(pio.read(0x61, 1), 0x20, 'port B');
  pio.write(0x70, 1, 0x09);
  t.is(pio.read(0x71, 1), 0x30, 'RTC year 2030');
  t.is(pio.read(0x608, 4), 3_579_545, 'PM timer');
  pio.write(0x80, 1, 0x12);
  pio.write(0xe9, 1, 0x42);
  pio.write(0x402, 1, 0x43);
  t.is(d.debugLog.text, 'BC');
  pio.write(0xcf8, 4, 0x8000_0000);
  t.is(pio.read(0xcfc, 4), 0xffff_ffff);
  t.is(mmio.read(Mmio.GED_BASE, 4), 0);
  t.deepEqual(pio.unclaimed, { reads: 0, writes: 0 });
  pio.write(0x600, 1, 0x34);
  pio.write(0x600, 1, 0x01);
  pio.write(0x64, 1, 0xfe);
  pio.write(0x70, 1, 0x8f);
  pio.write(0x71, 1, 0x00);
  t.deepEqual(d.lifecycle.events, ['guest-exit:guest-shutdown', 'reset:acpi-reset', 'reset:i8042-reset', 'reset:cmos-reset']);
});

test('platforms built over one state are one machine (main thread and a vCPU worker)', (t) => {
  const state = createPlatformState({ belowFourGiB: 2 ** 30, aboveFourGiB: 0 });
  const main = deps();
  const vcpu = deps();
  const host = buildPlatform(state, main.platformDeps);
  const guest = buildPlatform(state, vcpu.platformDeps);
  guest.pio.write(0x3fc, 1, 0x08); // OUT2
  guest.pio.write(0x3f9, 1, 0x01); // RDI
  host.serial!.receive(Uint8Array.of(0x0d));
  t.deepEqual(main.lines.get(Irq.SERIAL_COM1)?.changes, [true]);
  t.is(guest.pio.read(0x3f8, 1), 0x0d);
  host.ged.notify(1);
  t.is(guest.mmio.read(Mmio.GED_BASE, 4), 1);
  guest.pio.write(0x80, 1, 0x77);
  t.is(host.postCode.count, 1);
});
