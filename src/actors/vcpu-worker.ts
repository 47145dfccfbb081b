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

/**
 * Test-only fault injection (the stress tests' "a worker that throws, one whose thread dies"): set in
 * the VMM's environment, never reachable from the API. `throw` makes vCPU 0's run fail; `exit` ends
 * vCPU 0's thread, both once the guest has run a moment.
 */
const INJECTED_FAULT = process.env.NODEVMM_TEST_INJECT_VCPU_FAULT;
let attachedVcpuId = -1;

function attach(spec: VcpuSpec): AttachedVcpu {
  if (current) detach();
  // `vcpuN`, as Cloud Hypervisor names its vCPU threads: libvirt's ch driver finds them by it.
  native().setThreadName(`vcpu${spec.vcpuId}`);
  current = attachVcpu(spec);
  attachedVcpuId = spec.vcpuId;
  return { handle: current.vcpu.handle };
}

function run(): VcpuStop {
  if (!current) throw new Error('vCPU worker: run() before attach()');
  if (INJECTED_FAULT && attachedVcpuId === 0) injectFault(INJECTED_FAULT);
  return runVcpu(current.entry, current.record, current.context);
}

function injectFault(kind: string): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // the guest's other vCPUs run meanwhile
  if (kind === 'exit') process.exit(70); // in a worker: ends this thread only, as a crash of it would
  throw new Error(`injected fault (NODEVMM_TEST_INJECT_VCPU_FAULT=${kind})`);
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
