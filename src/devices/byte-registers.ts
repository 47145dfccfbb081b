// Legacy PC devices have 8-bit registers. An ISA bus splits a wider access into byte accesses at
// consecutive ports, so a device built on this class does the same: `inw(0x70)` reads index then data.
// The common case, a byte access, goes straight to the device.
import type { BusDevice } from './device.js';

export abstract class ByteRegisterDevice implements BusDevice {
  abstract readonly name: string;

  /** One 8-bit register read at `offset` (0..255). */
  protected abstract readByte(offset: number): number;
  /** One 8-bit register write at `offset`; `value` is 0..255. */
  protected abstract writeByte(offset: number, value: number): void;

  read(offset: number, size: number): number {
    if (size === 1) return this.readByte(offset);
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.readByte(offset + i) << (8 * i);
    return value >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    if (size === 1) {
      this.writeByte(offset, value & 0xff);
      return;
    }
    for (let i = 0; i < size; i++) this.writeByte(offset + i, (value >>> (8 * i)) & 0xff);
  }
}

/** The value an undriven bus reads as: all ones for `size` bytes. */
export function allOnes(size: number): number {
  return size >= 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
}

