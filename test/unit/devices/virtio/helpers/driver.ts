// A guest driver's side of a split virtqueue, written into test RAM the way a guest writes it: the
// tests give the device side (src/virtio/queue.ts) well-formed and hostile rings through it.
import { GuestRam } from '../../../../../src/boot/guest-ram.js';
import { Desc } from '../../../../../src/devices/virtio/constants.js';

export const RAM_BYTES = 1 << 20;
export const LAYOUT = { desc: 0x1000, avail: 0x3000, used: 0x4000 };
export const DATA = 0x10000;

export interface Buffer {
  addr: number;
  len: number;
  write?: boolean;
}

export class TestDriver {
  readonly ram = GuestRam.allocate([{ gpa: 0, size: RAM_BYTES, hostOffset: 0 }]);
  private availIdx = 0;
  private nextDesc = 0;

  constructor(readonly size = 8) {}

  get layout() {
    return { size: this.size, ...LAYOUT };
  }

  /** Writes descriptor `index` as given (anything, hostile included). */
  writeDesc(index: number, addr: number, len: number, flags: number, next: number, table = LAYOUT.desc): void {
    const at = table + index * Desc.SIZE;
    this.ram.writeU64(at, BigInt.asUintN(64, BigInt(addr)));
    this.ram.writeU32(at + 8, len);
    this.ram.writeU16(at + 12, flags);
    this.ram.writeU16(at + 14, next);
  }

  /** Chains `buffers` in fresh descriptors and makes the chain available; returns its head. */
  add(buffers: Buffer[]): number {
    const head = this.nextDesc;
    buffers.forEach((b, i) => {
      const index = (head + i) % this.size;
      const last = i === buffers.length - 1;
      this.writeDesc(index, b.addr, b.len, (b.write ? Desc.F_WRITE : 0) | (last ? 0 : Desc.F_NEXT), (index + 1) % this.size);
    });
    this.nextDesc = (head + buffers.length) % this.size;
    this.publish(head);
    return head;
  }

  /** Makes descriptor `head` available (avail.ring then avail.idx, as a driver orders them). */
  publish(head: number): void {
    this.ram.writeU16(LAYOUT.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.ram.writeU16(LAYOUT.avail + 2, this.availIdx);
  }

  setAvailIdx(idx: number): void {
    this.availIdx = idx & 0xffff;
    this.ram.writeU16(LAYOUT.avail + 2, this.availIdx);
  }

  /** used_event (EVENT_IDX): the used index after which the driver wants an interrupt */
  setUsedEvent(value: number): void {
    this.ram.writeU16(LAYOUT.avail + 4 + 2 * this.size, value);
  }

  get usedIdx(): number {
    return this.ram.readU16(LAYOUT.used + 2);
  }

  used(slot: number): { id: number; len: number } {
    const at = LAYOUT.used + 4 + 8 * slot;
    return { id: this.ram.readU32(at), len: this.ram.readU32(at + 4) };
  }

  /** avail_event (EVENT_IDX): where the device wants the next kick */
  get availEvent(): number {
    return this.ram.readU16(LAYOUT.used + 4 + 8 * this.size);
  }
}
