// What a device is to the rest of nodevmm: registers read and written at an offset within its range.
// Values are little-endian numbers of `size` bytes (1, 2 or 4; MMIO 8-byte accesses are split by the
// bus), so the hot path allocates nothing. Devices know nothing of KVM: their effects on the world
// (an interrupt line, a lifecycle request, bytes for the host) are injected.

export interface BusDevice {
  readonly name: string;
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

/** An interrupt line into the in-kernel irqchip (KVM_IRQ_LINE), or a fake in tests. */
export interface IrqLine {
  set(level: boolean): void;
}

export type ResetReason = 'acpi-reset' | 'i8042-reset' | 'cmos-reset' | 'triple-fault';
export type GuestExitReason = 'guest-shutdown';

/** Where a device sends the guest's requests to power off or reset the machine. */
export interface LifecycleSink {
  guestExit(reason: GuestExitReason): void;
  reset(reason: ResetReason): void;
}

/** Bytes leaving the VM toward the host (serial TX, debug console). Must never block the caller. */
export interface ByteSink {
  write(byte: number): void;
}

/**
 * The guest's time (guest-clock.ts): monotonic nanoseconds since the guest's zero (PM timer), as a
 * number so reads allocate no BigInt; wall-clock ms (RTC). Injected for tests.
 */
export interface Clock {
  monotonicNs(): number;
  wallMs(): number;
}

/** For a device built without a VM (tests, tools): the host's clocks. */
export const systemClock: Clock = {
  monotonicNs: () => {
    const [s, ns] = process.hrtime();
    return s * 1e9 + ns;
  },
  wallMs: () => Date.now(),
};

export const noIrq: IrqLine = { set: () => {} };
export const discardBytes: ByteSink = { write: () => {} };
