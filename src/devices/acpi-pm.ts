// The ACPI power-management registers of a hardware-reduced platform (LIFECYCLE.md §1 and §6).
//
// AcpiSleepReset, one byte at port 0x600. The FADT points three registers here, all 8-bit GAS:
// - reset register, reset value 1: writing 1 asks for a reset ('acpi-reset');
// - sleep control register: SLP_EN (bit 5) with SLP_TYP (bits 4:2) = 5, the DSDT's _S5_ value, asks for
//   power off ('guest-shutdown'): Linux `poweroff` writes 0x34. Other sleep types are not supported and
//   are ignored, as are writes without SLP_EN (Linux clears WAK_STS by writing 0x80 here, for example);
// - sleep status register: reads 0 (WAK_STS never set).
// No register state at all, so nothing is shared; two registers in one byte, one device.
//
// AcpiPmTimer, four bytes at port 0x608: the free-running 3.579545 MHz counter, 32 bits wide (the FADT
// must set TMR_VAL_EXT). It is computed from the guest clock on every read (guest-clock.ts: shared by
// every thread, saved with the VM), so it has no state of its own. Writes are ignored.
import type { BusDevice, Clock, LifecycleSink } from './device.js';
import { systemClock } from './device.js';
import { PM_TIMER_HZ } from './addresses.js';
import { TWO_32 } from '../util/units.js';

const RESET_VALUE = 1;
const SLP_EN = 1 << 5;
const SLP_TYP_SHIFT = 2;
const SLP_TYP_MASK = 0x7;
const SLP_TYP_S5 = 5;

export class AcpiSleepReset implements BusDevice {
  readonly name: string;
  private readonly lifecycle: LifecycleSink;

  constructor(deps: { lifecycle: LifecycleSink; name?: string }) {
    this.name = deps.name ?? 'acpi-sleep-reset';
    this.lifecycle = deps.lifecycle;
  }

  read(_offset: number, _size: number): number {
    return 0;
  }

  write(offset: number, _size: number, value: number): void {
    if (offset !== 0) return;
    const byte = value & 0xff;
    if (byte === RESET_VALUE) {
      this.lifecycle.reset('acpi-reset');
    } else if ((byte & SLP_EN) !== 0 && ((byte >>> SLP_TYP_SHIFT) & SLP_TYP_MASK) === SLP_TYP_S5) {
      this.lifecycle.guestExit('guest-shutdown');
    }
  }
}

const NS_PER_S = 1_000_000_000;

/** Ticks of a PM_TIMER_HZ counter after `ns` nanoseconds, modulo 2^32; exact integer arithmetic. */
export function pmTimerTicks(ns: number): number {
  // Seconds and the sub-second part are multiplied separately so every product stays below 2^53
  // (exact for ~80 years of uptime) and the result never runs backwards.
  const total = ns;
  const seconds = Math.floor(total / NS_PER_S);
  const fraction = total - seconds * NS_PER_S;
  const ticks = seconds * PM_TIMER_HZ + Math.floor((fraction * PM_TIMER_HZ) / NS_PER_S);
  return ticks % TWO_32;
}

export class AcpiPmTimer implements BusDevice {
  readonly name: string;
  private readonly clock: Clock;

  constructor(deps: { clock?: Clock; name?: string } = {}) {
    this.name = deps.name ?? 'acpi-pm-timer';
    this.clock = deps.clock ?? systemClock;
  }

  /** A 4-byte read at offset 0 is the counter; narrower reads see its bytes. */
  read(offset: number, size: number): number {
    const ticks = pmTimerTicks(this.clock.monotonicNs());
    if (offset === 0 && size >= 4) return ticks;
    const shifted = offset >= 4 ? 0 : ticks >>> (8 * offset);
    return size >= 4 ? shifted >>> 0 : shifted & ((1 << (8 * size)) - 1);
  }

  write(_offset: number, _size: number, _value: number): void {
    // read-only
  }
}
