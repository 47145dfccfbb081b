// Worker thread for the inside profile: attaches one vCPU with nodevmm's own attachVcpu (as
// src/actors/vcpu-worker.ts does: same setup, same platform, same loop), then runs the guest in one of these ways and posts timings:
//   addon  - a bare JS loop around the guest entry nodevmm's worker uses (enterGuest()): the cost
//            of the addon call and the JS loop alone
//   loop   - nodevmm's runVcpu with the real device buses: what a nodevmm worker does
//   timed  - runVcpu over a TimedVcpu: per-reason time split between KVM and the loop's own work
//   timed-64 - the same, timing one exit in 64 (what an always-available profile switch would cost)
//   napi-fn-copy, napi-fn, v8-fn - the bare loop through other bindings, to price proposed addon
//            changes (benchmarks/experiments/call-cost/loops.ts)
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { KvmExit } from '../../src/kvm/constants.js';
import { runVcpu } from '../../src/actors/vcpu-loop.js';
import type { VcpuSpec } from '../../src/vm/vcpu-spec.js';
import { attachVcpu, detachVcpu } from '../../src/actors/vcpu-attach.js';
import { TimedVcpu, clockReadNs, type ReasonTimes } from '../../src/actors/exit-timing.js';
import { runExperimentLoop, type ExperimentMode } from '../experiments/call-cost/loops.js';

export type ProfileMode = 'addon' | 'loop' | 'timed' | 'timed-64' | ExperimentMode;

export interface ProfileResult {
  mode: ProfileMode;
  /** first run() to the S5 exit, ns */
  loopNs: number;
  /** this thread's CPU time over the same span, ns */
  loopCpuNs: number;
  stop: string;
  byReason?: Record<number, ReasonTimes>;
  clockReadNs?: number;
}

const ACPI_SLEEP_PORT = 0x600;
const { spec, mode } = workerData as { spec: VcpuSpec; mode: ProfileMode };

// The spec has no exit timing (Machine.build with profileExits 0): `entry` is the bare enterGuest().
const attached = attachVcpu(spec);
const { vcpu, record, context, entry } = attached;

/** The least JS can do per exit: enter the guest, look for the S5 write. */
function bareLoop(): string {
  const words = record.words;
  for (;;) {
    const reason = entry.run();
    if (reason === KvmExit.IO && words[4] === ACPI_SLEEP_PORT && words[2] !== 0) return 'guest-exit';
    if (reason !== KvmExit.IO && reason !== KvmExit.MMIO && reason !== KvmExit.HLT) return `exit ${reason}`;
  }
}

function runMode(): string {
  switch (mode) {
    case 'addon':
      return bareLoop();
    case 'napi-fn-copy':
    case 'napi-fn':
    case 'v8-fn':
      return runExperimentLoop(mode, vcpu.fd, spec.kvmRunMmapSize);
    default:
      return runVcpu(timed ?? entry, record, context).kind;
  }
}

/** CPU time of this thread, ns: the first field of its schedstat (Node has no thread CPU clock). */
const threadCpuNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);

const timed = mode === 'timed' ? new TimedVcpu(entry) : mode === 'timed-64' ? new TimedVcpu(entry, 64) : null;
const startCpu = threadCpuNs();
const start = process.hrtime.bigint();
const stop = runMode();
const loopNs = Number(process.hrtime.bigint() - start);
const loopCpuNs = threadCpuNs() - startCpu;
detachVcpu(attached);

const result: ProfileResult = { mode, loopNs, loopCpuNs, stop };
if (timed) {
  result.byReason = timed.byReason();
  result.clockReadNs = clockReadNs();
}
parentPort!.postMessage(result);
