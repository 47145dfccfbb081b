// Resource descriptors (ACPI 6.x §6.4) for _CRS: the raw bytes of each small or large item.
// resourceTemplate() in aml.ts wraps a list of them, with the End Tag, into a Buffer.

function u16le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff];
}

function u32le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

function checkRange(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} ${value} is out of range [0, 0x${max.toString(16)}]`);
  }
}

export interface IoDescriptor {
  /** Decode16 (true, the usual) or Decode10 */
  decode16?: boolean;
  min: number;
  max: number;
  alignment: number;
  length: number;
}

/** IO (Decode16, min, max, alignment, length): small item 0x47, 8 bytes. */
export function io({ decode16 = true, min, max, alignment, length }: IoDescriptor): Uint8Array {
  checkRange('IO minimum', min, 0xffff);
  checkRange('IO maximum', max, 0xffff);
  checkRange('IO alignment', alignment, 0xff);
  checkRange('IO length', length, 0xff);
  return Uint8Array.from([0x47, decode16 ? 1 : 0, ...u16le(min), ...u16le(max), alignment, length]);
}

/** FixedIO (base, length): small item 0x4B, 4 bytes, a 10-bit ISA address. */
export function fixedIo(base: number, length: number): Uint8Array {
  checkRange('FixedIO base', base, 0x3ff);
  checkRange('FixedIO length', length, 0xff);
  return Uint8Array.from([0x4b, ...u16le(base), length]);
}

/** IRQNoFlags () { irqs }: small item 0x22, ISA IRQs 0–15 as a mask (edge, active high, exclusive). */
export function irqNoFlags(...irqs: number[]): Uint8Array {
  let mask = 0;
  for (const irq of irqs) {
    checkRange('ISA IRQ', irq, 15);
    mask |= 1 << irq;
  }
  return Uint8Array.from([0x22, ...u16le(mask)]);
}

export interface InterruptDescriptor {
  /** ResourceConsumer (true, the usual for a device) or ResourceProducer */
  consumer?: boolean;
  /** Edge (true) or Level */
  edge: boolean;
  /** ActiveLow (true) or ActiveHigh */
  activeLow: boolean;
  /** Shared (true) or Exclusive */
  shared?: boolean;
  /** SharedAndWake / ExclusiveAndWake */
  wake?: boolean;
}

/** Interrupt (consumer, trigger, polarity, sharing) { gsis }: extended large item 0x89. */
export function interrupt(
  { consumer = true, edge, activeLow, shared = false, wake = false }: InterruptDescriptor,
  ...gsis: number[]
): Uint8Array {
  if (gsis.length < 1 || gsis.length > 255) throw new RangeError('Interrupt() needs 1 to 255 interrupt numbers');
  for (const gsi of gsis) checkRange('interrupt number', gsi, 0xffff_ffff);
  const flags = (consumer ? 1 : 0) | (edge ? 2 : 0) | (activeLow ? 4 : 0) | (shared ? 8 : 0) | (wake ? 0x10 : 0);
  const dataLength = 2 + 4 * gsis.length;
  return Uint8Array.from([0x89, ...u16le(dataLength), flags, gsis.length, ...gsis.flatMap(u32le)]);
}

/** Memory32Fixed (ReadWrite | ReadOnly, base, length): large item 0x86, 12 bytes. */
export function memory32Fixed(readWrite: boolean, base: number, length: number): Uint8Array {
  checkRange('Memory32Fixed base', base, 0xffff_ffff);
  checkRange('Memory32Fixed length', length, 0xffff_ffff);
  return Uint8Array.from([0x86, ...u16le(9), readWrite ? 1 : 0, ...u32le(base), ...u32le(length)]);
}
