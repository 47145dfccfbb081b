// The two address spaces a vCPU exit can touch. Each maps an address to (device, offset within the
// device's range) and forwards the access; nothing here allocates per access.
//
// - PioBus: the 64 KiB x86 port space. A Uint16Array has one slot number per port, so dispatch is one
//   array load. Slots are registrations: one device may be registered at several ranges (e.g. the debug
//   console at 0x402 and 0xe9) and always sees offsets relative to the range that was hit.
// - MmioBus: sparse guest-physical ranges, kept sorted; dispatch is a binary search.
//
// An access is routed by its first byte: a 4-byte read at a device's last port goes to that device,
// which decides what the bytes past its end read as. Accesses nobody claims read as all ones (an
// undriven bus) and writes to them are dropped; both are counted so stray guest I/O shows up in stats.
import type { BusDevice } from './device.js';
import { allOnes } from './byte-registers.js';
import { TWO_32, hex } from '../util/units.js';

const PORT_SPACE = 0x1_0000;
const NO_SLOT = 0;

/** A device and where it was registered; what the buses report for an address. */
export interface BusRange {
  readonly base: number;
  readonly length: number;
  readonly device: BusDevice;
}

export interface UnclaimedCounts {
  reads: number;
  writes: number;
}

const describe = (range: BusRange): string =>
  `${hex(range.base)}..${hex(range.base + range.length - 1)} ("${range.device.name}")`;

function checkLength(kind: string, base: number, length: number, device: BusDevice, limit: number): void {
  if (!Number.isSafeInteger(base) || !Number.isSafeInteger(length) || base < 0 || length < 1 || base + length > limit) {
    throw new RangeError(`${kind} range for "${device.name}" is out of range: base ${base}, length ${length} (limit ${hex(limit)})`);
  }
}

export class PioBus {
  private readonly slotOfPort = new Uint16Array(PORT_SPACE);
  /** index 0 is the "no device" slot */
  private readonly ranges: BusRange[] = [{ base: 0, length: 0, device: { name: 'none', read: () => 0, write: () => {} } }];
  private readonly devices: BusDevice[] = [this.ranges[0].device];
  private readonly bases: number[] = [0];
  /**
   * @param unclaimedCounts [reads, writes] of addresses no device claims: the caller may pass a view
   * of shared memory, so that another thread can read them (vm.counters)
   */
  constructor(private readonly unclaimedCounts: Float64Array<ArrayBufferLike> = new Float64Array(2)) {}

  /** Claims ports [base, base + length) for `device`; throws if any is taken or outside 0..0xffff. */
  register(base: number, length: number, device: BusDevice): void {
    checkLength('PIO', base, length, device, PORT_SPACE);
    for (let port = base; port < base + length; port++) {
      const taken = this.slotOfPort[port];
      if (taken !== NO_SLOT) {
        throw new Error(`PIO range ${describe({ base, length, device })} overlaps ${describe(this.ranges[taken])}`);
      }
    }
    const slot = this.ranges.length;
    this.ranges.push({ base, length, device });
    this.devices.push(device);
    this.bases.push(base);
    this.slotOfPort.fill(slot, base, base + length);
  }

  read(port: number, size: number): number {
    const slot = this.slotOfPort[port & 0xffff];
    if (slot === NO_SLOT) {
      this.unclaimedCounts[0]++;
      return allOnes(size);
    }
    return this.devices[slot].read(port - this.bases[slot], size);
  }

  write(port: number, size: number, value: number): void {
    const slot = this.slotOfPort[port & 0xffff];
    if (slot === NO_SLOT) {
      this.unclaimedCounts[1]++;
      return;
    }
    this.devices[slot].write(port - this.bases[slot], size, value);
  }

  /** The registration covering `port`, if any (diagnostics and tests). */
  rangeAt(port: number): BusRange | undefined {
    const slot = this.slotOfPort[port & 0xffff];
    return slot === NO_SLOT ? undefined : this.ranges[slot];
  }

  get unclaimed(): UnclaimedCounts {
    return { reads: this.unclaimedCounts[0], writes: this.unclaimedCounts[1] };
  }
}

const MMIO_LIMIT = Number.MAX_SAFE_INTEGER;

export class MmioBus {
  // Parallel arrays sorted by base; registration is rare, lookups are not.
  private bases: number[] = [];
  private ends: number[] = [];
  private ranges: BusRange[] = [];
  /**
   * @param unclaimedCounts [reads, writes] of addresses no device claims: the caller may pass a view
   * of shared memory, so that another thread can read them (vm.counters)
   */
  constructor(private readonly unclaimedCounts: Float64Array<ArrayBufferLike> = new Float64Array(2)) {}

  /** Claims [base, base + length) for `device`; throws on overlap or a range past 2^53. */
  register(base: number, length: number, device: BusDevice): void {
    checkLength('MMIO', base, length, device, MMIO_LIMIT);
    const range = { base, length, device };
    const at = this.insertionPoint(base);
    const before = this.ranges[at - 1];
    const after = this.ranges[at];
    if (before && before.base + before.length > base) {
      throw new Error(`MMIO range ${describe(range)} overlaps ${describe(before)}`);
    }
    if (after && base + length > after.base) {
      throw new Error(`MMIO range ${describe(range)} overlaps ${describe(after)}`);
    }
    this.ranges.splice(at, 0, range);
    this.bases.splice(at, 0, base);
    this.ends.splice(at, 0, base + length);
  }

  /**
   * Reads `size` bytes (1, 2, 4 or 8) at `address`. An 8-byte read is two 4-byte reads (low half
   * first), combined into a number: exact while the result is below 2^53.
   */
  read(address: number, size: number): number {
    if (size === 8) return this.read(address, 4) + this.read(address + 4, 4) * TWO_32;
    const i = this.find(address);
    if (i < 0) {
      this.unclaimedCounts[0]++;
      return allOnes(size);
    }
    return this.ranges[i].device.read(address - this.bases[i], size);
  }

  /** Writes `size` bytes; an 8-byte write is two 4-byte writes, low half first (exact below 2^53). */
  write(address: number, size: number, value: number): void {
    if (size === 8) {
      this.write(address, 4, (value % TWO_32) >>> 0);
      this.write(address + 4, 4, Math.floor(value / TWO_32) >>> 0);
      return;
    }
    const i = this.find(address);
    if (i < 0) {
      this.unclaimedCounts[1]++;
      return;
    }
    this.ranges[i].device.write(address - this.bases[i], size, value);
  }

  rangeAt(address: number): BusRange | undefined {
    const i = this.find(address);
    return i < 0 ? undefined : this.ranges[i];
  }

  get unclaimed(): UnclaimedCounts {
    return { reads: this.unclaimedCounts[0], writes: this.unclaimedCounts[1] };
  }

  /** Index of the range containing `address`, or -1. */
  private find(address: number): number {
    const i = this.insertionPoint(address + 1) - 1; // last range with base <= address
    return i >= 0 && address < this.ends[i] ? i : -1;
  }

  /** First index whose base is >= `address`. */
  private insertionPoint(address: number): number {
    const bases = this.bases;
    let lo = 0;
    let hi = bases.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bases[mid] < address) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
