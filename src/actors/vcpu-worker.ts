// A vCPU worker thread: owns one vCPU of the current VM build, runs its loop, and answers the
// supervisor's pool over comlink. Port and MMIO exits are handled here, synchronously; only the loop's
// end (a lifecycle exit, a stop, a pause, a fatal error) goes back to the main thread.
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { native, type NativeGuestMemory, type NativeVcpu } from '../kvm/native.js';
import { KVM_REGS_SIZE, decodeRegs } from '../kvm/structs.js';
import { buildPlatform } from '../vm/platform.js';
import { applyBootState, setupVcpu } from '../vm/cpu-setup.js';
import { ExitRecordView, runVcpu, type LoopContext, type LoopVcpu, type PendingStop } from './vcpu-loop.js';
import type { VcpuStop } from './lifecycle.js';
import { COUNTER_SLOTS, type AttachedVcpu, type VcpuSpec } from './vcpu-spec.js';
import { instructionCompleter } from '../vm/quirks.js';
import { EXIT_TIMING_WORDS, TimedVcpu } from './exit-timing.js';
import { guestEntry } from './guest-entry.js';

interface Attached {
  spec: VcpuSpec;
  vcpu: NativeVcpu;
  /** what the loop calls per exit: the addon's bare enterGuest(), the reason read from the record */
  entry: LoopVcpu;
  memory: NativeGuestMemory;
  record: ExitRecordView;
  context: LoopContext;
}

let current: Attached | null = null;

function attach(spec: VcpuSpec): AttachedVcpu {
  if (current) detach();
  const addon = native();
  const memory = new addon.GuestMemory(spec.memory.size, spec.memory.fd);
  const vcpu = new addon.Vcpu(spec.vmFd, spec.vcpuId, spec.kvmRunMmapSize);
  try {
    setupVcpu(vcpu, spec);
    if (spec.boot) applyBootState(vcpu, spec.boot);
  } catch (error) {
    vcpu.close();
    memory.close();
    throw error;
  }
  const pending: PendingStop = { stop: null };
  const platform = buildPlatform(spec.platform, {
    irq: (line) => ({ set: (level) => addon.irqLine(spec.vmFd, line, level) }),
    lifecycle: {
      guestExit: (reason) => (pending.stop ??= { kind: 'guest-exit', reason }),
      reset: (reason) => (pending.stop ??= { kind: 'reset', reason }),
    },
  });
  const record = new ExitRecordView(vcpu.record);
  const regs = new Uint8Array(KVM_REGS_SIZE);
  const context: LoopContext = {
    pio: platform.pio,
    mmio: platform.mmio,
    control: new Int32Array(spec.control),
    controlIndex: spec.vcpuId,
    counters: new Float64Array(spec.counters, spec.vcpuId * COUNTER_SLOTS * 8, COUNTER_SLOTS),
    pending,
    completer: spec.quirks.completeInstructions ? instructionCompleter(vcpu) : undefined,
    describeLocation: () => {
      vcpu.getRegs(regs);
      return { rip: '0x' + decodeRegs(regs).rip.toString(16) };
    },
    vcpuId: spec.vcpuId,
  };
  const bare = guestEntry(addon, vcpu);
  const timing = spec.exitTiming;
  const entry = timing
    ? new TimedVcpu(bare, timing.sampleEvery, new Float64Array(timing.totals, spec.vcpuId * EXIT_TIMING_WORDS * 8, EXIT_TIMING_WORDS))
    : bare;
  current = { spec, vcpu, entry, memory, record, context };
  return { handle: vcpu.handle };
}

function run(): VcpuStop {
  if (!current) throw new Error('vCPU worker: run() before attach()');
  return runVcpu(current.entry, current.record, current.context);
}

function detach(): void {
  if (!current) return;
  current.vcpu.close();
  current.memory.close();
  current = null;
}

const api = { attach, run, detach };
export type VcpuWorkerApi = typeof api;

const port = (workerData as { port: MessagePort }).port;
Comlink.expose(api, port as unknown as Comlink.Endpoint);
