// Time spent per exit inside a vCPU worker, by exit reason (`--profile-exits`), without touching the
// loop: this wraps the vCPU entry the loop calls. For a sampled exit it reads the clock around run()
// and again when the loop calls run() next, so it knows
//   kvm: time inside run() - the KVM_RUN ioctl (guest, the kernel's exit and entry) plus the addon call
//   vmm: time from run() returning to the next run() - the loop's dispatch and the device handler
// and books both to that exit's reason. One exit in `sampleEvery` is timed, so the clock's own cost
// stays small (docs/BENCHMARKS.md, "Measuring inside nodevmm"); off, none of this is on the path.
import type { LoopVcpu } from './vcpu-loop.js';

export const REASON_SLOTS = 64;
const FIELDS = 4; // exits, timed exits, kvm ms, vmm ms
const [EXITS, TIMED, KVM, VMM] = [0, 1, 2, 3];

export interface ReasonTimes {
  count: number;
  /** how many of them were timed */
  timed: number;
  /** totals over the timed exits, ns */
  kvmNs: number;
  vmmNs: number;
}

export const EXIT_TIMING_WORDS = REASON_SLOTS * FIELDS;

/** One vCPU's totals in a build's exit-timing buffer (EXIT_TIMING_WORDS doubles per vCPU). */
export function vcpuExitTiming(totals: SharedArrayBuffer, vcpuId: number): Float64Array {
  return new Float64Array(totals, vcpuId * EXIT_TIMING_WORDS * 8, EXIT_TIMING_WORDS);
}

export class TimedVcpu implements LoopVcpu {
  private countdown = 1;
  /** the reason of the last timed exit, until the loop comes back for the next run() */
  private pendingSlot = -1;
  private lastReturnMs = 0;

  /**
   * `totals`: EXIT_TIMING_WORDS doubles (per reason: exits, timed exits, kvm ms, vmm ms), e.g. over a
   * SharedArrayBuffer the main thread reads.
   */
  constructor(
    private readonly inner: LoopVcpu,
    private readonly sampleEvery = 1,
    readonly totals: Float64Array<ArrayBufferLike> = new Float64Array(EXIT_TIMING_WORDS),
  ) {}

  get record(): ArrayBuffer {
    return this.inner.record;
  }

  run(): number {
    const timed = --this.countdown <= 0;
    if (timed || this.pendingSlot >= 0) {
      const entered = performance.now();
      if (this.pendingSlot >= 0) {
        this.totals[this.pendingSlot + VMM] += entered - this.lastReturnMs;
        this.pendingSlot = -1;
      }
      if (timed) {
        this.countdown = this.sampleEvery;
        const reason = this.inner.run();
        const returned = performance.now();
        const at = slot(reason);
        this.totals[at + EXITS]++;
        this.totals[at + TIMED]++;
        this.totals[at + KVM] += returned - entered;
        this.pendingSlot = at;
        this.lastReturnMs = returned;
        return reason;
      }
    }
    const reason = this.inner.run();
    this.totals[slot(reason) + EXITS]++;
    return reason;
  }

  byReason(): Record<number, ReasonTimes> {
    return exitTimesByReason(this.totals);
  }
}

/** Totals by reason, in ns (the clock reads ms as doubles; converted here, not per exit). */
export function exitTimesByReason(totals: Float64Array<ArrayBufferLike>): Record<number, ReasonTimes> {
  const out: Record<number, ReasonTimes> = {};
  for (let reason = 0; reason < REASON_SLOTS; reason++) {
    const at = reason * FIELDS;
    if (totals[at + EXITS] > 0) {
      out[reason] = {
        count: totals[at + EXITS],
        timed: totals[at + TIMED],
        kvmNs: totals[at + KVM] * 1e6,
        vmmNs: totals[at + VMM] * 1e6,
      };
    }
  }
  return out;
}

const slot = (reason: number): number => (reason < REASON_SLOTS ? reason : REASON_SLOTS - 1) * FIELDS;

/** What one clock read costs here, ns (the timed loop pays two per timed exit). */
export function clockReadNs(reads = 1_000_000): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) sink += performance.now();
  const elapsed = Number(process.hrtime.bigint() - start);
  return sink > 0 ? elapsed / reads : NaN;
}
