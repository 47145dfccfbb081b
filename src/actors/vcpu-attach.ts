// One vCPU of a VM build, attached to the calling thread: the vCPU created and set to its entry state,
// this thread's device buses over the build's shared device state, and what the run loop needs. (No
// device here reads guest RAM, and KVM uses the owner's mapping, so this thread maps none.) The vCPU worker runs it; the benchmarks' profile worker measures it.
import { native, type NativeAddon, type NativeVcpu } from '../kvm/native.js';
import { getRegs } from '../kvm/vcpu-ops.js';
import { hex } from '../util/units.js';
import { restoreVcpuState } from '../kvm/vcpu-state.js';
import { buildPlatform, platformDeps } from '../vm/platform.js';
import { applyBootState, setupVcpu } from '../vm/cpu-setup.js';
import { instructionCompleter } from '../vm/quirks.js';
import { ExitRecordView } from '../kvm/exit-record.js';
import { type LoopContext, type LoopVcpu, type PendingStop } from './vcpu-loop.js';
import { vcpuCounters, vcpuUnclaimed, type VcpuSpec } from '../vm/vcpu-spec.js';
import { TimedVcpu } from './exit-timing.js';
import { vcpuExitTiming } from '../vm/exit-timing-layout.js';

export interface AttachedLoop {
  vcpu: NativeVcpu;
  record: ExitRecordView;
  context: LoopContext;
  /** what the loop calls per exit: enterGuest(), timed when the spec asks (`--profile-exits`) */
  entry: LoopVcpu;
  /** what saving this vCPU's state reads (from its spec) */
  saving: VcpuSpec['saving'];
}

/** Attaches the vCPU `spec` describes; on failure nothing stays open. */
export function attachVcpu(spec: VcpuSpec): AttachedLoop {
  const addon = native();
  const vcpu = new addon.Vcpu(spec.vmFd, spec.vcpuId, spec.kvmRunMmapSize);
  try {
    setupVcpu(vcpu, spec);
    // A restored vCPU takes its saved state (MSRs KVM refuses here are reported, not fatal).
    if (spec.restore) restoreVcpuState(vcpu, spec.restore);
    else if (spec.boot) applyBootState(vcpu, spec.boot);
  } catch (error) {
    vcpu.close();
    throw error;
  }
  const pending: PendingStop = { stop: null };
  const platform = buildPlatform(spec.platform.devices, platformDeps(spec.platform, {
    irq: (line) => ({ set: (level) => addon.irqLine(spec.vmFd, line, level) }),
    lifecycle: {
      guestExit: (reason) => (pending.stop ??= { kind: 'guest-exit', reason }),
      reset: (reason) => (pending.stop ??= { kind: 'reset', reason }),
    },
    unclaimed: vcpuUnclaimed(spec.counters, spec.vcpuId),
  }));
  const context: LoopContext = {
    pio: platform.pio,
    mmio: platform.mmio,
    control: new Int32Array(spec.control),
    controlIndex: spec.vcpuId,
    counters: vcpuCounters(spec.counters, spec.vcpuId),
    pending,
    completer: spec.quirks.completeInstructions ? instructionCompleter(vcpu) : undefined,
    describeLocation: () => ({ rip: hex(getRegs(vcpu).rip) }),
    vcpuId: spec.vcpuId,
  };
  const bare = guestEntry(addon, vcpu);
  const timing = spec.exitTiming;
  const entry = timing ? new TimedVcpu(bare, timing.sampleEvery, vcpuExitTiming(timing.totals, spec.vcpuId)) : bare;
  return { vcpu, record: new ExitRecordView(vcpu.record), context, entry, saving: spec.saving };
}

/** Closes what `attachVcpu` opened. */
export function detachVcpu(attached: AttachedLoop): void {
  attached.vcpu.close();
}

/**
 * The addon's enterGuest() for the vCPU this thread created (bound through V8's API where available,
 * see native/fast_entry.cc), with the exit reason read back from the shared record: one call with no
 * arguments and no result object per exit.
 */
function guestEntry(addon: NativeAddon, vcpu: NativeVcpu): LoopVcpu {
  const reason = new Uint32Array(vcpu.record, 0, 1);
  const enterGuest = addon.enterGuest;
  return {
    record: vcpu.record,
    run: () => {
      enterGuest();
      return reason[0];
    },
  };
}
