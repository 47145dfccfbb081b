// A vCPU worker thread: owns one vCPU of the current VM build, runs its loop, and answers the
// supervisor's pool over comlink. Port and MMIO exits are handled here, synchronously; only the loop's
// end (a lifecycle exit, a stop, a pause, a fatal error) goes back to the main thread.
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { runVcpu } from './vcpu-loop.js';
import type { VcpuStop } from './lifecycle.js';
import type { AttachedVcpu, VcpuSpec } from '../vm/vcpu-spec.js';
import { attachVcpu, detachVcpu, type AttachedLoop } from './vcpu-attach.js';
import { saveVcpuState, type VcpuState } from '../kvm/vcpu-state.js';
import { native } from '../kvm/native.js';

let current: AttachedLoop | null = null;

function attach(spec: VcpuSpec): AttachedVcpu {
  if (current) detach();
  // `vcpuN`, as Cloud Hypervisor names its vCPU threads: libvirt's ch driver finds them by it.
  native().setThreadName(`vcpu${spec.vcpuId}`);
  current = attachVcpu(spec);
  return { handle: current.vcpu.handle };
}

function run(): VcpuStop {
  if (!current) throw new Error('vCPU worker: run() before attach()');
  return runVcpu(current.entry, current.record, current.context);
}

/** The vCPU's whole state, for a snapshot; call only while its loop is not running (paused). */
function saveState(): VcpuState {
  if (!current) throw new Error('vCPU worker: saveState() before attach()');
  return saveVcpuState(current.vcpu, current.saving.msrIndices, current.saving.caps);
}

function detach(): void {
  if (!current) return;
  detachVcpu(current);
  current = null;
}

/** Answers once this thread has loaded its modules: the pool's readiness check. */
function ready(): true {
  return true;
}

const api = { attach, run, saveState, detach, ready };
export type VcpuWorkerApi = typeof api;

const port = (workerData as { port: MessagePort }).port;
Comlink.expose(api, port as unknown as Comlink.Endpoint);
