// Pages of guest RAM a device thread wrote, for a live migration's pre-copy: KVM logs only what the
// guest's vCPUs write, while a device writes guest RAM through the VMM's mapping (a disk read, a
// received frame, a used ring). The VMM hands each device thread one bitmap per RAM region (shared
// memory, bit i = the region's page i, as KVM's dirty log counts them); the thread sets bits with
// Atomics.or (util/page-bits.ts) and the VMM takes them with each collect.
import { BITMAP_PAGE_SIZE, markPageBits } from '../../util/page-bits.js';

/** One RAM region's bitmap: where the region sits in the RAM mapping, and its shared bits. */
export interface WriteBitmap {
  hostOffset: number;
  size: number;
  /** page i is bit i % 8 of byte i / 8 */
  bitmap: SharedArrayBuffer;
}

interface Region {
  start: number;
  end: number;
  bits: Uint8Array;
}

export class WrittenPages {
  private readonly regions: Region[];

  /** `ram` is the mapping the device's views of guest RAM are made on. */
  constructor(
    maps: readonly WriteBitmap[],
    private readonly ram: ArrayBufferLike,
  ) {
    this.regions = maps.map((m) => {
      const bits = new Uint8Array(m.bitmap);
      if (bits.length * 8 * BITMAP_PAGE_SIZE < m.size) throw new RangeError(`a bitmap of ${m.bitmap.byteLength} bytes cannot cover ${m.size} bytes of RAM`);
      return { start: m.hostOffset, end: m.hostOffset + m.size, bits };
    });
  }

  /** Marks the pages under each view; views of other memory (a copy) are not guest RAM and are skipped. */
  markViews(views: readonly Uint8Array[]): void {
    for (const view of views) this.markView(view);
  }

  markView(view: Uint8Array): void {
    if (view.buffer !== this.ram || view.byteLength === 0) return;
    const at = view.byteOffset;
    const region = this.regions.find((r) => at >= r.start && at + view.byteLength <= r.end);
    if (region) markPageBits(region.bits, at - region.start, view.byteLength);
  }
}
