// ACPI Generic Event Device (GED, _HID "ACPI0013"): how a hardware-reduced platform tells the guest
// about events such as the power button. The host sets event bits with `notify()`, which raises the
// GED interrupt; the guest's _EVT method reads the event register, which returns the pending bits and
// clears them, and the interrupt drops once nothing is pending.
//
// Register block at Mmio.GED_BASE, Mmio.GED_LENGTH (16) bytes, little-endian:
//
//   offset  size  name  access
//   0x00    4     EVT   read: pending event bits; the read clears exactly the bits it returned
//                       (a 4-byte read clears all; a 1-byte read at 0x01 clears bits 15:8 only).
//                       Writes are ignored.
//   0x04    12    -     reserved: reads 0, writes ignored
//
//   EVT bit 0   power button pressed: _EVT should Notify (PWRB, 0x80)
//   EVT 31:1    reserved (0), for later events (e.g. hotplug)
//
// Interrupt: Irq.GED (5), active high, high while EVT != 0. Declare it edge-triggered (as QEMU and Cloud
// Hypervisor do); the level also works as level-triggered. DSDT sketch (ASL):
//
//   Device (GED0) {
//     Name (_HID, "ACPI0013")
//     Name (_UID, Zero)
//     Name (_CRS, ResourceTemplate () {
//       Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { 5 }
//     })
//     OperationRegion (GDRG, SystemMemory, 0xFECFF000, 0x10)   // Mmio.GED_BASE, GED_LENGTH
//     Field (GDRG, DWordAcc, NoLock, Preserve) { GEVT, 32 }
//     Method (_EVT, 1, Serialized) {
//       Local0 = GEVT                                           // one read: returns and clears
//       If ((Local0 & One)) { Notify (\_SB.PWRB, 0x80) }
//     }
//   }
//   Device (PWRB) { Name (_HID, "PNP0C0C") Name (_UID, Zero) }
import type { BusDevice, IrqLine } from './device.js';
import { asSharedState, deviceWords } from './device-state.js';
import { SharedState } from './shared-state.js';
import { INT32, restoreWords, saveWords, type SavedDeviceState, type WordField } from './saved-state.js';
import { applyLevel, updateLevel } from './irq-level.js';

export const GedEvent = {
  POWER_BUTTON: 1 << 0,
} as const;

export const GedRegister = {
  EVT: 0x00,
} as const;

const W_PENDING = 1;
const W_IRQ_LEVEL = 2;
const OWN_WORDS = 2;

const GED_STATE_VERSION = 1;
const GED_FIELDS: readonly WordField[] = [{ name: 'pending', index: W_PENDING, ...INT32 }];

export class Ged implements BusDevice {
  static readonly stateWords = OWN_WORDS;

  static createState(): SharedState {
    return SharedState.create(OWN_WORDS);
  }

  readonly name: string;
  readonly state: SharedState;
  private readonly words: Int32Array;
  private readonly irq: IrqLine;

  constructor(deps: { irq: IrqLine; name?: string }, state: SharedState | SharedArrayBuffer = Ged.createState()) {
    this.name = deps.name ?? 'acpi-ged';
    this.state = asSharedState(state);
    this.words = deviceWords(this.state, OWN_WORDS, this.name);
    this.irq = deps.irq;
  }

  save(): SavedDeviceState {
    return saveWords(this.state, this.name, GED_STATE_VERSION, GED_FIELDS);
  }

  restore(saved: unknown): void {
    restoreWords(this.state, this.name, GED_STATE_VERSION, GED_FIELDS, saved);
    Atomics.store(this.words, W_IRQ_LEVEL, 0); // a fresh irqchip's line is low until reassertIrq()
  }

  /** Drives the irq line to the level the pending bits imply (after a restore). */
  reassertIrq(): void {
    this.state.lock();
    let level: number;
    try {
      Atomics.store(this.words, W_IRQ_LEVEL, -1); // unknown: forces a set()
      level = this.setPending(this.words[W_PENDING]);
    } finally {
      this.state.unlock();
    }
    applyLevel(this.irq, this.words, W_IRQ_LEVEL, level);
  }

  /** Host side: marks `events` (GedEvent bits) pending and raises the interrupt. */
  notify(events: number): void {
    this.state.lock();
    let level: number;
    try {
      level = this.setPending(this.words[W_PENDING] | events);
    } finally {
      this.state.unlock();
    }
    applyLevel(this.irq, this.words, W_IRQ_LEVEL, level);
  }

  /** notify() for the main thread: never blocks on the lock. */
  async notifyAsync(events: number): Promise<void> {
    const level = await this.state.runAsync(() => this.setPending(this.words[W_PENDING] | events));
    applyLevel(this.irq, this.words, W_IRQ_LEVEL, level);
  }

  /** Pending event bits, without clearing them (diagnostics, tests). */
  get pending(): number {
    return Atomics.load(this.words, W_PENDING) >>> 0;
  }

  read(offset: number, size: number): number {
    if (offset >= 4) return 0;
    const width = Math.min(size, 4 - offset);
    const mask = (width >= 4 ? 0xffff_ffff : (1 << (8 * width)) - 1) << (8 * offset);
    let value: number;
    let level: number;
    this.state.lock();
    try {
      const pending = this.words[W_PENDING];
      value = (pending & mask) >>> (8 * offset);
      level = this.setPending(pending & ~mask);
    } finally {
      this.state.unlock();
    }
    applyLevel(this.irq, this.words, W_IRQ_LEVEL, level);
    return value >>> 0;
  }

  write(_offset: number, _size: number, _value: number): void {
    // EVT is read-to-clear; nothing to write
  }

  /** Under the lock: stores the pending bits; returns the line's new level, or NO_CHANGE. */
  private setPending(pending: number): number {
    this.words[W_PENDING] = pending;
    return updateLevel(this.words, W_IRQ_LEVEL, pending !== 0 ? 1 : 0);
  }
}
