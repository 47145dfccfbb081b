// Time spent per exit inside a vCPU worker, by exit reason (`--profile-exits`), without touching the
// loop: this wraps the vCPU entry the loop calls. For a sampled exit it reads the clock around run()
// and again when the loop calls run() next, so it knows
//   kvm: time inside run() - the KVM_RUN ioctl (guest, the kernel's exit and entry) plus the addon call
//   vmm: time from run() returning to the next run() - the loop's dispatch and the device handler
// and books both to that exit's reason. One exit in `sampleEvery` is timed, so the clock's own cost
// stays small (docs/BENCHMARKS.md, "Measuring inside nodevmm"); off, none of this is on the path.
import type { LoopVcpu } from './vcpu-loop.js';
import { EXIT_TIMING_WORDS, TimingField, exitSlot, exitTimesByReason, type ReasonTimes } from '../vm/exit-timing-layout.js';

export type { ReasonTimes };
const { EXITS, TIMED, KVM, VMM } = TimingField;

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
        const at = exitSlot(reason);
        this.totals[at + EXITS]++;
        this.totals[at + TIMED]++;
        this.totals[at + KVM] += returned - entered;
        this.pendingSlot = at;
        this.lastReturnMs = returned;
        return reason;
      }
    }
    const reason = this.inner.run();
    this.totals[exitSlot(reason) + EXITS]++;
    return reason;
  }

  byReason(): Record<number, ReasonTimes> {
    return exitTimesByReason(this.totals);
  }
}

/** What one clock read costs here, ns (the timed loop pays two per timed exit). */
export function clockReadNs(reads = 1_000_000): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) sink += performance.now();
  const elapsed = Number(process.hrtime.bigint() - start);
  return sink > 0 ? elapsed / reads : NaN;
}
