// CMOS RAM and MC146818 RTC at ports 0x70 (index) and 0x71 (data).
//
// - Index: bit 7 of the byte written to 0x70 is the NMI mask on a PC; the register index is bits 6:0.
//   The raw byte is kept for the reset rule: index 0x8F (NMI masked, shutdown-status byte 0x0F) followed
//   by a data write of 0 is what Linux's BIOS reboot path writes, and means reset ('cmos-reset'), as in
//   Cloud Hypervisor.
// - RTC time registers (0x00 seconds .. 0x09 year, 0x32 century) read the VM's wall clock (the
//   clock its deps give: the guest clock, which survives a restore on another host) plus an offset
//   the guest can change: while register B's SET bit is on, the time registers are plain
//   RAM the guest writes; clearing SET makes the clock continue from what was written (as a real RTC).
//   Values are BCD unless B's DM bit is set, hours 24-hour if B bit 1 is set, else 12-hour with bit 7 = PM.
// - A reads 0x26 by default (32.768 kHz divider, 1024 Hz rate) with UIP always clear: the time is
//   sampled whole on each read, so no update is ever half done. B defaults to 0x02 (24-hour, BCD).
//   C (interrupt flags) reads 0: no RTC interrupts. D reads 0x80 (battery good).
// - Memory size bytes, laid out as the PC BIOS convention QEMU and Cloud Hypervisor follow:
//   0x15/0x16 base memory in KiB (640), 0x17/0x18 and 0x30/0x31 KiB from 1 MiB up to 64 MiB,
//   0x34/0x35 64 KiB blocks from 16 MiB to the end of RAM below 4 GiB, 0x5B..0x5D 64 KiB blocks above 4 GiB.
import type { Clock, LifecycleSink } from './device.js';
import { systemClock } from './device.js';
import { ByteRegisterDevice } from './byte-registers.js';
import { asSharedState, deviceWords } from './device-state.js';
import { SharedState } from './shared-state.js';
import { BYTE, INT32, restoreWords, saveWords, type SavedDeviceState, type WordField } from './saved-state.js';
import { civilFromDays, daysFromCivil, weekdayFromDays } from './calendar.js';
import { KiB, MiB, GiB } from '../util/units.js';

/** Guest RAM in bytes, split at the 4 GiB boundary (the MMIO hole sits just below it). */
export interface GuestRamLayout {
  belowFourGiB: number;
  aboveFourGiB: number;
}

export const CmosIndex = {
  SECONDS: 0x00,
  MINUTES: 0x02,
  HOURS: 0x04,
  DAY_OF_WEEK: 0x06,
  DAY_OF_MONTH: 0x07,
  MONTH: 0x08,
  YEAR: 0x09,
  REG_A: 0x0a,
  REG_B: 0x0b,
  REG_C: 0x0c,
  REG_D: 0x0d,
  SHUTDOWN_STATUS: 0x0f,
  BASE_MEMORY: 0x15,
  EXTENDED_MEMORY: 0x17,
  EXTENDED_MEMORY_COPY: 0x30,
  CENTURY: 0x32,
  MEMORY_ABOVE_16M: 0x34,
  MEMORY_ABOVE_4G: 0x5b,
} as const;

const INDEX_MASK = 0x7f;
const RESET_INDEX = 0x8f;

const REG_A_DEFAULT = 0x26;
const REG_A_UIP = 0x80;
const REG_B_SET = 0x80;
const REG_B_BINARY = 0x04;
const REG_B_24H = 0x02;
const REG_B_DEFAULT = REG_B_24H;
const REG_D_VALID_RAM = 0x80;
const HOUR_PM = 0x80;

const W_INDEX = 1;
/** seconds the guest's RTC runs ahead of the VM's wall clock (set when the guest sets the time) */
const W_CLOCK_OFFSET = 2;
const W_RAM = 3;
const RAM_SIZE = 128;
const OWN_WORDS = W_RAM + RAM_SIZE - 1;

function isClockRegister(index: number): boolean {
  switch (index) {
    case CmosIndex.SECONDS:
    case CmosIndex.MINUTES:
    case CmosIndex.HOURS:
    case CmosIndex.DAY_OF_WEEK:
    case CmosIndex.DAY_OF_MONTH:
    case CmosIndex.MONTH:
    case CmosIndex.YEAR:
    case CmosIndex.CENTURY:
      return true;
    default:
      return false; // the alarm registers (0x01, 0x03, 0x05) are plain RAM
  }
}

const toBcd = (value: number): number => ((Math.floor(value / 10) % 10) << 4) | (value % 10);
const fromBcd = (value: number): number => (value >> 4) * 10 + (value & 0x0f);

/** The memory-size bytes for a RAM layout, as [index, value] pairs. */
export function memorySizeBytes(layout: GuestRamLayout): Array<[number, number]> {
  const { belowFourGiB: below, aboveFourGiB: above } = layout;
  if (!Number.isSafeInteger(below) || !Number.isSafeInteger(above) || below < 0 || above < 0 || below > 4 * GiB) {
    throw new RangeError(`CMOS: bad RAM layout ${below} bytes below 4 GiB, ${above} above`);
  }
  const base = Math.min(Math.floor(below / KiB), 640);
  const extended = Math.min(Math.floor(Math.max(below - MiB, 0) / KiB), 0xffff);
  const above16M = Math.min(Math.floor(Math.max(below - 16 * MiB, 0) / (64 * KiB)), 0xffff);
  const above4G = Math.min(Math.floor(above / (64 * KiB)), 0xff_ffff);
  const bytes: Array<[number, number]> = [];
  const put = (index: number, value: number, count: number): void => {
    for (let i = 0; i < count; i++) bytes.push([index + i, (value >>> (8 * i)) & 0xff]);
  };
  put(CmosIndex.BASE_MEMORY, base, 2);
  put(CmosIndex.EXTENDED_MEMORY, extended, 2);
  put(CmosIndex.EXTENDED_MEMORY_COPY, extended, 2);
  put(CmosIndex.MEMORY_ABOVE_16M, above16M, 2);
  put(CmosIndex.MEMORY_ABOVE_4G, above4G, 3);
  return bytes;
}

export interface CmosDeps {
  lifecycle: LifecycleSink;
  clock?: Clock;
  /** needed only when the Cmos creates its own state (the first instance); workers pass the state */
  memory?: GuestRamLayout;
  name?: string;
}

/** Saved fields, version 1: the offset is from the guest clock (guest-clock.ts), so it is not host-relative. */
const CMOS_STATE_VERSION = 1;
const CMOS_FIELDS: readonly WordField[] = [
  { name: 'index', index: W_INDEX, ...BYTE },
  { name: 'clockOffsetSeconds', index: W_CLOCK_OFFSET, ...INT32 },
  { name: 'ram', index: W_RAM, length: RAM_SIZE, ...BYTE },
];

export class Cmos extends ByteRegisterDevice {
  static readonly stateWords = OWN_WORDS;

  static createState(memory: GuestRamLayout): SharedState {
    const state = SharedState.create(OWN_WORDS);
    const w = state.words;
    w[W_RAM + CmosIndex.REG_A] = REG_A_DEFAULT;
    w[W_RAM + CmosIndex.REG_B] = REG_B_DEFAULT;
    w[W_RAM + CmosIndex.REG_D] = REG_D_VALID_RAM;
    for (const [index, value] of memorySizeBytes(memory)) w[W_RAM + index] = value;
    return state;
  }

  override readonly name: string;
  readonly state: SharedState;
  private readonly words: Int32Array;
  private readonly lifecycle: LifecycleSink;
  private readonly clock: Clock;
  /** scratch for [year, month, day]; per instance (and so per thread), used under the lock */
  private readonly date = new Int32Array(3);

  constructor(deps: CmosDeps, state?: SharedState | SharedArrayBuffer) {
    super();
    this.name = deps.name ?? 'cmos';
    if (state === undefined) {
      if (deps.memory === undefined) throw new TypeError(`${this.name}: give the guest RAM layout or an existing state`);
      state = Cmos.createState(deps.memory);
    }
    this.state = asSharedState(state);
    this.words = deviceWords(this.state, OWN_WORDS, this.name);
    this.lifecycle = deps.lifecycle;
    this.clock = deps.clock ?? systemClock;
  }

  save(): SavedDeviceState {
    return saveWords(this.state, this.name, CMOS_STATE_VERSION, CMOS_FIELDS);
  }

  restore(saved: unknown): void {
    restoreWords(this.state, this.name, CMOS_STATE_VERSION, CMOS_FIELDS, saved);
  }

  protected readByte(offset: number): number {
    const w = this.words;
    this.state.lock();
    try {
      if (offset === 0) return w[W_INDEX];
      if (offset !== 1) return 0xff;
      return this.readRegister(w[W_INDEX] & INDEX_MASK);
    } finally {
      this.state.unlock();
    }
  }

  protected writeByte(offset: number, value: number): void {
    const w = this.words;
    let reset = false;
    this.state.lock();
    try {
      if (offset === 0) {
        w[W_INDEX] = value;
      } else if (offset === 1) {
        reset = w[W_INDEX] === RESET_INDEX && value === 0;
        this.writeRegister(w[W_INDEX] & INDEX_MASK, value);
      }
    } finally {
      this.state.unlock();
    }
    if (reset) this.lifecycle.reset('cmos-reset');
  }

  // --- lock held below ---

  private readRegister(index: number): number {
    const w = this.words;
    const regB = w[W_RAM + CmosIndex.REG_B];
    if (isClockRegister(index) && (regB & REG_B_SET) === 0) return this.clockRegister(index, regB);
    switch (index) {
      case CmosIndex.REG_A:
        return w[W_RAM + index] & ~REG_A_UIP;
      case CmosIndex.REG_C: {
        const flags = w[W_RAM + index];
        w[W_RAM + index] = 0; // reading C acknowledges the flags
        return flags;
      }
      case CmosIndex.REG_D:
        return REG_D_VALID_RAM;
      default:
        return w[W_RAM + index];
    }
  }

  private writeRegister(index: number, value: number): void {
    const w = this.words;
    switch (index) {
      case CmosIndex.REG_A:
        w[W_RAM + index] = value & ~REG_A_UIP;
        return;
      case CmosIndex.REG_B: {
        const old = w[W_RAM + index];
        if ((value & REG_B_SET) !== 0 && (old & REG_B_SET) === 0) this.freezeClock(value);
        w[W_RAM + index] = value;
        if ((value & REG_B_SET) === 0 && (old & REG_B_SET) !== 0) this.resumeClock(value);
        return;
      }
      case CmosIndex.REG_C:
      case CmosIndex.REG_D:
        return; // read-only
      default:
        w[W_RAM + index] = value;
    }
  }

  /** The guest's current time in seconds since the epoch. */
  private guestSeconds(): number {
    return Math.floor(this.clock.wallMs() / 1000) + this.words[W_CLOCK_OFFSET];
  }

  /** One time register, formatted per register B, from the clock. */
  private clockRegister(index: number, regB: number): number {
    const seconds = this.guestSeconds();
    const days = Math.floor(seconds / 86_400);
    const secondOfDay = seconds - days * 86_400;
    switch (index) {
      case CmosIndex.SECONDS:
        return this.encode(secondOfDay % 60, regB);
      case CmosIndex.MINUTES:
        return this.encode(Math.floor(secondOfDay / 60) % 60, regB);
      case CmosIndex.HOURS:
        return this.encodeHours(Math.floor(secondOfDay / 3600), regB);
      case CmosIndex.DAY_OF_WEEK:
        return this.encode(weekdayFromDays(days) + 1, regB); // 1 = Sunday
      default:
        break;
    }
    civilFromDays(days, this.date);
    switch (index) {
      case CmosIndex.DAY_OF_MONTH:
        return this.encode(this.date[2], regB);
      case CmosIndex.MONTH:
        return this.encode(this.date[1], regB);
      case CmosIndex.YEAR:
        return this.encode(this.date[0] % 100, regB);
      default: // CENTURY
        return this.encode(Math.floor(this.date[0] / 100), regB);
    }
  }

  /** SET went on: the time registers become RAM holding the current time, for the guest to edit. */
  private freezeClock(regB: number): void {
    const w = this.words;
    for (const index of CLOCK_REGISTERS) w[W_RAM + index] = this.clockRegister(index, regB);
  }

  /** SET went off: the clock continues from the time the guest wrote. */
  private resumeClock(regB: number): void {
    const w = this.words;
    const field = (index: number): number => this.decode(w[W_RAM + index], regB);
    const year = field(CmosIndex.CENTURY) * 100 + field(CmosIndex.YEAR);
    const days = daysFromCivil(year, field(CmosIndex.MONTH), field(CmosIndex.DAY_OF_MONTH));
    const hours = this.decodeHours(w[W_RAM + CmosIndex.HOURS], regB);
    const written = days * 86_400 + hours * 3600 + field(CmosIndex.MINUTES) * 60 + field(CmosIndex.SECONDS);
    const offset = written - Math.floor(this.clock.wallMs() / 1000);
    if (Number.isFinite(offset) && Math.abs(offset) < 0x7fff_ffff) w[W_CLOCK_OFFSET] = offset;
  }

  private encode(value: number, regB: number): number {
    return (regB & REG_B_BINARY) !== 0 ? value : toBcd(value);
  }

  private decode(value: number, regB: number): number {
    return (regB & REG_B_BINARY) !== 0 ? value : fromBcd(value);
  }

  private encodeHours(hours: number, regB: number): number {
    if ((regB & REG_B_24H) !== 0) return this.encode(hours, regB);
    const twelve = hours % 12 === 0 ? 12 : hours % 12;
    return this.encode(twelve, regB) | (hours >= 12 ? HOUR_PM : 0);
  }

  private decodeHours(value: number, regB: number): number {
    if ((regB & REG_B_24H) !== 0) return this.decode(value, regB);
    const twelve = this.decode(value & ~HOUR_PM, regB);
    return (twelve % 12) + ((value & HOUR_PM) !== 0 ? 12 : 0);
  }
}

const CLOCK_REGISTERS = [
  CmosIndex.SECONDS, CmosIndex.MINUTES, CmosIndex.HOURS, CmosIndex.DAY_OF_WEEK,
  CmosIndex.DAY_OF_MONTH, CmosIndex.MONTH, CmosIndex.YEAR, CmosIndex.CENTURY,
];
