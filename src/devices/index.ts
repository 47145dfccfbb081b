// nodevmm/devices: the platform's device models and buses, free of KVM, usable with fakes.
export type { BusDevice, ByteSink, Clock, GuestExitReason, IrqLine, LifecycleSink, ResetReason } from './device.js';
export { discardBytes, noIrq, systemClock } from './device.js';
export { SharedState } from './shared-state.js';
export { Irq, Mmio, Pio, PM_TIMER_HZ } from './addresses.js';
export { MmioBus, PioBus, type BusRange, type UnclaimedCounts } from './bus.js';
export { ByteRegisterDevice } from './byte-registers.js';
export { Serial8250, UartRegister, type Serial8250Deps } from './serial8250.js';
export { AcpiPmTimer, AcpiSleepReset, pmTimerTicks } from './acpi-pm.js';
export { Ged, GedEvent, GedRegister } from './ged.js';
export { I8042, I8042Command } from './i8042.js';
export { Cmos, CmosIndex, memorySizeBytes, type CmosDeps, type GuestRamLayout } from './cmos.js';
export { DebugConsole, PostCodePort } from './debug-port.js';
export { PciNoDevices } from './pci-none.js';
export { DeviceManager, type DeviceEntry, type DeviceId, type DeviceSharing, type DevicesState } from './device-manager.js';
export { GuestClock, type GuestClockState } from './guest-clock.js';
export { DeviceStateError, type SavedDeviceState, type Stateful } from './saved-state.js';
export { buildPlatform, createPlatformState, type Platform, type PlatformDeps, type PlatformState } from './platform.js';
