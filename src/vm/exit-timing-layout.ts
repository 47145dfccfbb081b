// The layout of the exit-timing totals (`--profile-exits`) that vCPU workers write and the main thread
// reads: REASON_SLOTS reasons × FIELDS doubles per vCPU in one SharedArrayBuffer per VM build.

export const REASON_SLOTS = 64;
const FIELDS = 4;
/** per reason: exits, timed exits, kvm ms, vmm ms */
export const TimingField = { EXITS: 0, TIMED: 1, KVM: 2, VMM: 3 } as const;
const { EXITS, TIMED, KVM, VMM } = TimingField;

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

/** The first word of `reason`'s fields (reasons past the table share the last slot). */
export function exitSlot(reason: number): number {
  return (reason < REASON_SLOTS ? reason : REASON_SLOTS - 1) * FIELDS;
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
