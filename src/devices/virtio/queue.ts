// A split virtqueue (virtio 1.2 §2.7) as the device side walks it, over guest RAM. Everything in the
// rings comes from the guest and is checked before use: ring placement and alignment, the queue size,
// avail.idx running ahead by more than the queue, head and next indices, descriptor chains that loop
// or run longer than the queue, indirect tables (size, nesting, NEXT with INDIRECT), buffers outside
// RAM, and device-readable buffers after device-writable ones. A violation throws QueueError; the
// device then stops the queue (NEEDS_RESET). Buffers are views of guest RAM: no copies.
import type { GuestRam } from '../../boot/guest-ram.js';
import { AVAIL_F_NO_INTERRUPT, Desc } from './constants.js';
import { hex, TWO_32 } from '../../util/units.js';

export class QueueError extends Error {
  override name = 'QueueError';
}

export interface QueueLayout {
  size: number;
  desc: number;
  avail: number;
  used: number;
}

/** One request: the buffers of a descriptor chain, device-readable ones first. */
export interface DescriptorChain {
  head: number;
  readable: Uint8Array[];
  writable: Uint8Array[];
}

/** Indirect tables longer than this are refused (Linux makes them at most a queue's size). */
const MAX_INDIRECT = 1024;

export class SplitQueue {
  private readonly desc: Uint32Array;
  private readonly avail: Uint16Array;
  private readonly usedFlagsIdx: Uint16Array;
  private readonly usedRing: Uint32Array;
  /** where avail_event lives in the used ring (EVENT_IDX) */
  private readonly availEvent: Uint16Array;
  private readonly size: number;
  /** the whole used ring (flags, idx, entries, avail_event): all the device writes besides buffers */
  readonly usedBytes: Uint8Array;

  /**
   * Views the rings `layout` places in `ram`; throws QueueError when they do not fit. `nextAvail` and
   * `nextUsed` are where the device left off (0 for a fresh queue).
   */
  constructor(
    private readonly ram: GuestRam,
    layout: QueueLayout,
    private readonly eventIdx: boolean,
    public nextAvail = 0,
    public nextUsed = 0,
  ) {
    const { size, desc, avail, used } = layout;
    if (!Number.isInteger(size) || size < 1 || size > 32768 || (size & (size - 1)) !== 0) throw new QueueError(`queue size ${size} is not a power of 2 up to 32768`);
    if (desc % 16 !== 0 || avail % 2 !== 0 || used % 4 !== 0) throw new QueueError(`misaligned rings: desc ${hex(desc)}, avail ${hex(avail)}, used ${hex(used)}`);
    this.size = size;
    this.desc = u32View(ram.read(checked(ram, desc, size * Desc.SIZE, 'descriptor table'), size * Desc.SIZE));
    this.avail = u16View(ram.read(checked(ram, avail, 6 + 2 * size, 'available ring'), 6 + 2 * size));
    const usedBytes = ram.read(checked(ram, used, 6 + 8 * size, 'used ring'), 6 + 8 * size);
    this.usedBytes = usedBytes;
    this.usedFlagsIdx = u16View(usedBytes.subarray(0, 4));
    this.usedRing = u32View(usedBytes.subarray(4, 4 + 8 * size));
    this.availEvent = u16View(usedBytes.subarray(4 + 8 * size, 6 + 8 * size));
  }

  /** The next request the driver made available, or null when there is none. */
  pop(): DescriptorChain | null {
    const availIdx = Atomics.load(this.avail, 1);
    const pending = (availIdx - this.nextAvail) & 0xffff;
    if (pending === 0) return null;
    if (pending > this.size) throw new QueueError(`avail.idx ${availIdx} is ${pending} entries ahead of the device, more than the queue size ${this.size}`);
    const head = this.avail[2 + (this.nextAvail & (this.size - 1))];
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    return this.walk(head);
  }

  /** Leaves the request pop() just returned in the ring, untouched, for a later pop(). */
  unpop(): void {
    this.nextAvail = (this.nextAvail - 1) & 0xffff;
  }

  /** Returns a finished request to the driver: `written` bytes went into its writable buffers. */
  pushUsed(head: number, written: number): void {
    const slot = (this.nextUsed & (this.size - 1)) * 2;
    this.usedRing[slot] = head;
    this.usedRing[slot + 1] = written;
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
    Atomics.store(this.usedFlagsIdx, 1, this.nextUsed); // after the entry: the driver reads idx first
  }

  /**
   * Whether the driver wants an interrupt for the used entries from `usedBefore` to now: EVENT_IDX's
   * used_event test (§2.7.10), or the avail ring's NO_INTERRUPT flag without it.
   */
  needsInterrupt(usedBefore: number): boolean {
    if (usedBefore === this.nextUsed) return false;
    if (!this.eventIdx) return (Atomics.load(this.avail, 0) & AVAIL_F_NO_INTERRUPT) === 0;
    const usedEvent = Atomics.load(this.avail, 2 + this.size);
    return ((this.nextUsed - usedEvent - 1) & 0xffff) < ((this.nextUsed - usedBefore) & 0xffff);
  }

  /**
   * With EVENT_IDX, asks for a notification at the next request (avail_event = nextAvail). Returns
   * whether requests arrived meanwhile: then the caller must look again, since no kick will come.
   */
  armNotification(): boolean {
    if (!this.eventIdx) return false;
    Atomics.store(this.availEvent, 0, this.nextAvail);
    return Atomics.load(this.avail, 1) !== this.nextAvail;
  }

  private walk(head: number): DescriptorChain {
    if (head >= this.size) throw new QueueError(`available ring names descriptor ${head}, past the queue size ${this.size}`);
    const chain: DescriptorChain = { head, readable: [], writable: [] };
    const d = this.desc;
    let index = head;
    for (let count = 1; ; count++) {
      if (count > this.size) throw new QueueError(`descriptor chain from ${head} is longer than the queue (a loop)`);
      const at = index * 4;
      const addr = d[at] + d[at + 1] * TWO_32;
      const len = d[at + 2];
      const flags = d[at + 3] & 0xffff;
      const next = d[at + 3] >>> 16;
      if (flags & Desc.F_INDIRECT) {
        if (flags & Desc.F_NEXT) throw new QueueError(`descriptor ${index} is both INDIRECT and NEXT`);
        this.walkIndirect(addr, len, chain);
        return chain;
      }
      this.addBuffer(chain, addr, len, flags, `descriptor ${index}`);
      if ((flags & Desc.F_NEXT) === 0) return chain;
      if (next >= this.size) throw new QueueError(`descriptor ${index} chains to ${next}, past the queue size ${this.size}`);
      index = next;
    }
  }

  private walkIndirect(addr: number, len: number, chain: DescriptorChain): void {
    if (len === 0 || len % Desc.SIZE !== 0 || len / Desc.SIZE > MAX_INDIRECT) throw new QueueError(`indirect table of ${len} bytes (a multiple of 16, up to ${MAX_INDIRECT} entries)`);
    const table = this.ram.read(checked(this.ram, addr, len, 'indirect table'), len);
    const view = new DataView(table.buffer, table.byteOffset, len);
    const entries = len / Desc.SIZE;
    let index = 0;
    for (let count = 1; ; count++) {
      if (count > entries) throw new QueueError(`indirect chain at ${hex(addr)} loops`);
      const at = index * Desc.SIZE;
      const bufAddr = view.getUint32(at, true) + view.getUint32(at + 4, true) * TWO_32;
      const bufLen = view.getUint32(at + 8, true);
      const flags = view.getUint16(at + 12, true);
      const next = view.getUint16(at + 14, true);
      if (flags & Desc.F_INDIRECT) throw new QueueError(`indirect table at ${hex(addr)} nests another`);
      this.addBuffer(chain, bufAddr, bufLen, flags, `indirect descriptor ${index}`);
      if ((flags & Desc.F_NEXT) === 0) return;
      if (next >= entries) throw new QueueError(`indirect descriptor ${index} chains to ${next}, past its table of ${entries}`);
      index = next;
    }
  }

  private addBuffer(chain: DescriptorChain, addr: number, len: number, flags: number, what: string): void {
    if (len === 0) return;
    const view = this.ram.read(checked(this.ram, addr, len, what), len);
    if (flags & Desc.F_WRITE) chain.writable.push(view);
    else if (chain.writable.length > 0) throw new QueueError(`${what} is device-readable after a device-writable one`);
    else chain.readable.push(view);
  }
}

function checked(ram: GuestRam, gpa: number, length: number, what: string): number {
  if (!ram.contains(gpa, length)) throw new QueueError(`${what} [${hex(gpa)}, +${length}) is outside guest RAM`);
  return gpa;
}

// Ring views by element: the rings' alignment (checked above) and the RAM mapping's page alignment
// keep these on element boundaries. Little-endian host and guest (x86).
const u16View = (bytes: Uint8Array): Uint16Array => new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1);
const u32View = (bytes: Uint8Array): Uint32Array => new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
