import test from 'ava';
import { AcpiPmTimer, AcpiSleepReset, pmTimerTicks } from '../../../src/devices/acpi-pm.js';
import { PioBus } from '../../../src/devices/bus.js';
import { Pio, PM_TIMER_HZ } from '../../../src/devices/addresses.js';
import { FakeClock, FakeLifecycle } from './helpers/fakes.js';

function platform() {
  const lifecycle = new FakeLifecycle();
  const clock = new FakeClock();
  const bus = new PioBus();
  bus.register(Pio.ACPI_SLEEP_RESET, Pio.ACPI_SLEEP_RESET_LENGTH, new AcpiSleepReset({ lifecycle }));
  bus.register(Pio.ACPI_PM_TIMER, Pio.ACPI_PM_TIMER_LENGTH, new AcpiPmTimer({ clock }));
  return { lifecycle, clock, bus };
}

test('0x34 at 0x600 (SLP_EN with SLP_TYP 5) is a guest shutdown', (t) => {
  const { lifecycle, bus } = platform();
  bus.write(0x600, 1, 0x34);
  t.deepEqual(lifecycle.events, ['guest-exit:guest-shutdown']);
});

test('1 at 0x600 (the FADT reset value) is a reset', (t) => {
  const { lifecycle, bus } = platform();
  bus.write(0x600, 1, 1);
  t.deepEqual(lifecycle.events, ['reset:acpi-reset']);
});

test('other values at 0x600 do nothing', (t) => {
  const { lifecycle, bus } = platform();
  for (const value of [
    0x14, // SLP_TYP 5 without SLP_EN
    0x02,
    0x00,
    0x80, // WAK_STS clear, as Linux writes to the sleep status register
    0x20, // SLP_EN with S0
    0x2c, // SLP_EN with SLP_TYP 3
    0x3c, // SLP_EN with SLP_TYP 7
  ]) {
    bus.write(0x600, 1, value);
  }
  t.deepEqual(lifecycle.events, []);
});

test('the sleep/reset register reads 0 and ignores the bytes after it', (t) => {
  const { lifecycle, bus } = platform();
  const device = new AcpiSleepReset({ lifecycle });
  t.is(bus.read(0x600, 1), 0);
  device.write(1, 1, 0x34);
  device.write(1, 1, 1);
  t.deepEqual(lifecycle.events, []);
  device.write(0, 2, 0x0134); // a wide write: its first byte is what lands at 0x600
  t.deepEqual(lifecycle.events, ['guest-exit:guest-shutdown']);
});

test('the PM timer counts at 3.579545 MHz from the monotonic clock', (t) => {
  const { clock, bus } = platform();
  clock.ns = 0;
  t.is(bus.read(0x608, 4), 0);
  clock.ns = 1_000_000_000;
  t.is(bus.read(0x608, 4), PM_TIMER_HZ);
  clock.ns = 1_001_000_000;
  t.is(bus.read(0x608, 4), PM_TIMER_HZ + 3579, '1 ms is 3579.545 ticks, floored');
  clock.ns = 280; // one tick is 279.37 ns
  t.is(bus.read(0x608, 4), 1);
});

test('the PM timer wraps at 2^32 (about every 1199.86 s)', (t) => {
  t.is(pmTimerTicks(1200 * 1_000_000_000), 1200 * PM_TIMER_HZ - 2 ** 32);
  t.is(pmTimerTicks(1199 * 1_000_000_000), 1199 * PM_TIMER_HZ);
});

test('the PM timer is exact and never runs backwards, also after months of host uptime', (t) => {
  const start = 200n * 86_400n * 1_000_000_000n; // 200 days
  const end = start + 2_500_000_000_000n;
  const totalTicks = (ns: bigint): bigint => (ns * BigInt(PM_TIMER_HZ)) / 1_000_000_000n;
  let previous = -1;
  let decreases = 0;
  let last = start;
  for (let ns = start; ns < end; ns += 7_777_777_777n) {
    last = ns;
    const ticks = pmTimerTicks(Number(ns));
    const exact = Number(totalTicks(ns) % 2n ** 32n);
    // above 2^53 ns the clock value itself rounds to a few ns: allow one tick either way
    t.true(Math.abs(ticks - exact) <= 1, `${ns}: ${ticks} vs ${exact}`);
    if (ticks < previous) decreases++;
    previous = ticks;
  }
  const wraps = Number(totalTicks(last) / 2n ** 32n - totalTicks(start) / 2n ** 32n);
  t.true(wraps >= 2);
  t.is(decreases, wraps, 'the counter only goes down when it wraps');
  for (const ns of [1n, 999_999_999n, 123_456_789_012_345n, 2n ** 52n]) {
    t.is(pmTimerTicks(Number(ns)), Number(((ns * BigInt(PM_TIMER_HZ)) / 1_000_000_000n) % 2n ** 32n));
  }
});

test('narrow PM timer reads see the counter bytes; writes are ignored', (t) => {
  const { clock, bus } = platform();
  clock.ns = 1_000_000_000; // 3579545 = 0x0036_9e99
  t.is(bus.read(0x608, 1), 0x99);
  t.is(bus.read(0x609, 1), 0x9e);
  t.is(bus.read(0x608, 2), 0x9e99);
  t.is(bus.read(0x60a, 2), 0x0036);
  bus.write(0x608, 4, 0);
  t.is(bus.read(0x608, 4), 0x0036_9e99);
});
