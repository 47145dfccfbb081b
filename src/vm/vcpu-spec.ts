// What the main thread hands a vCPU worker for one VM build. Everything here is structured-cloneable;
// the SharedArrayBuffers are shared, not copied.
import type { PlatformShared } from './platform.js';
import type { BootCpuState } from './cpu-setup.js';
import type { StateCaps, VcpuState } from '../kvm/vcpu-state.js';

export interface VcpuSpec {
  /** which VM build this vCPU belongs to (resets make a new one) */
  generation: number;
  vcpuId: number;
  vcpuCount: number;
  vmFd: number;
  kvmRunMmapSize: number;
  platform: PlatformShared;
  /** Int32 per vCPU: Control.RUN / PAUSE / STOP */
  control: SharedArrayBuffer;
  /** Float64 × COUNTER_SLOTS per vCPU: exits by KVM exit reason */
  counters: SharedArrayBuffer;
  /** CPUID for this vCPU, 10 words per kvm_cpuid_entry2 */
  cpuid: Uint32Array;
  /** register state at entry (the boot vCPU); APs wait for INIT/SIPI */
  boot: BootCpuState | null;
  /** a saved state to put the vCPU in instead (a build restored from state); `boot` is null then */
  restore: VcpuState | null;
  /** what saving this vCPU's state reads: the MSRs KVM lists, and whether it has XSAVE and XCRs */
  saving: { msrIndices: number[]; caps: StateCaps };
  quirks: QuirkSettings;
  /** `--profile-exits`: time one exit in `sampleEvery`, totals in `totals` (EXIT_TIMING_WORDS per vCPU) */
  exitTiming: { sampleEvery: number; totals: SharedArrayBuffer } | null;
}

export interface QuirkSettings {
  /** complete instructions this platform's KVM cannot emulate (see docs/PLATFORM.md) */
  completeInstructions: boolean;
}

export const COUNTER_SLOTS = 64;

/** Exit reasons take the slots below this; the last four count accesses no device claimed. */
export const EXIT_REASON_SLOTS = 60;
const UNCLAIMED_PIO_SLOT = 60;
const UNCLAIMED_MMIO_SLOT = 62;

/** One vCPU's exit counters in the build's `counters` buffer. */
export function vcpuCounters(counters: SharedArrayBuffer, vcpuId: number): Float64Array {
  return new Float64Array(counters, vcpuId * COUNTER_SLOTS * 8, COUNTER_SLOTS);
}

/** The unclaimed-access counts within one vCPU's counters (vcpuCounters). */
export function unclaimedOf(counters: Float64Array): { pioReads: number; pioWrites: number; mmioReads: number; mmioWrites: number } {
  return { pioReads: counters[UNCLAIMED_PIO_SLOT], pioWrites: counters[UNCLAIMED_PIO_SLOT + 1], mmioReads: counters[UNCLAIMED_MMIO_SLOT], mmioWrites: counters[UNCLAIMED_MMIO_SLOT + 1] };
}

/** One vCPU's counts of unclaimed port and MMIO accesses, [reads, writes] each, in `counters`. */
export function vcpuUnclaimed(counters: SharedArrayBuffer, vcpuId: number): { pio: Float64Array; mmio: Float64Array } {
  const all = vcpuCounters(counters, vcpuId);
  return { pio: all.subarray(UNCLAIMED_PIO_SLOT, UNCLAIMED_PIO_SLOT + 2), mmio: all.subarray(UNCLAIMED_MMIO_SLOT, UNCLAIMED_MMIO_SLOT + 2) };
}

/** The worker's answer to attach: what the main thread needs to reach this vCPU. */
export interface AttachedVcpu {
  /** the native kick handle (kickVcpu) */
  handle: number;
}
