// The x86 platform of LIFECYCLE.md §6 as buses. Every thread that touches devices (each vCPU worker, and
// the main thread for serial input and the power button) calls buildPlatform() over the same
// PlatformState, so all of them drive one set of devices. The state is plain SharedArrayBuffers: pass
// it to workers in workerData or postMessage and they are shared, not copied.
import type { ByteSink, Clock, IrqLine, LifecycleSink } from './device.js';
import { Irq, Mmio, Pio } from './addresses.js';
import { MmioBus, PioBus } from './bus.js';
import { AcpiPmTimer, AcpiSleepReset } from './acpi-pm.js';
import { Cmos, type GuestRamLayout } from './cmos.js';
import { DebugConsole, PostCodePort } from './debug-port.js';
import { DeviceManager } from './device-manager.js';
import { Ged } from './ged.js';
import { GuestClock } from './guest-clock.js';
import { I8042 } from './i8042.js';
import { PciNoDevices } from './pci-none.js';
import { Serial8250 } from './serial8250.js';
import { SharedState } from './shared-state.js';
import { VirtioMmioTransport } from './virtio/mmio-transport.js';
import { MMIO_WINDOW } from './virtio/constants.js';
import { createTransportState, type VirtioDeviceInfo } from './virtio/transport-state.js';

export interface PlatformState {
  /** the per-VM guest clock's base (guest-clock.ts) */
  clock: SharedArrayBuffer;
  serial: SharedArrayBuffer;
  i8042: SharedArrayBuffer;
  cmos: SharedArrayBuffer;
  ged: SharedArrayBuffer;
  postCode: SharedArrayBuffer;
  pci: SharedArrayBuffer;
  virtio: VirtioTransportShared[];
}

/** A virtio-mmio device's registers and where its kicks go (eventfds, signalled through PlatformDeps). */
export interface VirtioTransportShared {
  id: string;
  info: VirtioDeviceInfo;
  base: number;
  registers: SharedArrayBuffer;
  kicks: { device: number; queues: number[] };
}

export interface VirtioTransportPlan {
  id: string;
  info: VirtioDeviceInfo;
  base: number;
  kicks: { device: number; queues: number[] };
}

/** Power-on state of every stateful device; made once per VM build by its owner. */
export function createPlatformState(memory: GuestRamLayout, virtio: readonly VirtioTransportPlan[] = []): PlatformState {
  return {
    virtio: virtio.map((plan) => ({ ...plan, registers: createTransportState(plan.info).buffer })),
    clock: GuestClock.createBase(),
    serial: Serial8250.createState().buffer,
    i8042: I8042.createState().buffer,
    cmos: Cmos.createState(memory).buffer,
    ged: Ged.createState().buffer,
    postCode: PostCodePort.createState().buffer,
    pci: PciNoDevices.createState().buffer,
  };
}

export interface PlatformDeps {
  lifecycle: LifecycleSink;
  /** lines by ISA IRQ number (Irq.SERIAL_COM1, Irq.GED) */
  irq(line: number): IrqLine;
  /** where COM1's output goes; null = no serial port at all (serial mode Off) */
  serialOutput: ByteSink | null;
  debugLog: ByteSink;
  /** wakes whoever waits on a kick handle (an eventfd): a virtio device's thread */
  signal(handle: number): void;
  /** replaces the guest clock (tests) */
  clock?: Clock;
  /** where the buses count accesses no device claims ([reads, writes] each); their own if absent */
  unclaimed?: { pio: Float64Array; mmio: Float64Array };
}

export interface Platform {
  pio: PioBus;
  mmio: MmioBus;
  serial: Serial8250 | null;
  ged: Ged;
  postCode: PostCodePort;
  devices: DeviceManager;
}

export function buildPlatform(state: PlatformState, deps: PlatformDeps): Platform {
  const { lifecycle } = deps;
  const guestClock = new GuestClock(state.clock);
  const clock = deps.clock ?? guestClock;
  const devices = new DeviceManager(guestClock);
  const serial = deps.serialOutput ? new Serial8250({ irq: deps.irq(Irq.SERIAL_COM1), output: deps.serialOutput }, state.serial) : null;
  const ged = new Ged({ irq: deps.irq(Irq.GED) }, state.ged);
  const postCode = new PostCodePort({}, state.postCode);
  const debugConsole = new DebugConsole({ log: deps.debugLog });
  const i8042 = new I8042({ lifecycle }, state.i8042);
  const cmos = new Cmos({ lifecycle, clock }, state.cmos);
  const pci = new PciNoDevices({}, state.pci);
  const sleepReset = new AcpiSleepReset({ lifecycle });
  const pmTimer = new AcpiPmTimer({ clock });

  if (serial) devices.register({ id: 'serial0', device: serial, sharing: 'shared-memory', state: serial, reassertIrq: () => serial.reassertIrq() });
  devices.register({ id: 'i8042', device: i8042, sharing: 'shared-memory', state: i8042 });
  devices.register({ id: 'cmos', device: cmos, sharing: 'shared-memory', state: cmos });
  devices.register({ id: 'ged', device: ged, sharing: 'shared-memory', state: ged, reassertIrq: () => ged.reassertIrq() });
  devices.register({ id: 'post-code', device: postCode, sharing: 'shared-memory', state: postCode });
  devices.register({ id: 'pci', device: pci, sharing: 'shared-memory', state: pci });
  devices.register({ id: 'acpi-pm', device: pmTimer, sharing: 'stateless' });
  devices.register({ id: 'acpi-sleep-reset', device: sleepReset, sharing: 'stateless' });
  devices.register({ id: 'debug-console', device: debugConsole, sharing: 'stateless' });

  const pio = new PioBus(deps.unclaimed?.pio);
  pio.register(Pio.I8042_START, Pio.I8042_LENGTH, i8042);
  pio.register(Pio.CMOS_START, Pio.CMOS_LENGTH, cmos);
  pio.register(Pio.POST_CODE, Pio.POST_CODE_LENGTH, postCode);
  pio.register(Pio.DEBUG_CONSOLE_BOCHS, Pio.DEBUG_CONSOLE_LENGTH, debugConsole);
  pio.register(Pio.DEBUG_CONSOLE_QEMU, Pio.DEBUG_CONSOLE_LENGTH, debugConsole);
  if (serial) pio.register(Pio.SERIAL_COM1, Pio.SERIAL_LENGTH, serial);
  pio.register(Pio.ACPI_SLEEP_RESET, Pio.ACPI_SLEEP_RESET_LENGTH, sleepReset);
  pio.register(Pio.ACPI_PM_TIMER, Pio.ACPI_PM_TIMER_LENGTH, pmTimer);
  pio.register(Pio.PCI_CONFIG_ADDRESS, Pio.PCI_CONFIG_LENGTH, pci);

  const mmio = new MmioBus(deps.unclaimed?.mmio);
  mmio.register(Mmio.GED_BASE, Mmio.GED_LENGTH, ged);
  for (const v of state.virtio) {
    const kicks = { kickDevice: () => deps.signal(v.kicks.device), kickQueue: (q: number) => deps.signal(v.kicks.queues[q]) };
    const transport = new VirtioMmioTransport(v.info, new SharedState(v.registers), kicks, `virtio ${v.id}`);
    devices.register({ id: `virtio:${v.id}`, device: transport, sharing: 'shared-memory', state: transport });
    mmio.register(v.base, MMIO_WINDOW, transport);
  }

  return { pio, mmio, serial, ged, postCode, devices };
}
