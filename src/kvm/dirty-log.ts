// Dirty-page tracking for a live migration's pre-copy: KVM logs the guest's writes to RAM per slot
// once the slot is registered with KVM_MEM_LOG_DIRTY_PAGES, and each KVM_GET_DIRTY_LOG hands over
// the pages written since the last one. Writes the VMM makes itself (devices writing guest RAM) go
// through the host mapping, which KVM does not see: the VMM reports them with markWritten(), and
// device threads set bits in the shared bitmaps of writeBitmaps() (atomically: they run meanwhile).
import { MemoryRegionFlags } from './constants.js';
import type { NativeGuestMemory, NativeVm } from './native.js';
import { bitmapBytes, bitmapRuns, markPages, regionOf, type DirtyPages, type DirtyRun, type LoggedRegion } from './dirty-runs.js';

export { bitmapBytes, bitmapRuns, DIRTY_PAGE_SIZE, type DirtyPages, type DirtyRun, type LoggedRegion } from './dirty-runs.js';

export const KVM_MEM_LOG_DIRTY_PAGES = MemoryRegionFlags.LOG_DIRTY_PAGES;

interface Bitmaps {
  /** filled by KVM_GET_DIRTY_LOG */
  kvm: Uint8Array;
  /** pages the VMM wrote since the last collect (shared with device threads); as words, for merging into kvm's */
  vmm: Uint8Array;
  vmmShared: SharedArrayBuffer;
  kvmWords: Uint32Array;
  vmmWords: Uint32Array;
}

function bitmapsFor(region: LoggedRegion): Bitmaps {
  const kvm = new Uint8Array(bitmapBytes(region.size)); // 8-byte multiples: whole words
  const vmmShared = new SharedArrayBuffer(kvm.length);
  const vmm = new Uint8Array(vmmShared);
  return { kvm, vmm, vmmShared, kvmWords: new Uint32Array(kvm.buffer), vmmWords: new Uint32Array(vmmShared) };
}

export class DirtyLog {
  private readonly regions: readonly LoggedRegion[];
  /** per region while logging; made by start() and reused by every collect() */
  private bitmaps: Bitmaps[] | null = null;

  constructor(
    private readonly vm: NativeVm,
    private readonly memory: NativeGuestMemory,
    regions: readonly LoggedRegion[],
  ) {
    this.regions = regions.map((r) => ({ ...r }));
  }

  get logging(): boolean {
    return this.bitmaps !== null;
  }

  /**
   * Turns logging on for every slot: the same region registered again with the flag, as the KVM API
   * documents. The first collect() then reports what the guest wrote since this call.
   */
  start(): void {
    if (this.bitmaps) throw new Error('DirtyLog.start: already logging');
    const done: LoggedRegion[] = [];
    try {
      for (const region of this.regions) {
        this.register(region, KVM_MEM_LOG_DIRTY_PAGES);
        done.push(region);
      }
    } catch (error) {
      // Leave no slot half-way: the ones already flagged go back to how they were.
      for (const region of done) this.register(region, 0);
      throw error;
    }
    this.bitmaps = this.regions.map(bitmapsFor);
  }

  /** Turns logging off (every slot registered again without the flag); what was not collected is lost. */
  stop(): void {
    if (!this.bitmaps) return;
    this.bitmaps = null;
    for (const region of this.regions) this.register(region, 0);
  }

  /** The pages written since start() or the last collect(), by the guest and by markWritten(). */
  collect(): DirtyPages {
    const bitmaps = this.bitmaps;
    if (!bitmaps) throw new Error('DirtyLog.collect: not logging (start() first)');
    const runs: DirtyRun[] = [];
    let pages = 0;
    this.regions.forEach((region, i) => {
      const { kvm, kvmWords, vmmWords } = bitmaps[i];
      this.vm.getDirtyLog(region.slot, kvm);
      for (let w = 0; w < vmmWords.length; w++) {
        if (Atomics.load(vmmWords, w) === 0) continue;
        kvmWords[w] |= Atomics.exchange(vmmWords, w, 0);
      }
      pages += bitmapRuns(kvm, region, runs);
    });
    return { runs, pages };
  }

  /**
   * Records that the VMM wrote [gpa, gpa + length) of guest RAM, for the next collect(). Nothing to
   * record while not logging (a pre-copy's first iteration sends all RAM anyway).
   */
  markWritten(gpa: number, length: number): void {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0) {
      throw new RangeError(`DirtyLog.markWritten(${gpa}, ${length}): not a byte range`);
    }
    if (length === 0 || !this.bitmaps) return;
    const index = this.regions.indexOf(regionOf(this.regions, gpa, length) as LoggedRegion);
    if (index < 0) throw new RangeError(`DirtyLog.markWritten: [0x${gpa.toString(16)}, +0x${length.toString(16)}) is not within one RAM region`);
    markPages(this.bitmaps[index].vmm, this.regions[index], gpa, length);
  }

  /**
   * While logging: per region, where it sits in the RAM mapping and the shared bitmap a device thread
   * marks the pages it writes in (bit i = page i, the layout collect() merges).
   */
  writeBitmaps(): Array<{ hostOffset: number; size: number; bitmap: SharedArrayBuffer }> {
    if (!this.bitmaps) throw new Error('DirtyLog.writeBitmaps: not logging (start() first)');
    return this.regions.map((region, i) => ({ hostOffset: region.hostOffset, size: region.size, bitmap: this.bitmaps![i].vmmShared }));
  }

  private register(region: LoggedRegion, logFlag: number): void {
    this.vm.setMemoryRegion(region.slot, region.gpa, this.memory, region.hostOffset, region.size, (region.flags ?? 0) | logFlag);
  }
}
