// Sizes and number formatting used across the VMM, defined once.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
/** 2^32 as a plain number: splits and joins 64-bit values held in two 32-bit halves */
export const TWO_32 = 0x1_0000_0000;

/** `0x…` in lower-case hex, for addresses, ports and register values in messages */
export function hex(value: number | bigint): string {
  return '0x' + value.toString(16);
}
