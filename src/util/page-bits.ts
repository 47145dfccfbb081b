// Page bitmaps as KVM's dirty log lays them out (bit i of a region's bitmap = its 4 KiB page i, in
// byte i / 8, bit i % 8): the one place that sets those bits, for the VMM's own marks and the device
// threads' alike. Atomic, since a bitmap may be shared between threads that mark it at once.

export const BITMAP_PAGE_SIZE = 4096;

/** Sets the bit of every page that bytes [offset, offset + length) of the region touch. */
export function markPageBits(bits: Uint8Array, offset: number, length: number): void {
  if (length <= 0) return;
  const first = Math.floor(offset / BITMAP_PAGE_SIZE);
  const end = Math.ceil((offset + length) / BITMAP_PAGE_SIZE);
  for (let page = first; page < end; page++) Atomics.or(bits, page >> 3, 1 << (page & 7));
}
