// Dirty-page bitmaps as KVM_GET_DIRTY_LOG fills them (bit i of the slot's bitmap = its page i, in
// little-endian 64-bit words, so byte i / 8, bit i % 8) and the runs of guest RAM they stand for: what
// a migration's Memory command sends. Pure: no KVM.
import { BITMAP_PAGE_SIZE, markPageBits } from '../util/page-bits.js';

export const DIRTY_PAGE_SIZE = BITMAP_PAGE_SIZE;

/** One KVM memory slot of guest RAM, as it was registered. */
export interface LoggedRegion {
  slot: number;
  gpa: number;
  /** offset of the first byte in the guest memory's host mapping */
  hostOffset: number;
  size: number;
  /** the slot's other KVM_SET_USER_MEMORY_REGION flags, kept when logging turns on and off (default 0) */
  flags?: number;
}

/** Bytes [gpa, gpa + length) of guest RAM, found at hostOffset in the host mapping. */
export interface DirtyRun {
  gpa: number;
  hostOffset: number;
  length: number;
}

export interface DirtyPages {
  /** in region order, then address order; consecutive dirty pages are one run, never across regions */
  runs: DirtyRun[];
  /** dirty pages in all */
  pages: number;
}

export function pageCount(size: number): number {
  return Math.ceil(size / DIRTY_PAGE_SIZE);
}

/** A slot's bitmap size: KVM reads and writes whole 64-bit words. */
export function bitmapBytes(size: number): number {
  return Math.ceil(pageCount(size) / 64) * 8;
}

function runOf(region: LoggedRegion, firstPage: number, endPage: number): DirtyRun {
  const start = firstPage * DIRTY_PAGE_SIZE;
  return { gpa: region.gpa + start, hostOffset: region.hostOffset + start, length: Math.min(endPage * DIRTY_PAGE_SIZE, region.size) - start };
}

/** Appends the runs of `region`'s dirty pages to `out`; returns how many pages are dirty. */
export function bitmapRuns(bitmap: Uint8Array, region: LoggedRegion, out: DirtyRun[]): number {
  const pages = pageCount(region.size);
  if (bitmap.length * 8 < pages) throw new RangeError(`slot ${region.slot}: a bitmap of ${bitmap.length} bytes cannot hold ${pages} pages`);
  let dirty = 0;
  let start = -1; // first page of the open run
  for (let byte = 0; byte * 8 < pages; byte++) {
    const bits = bitmap[byte];
    // Whole bytes that neither end nor open a run (most of RAM, clean or rewritten) are skipped.
    if (bits === 0 && start < 0) continue;
    if (bits === 0xff && start >= 0 && byte * 8 + 8 <= pages) {
      dirty += 8;
      continue;
    }
    for (let bit = 0; bit < 8; bit++) {
      const page = byte * 8 + bit;
      if (page >= pages) break; // KVM never sets bits past the slot's end
      if ((bits >> bit) & 1) {
        dirty++;
        if (start < 0) start = page;
      } else if (start >= 0) {
        out.push(runOf(region, start, page));
        start = -1;
      }
    }
  }
  if (start >= 0) out.push(runOf(region, start, pages));
  return dirty;
}

/** Sets the bits of every page [gpa, gpa + length) touches; the range must lie in `region`. */
export function markPages(bitmap: Uint8Array, region: LoggedRegion, gpa: number, length: number): void {
  markPageBits(bitmap, gpa - region.gpa, length);
}

/** The region holding all of [gpa, gpa + length), if one does. */
export function regionOf<R extends LoggedRegion>(regions: readonly R[], gpa: number, length: number): R | undefined {
  return regions.find((r) => gpa >= r.gpa && gpa + length <= r.gpa + r.size);
}

/**
 * The runs of RAM that hold anything (`scan` answers [offset, length, ...] of a host range's non-zero
 * pages, as GuestMemory.nonZeroRuns does): what a first pass must send to a destination whose RAM
 * starts zero.
 */
export function writtenRuns(regions: readonly LoggedRegion[], scan: (hostOffset: number, length: number) => Float64Array): DirtyPages {
  const runs: DirtyRun[] = [];
  let pages = 0;
  for (const region of regions) {
    if (region.size === 0) continue;
    const found = scan(region.hostOffset, region.size);
    for (let i = 0; i + 1 < found.length; i += 2) {
      const [hostOffset, length] = [found[i], found[i + 1]];
      if (hostOffset < region.hostOffset || hostOffset + length > region.hostOffset + region.size) throw new RangeError(`a scan of slot ${region.slot} answered a run outside it`);
      runs.push({ gpa: region.gpa + (hostOffset - region.hostOffset), hostOffset, length });
      pages += pageCount(length);
    }
  }
  return { runs, pages };
}
