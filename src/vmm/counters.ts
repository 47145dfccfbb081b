// vm.counters (the exit counts and, with profiling on, exit times the workers keep in
// shared memory, keyed by exit-reason name) and vm.info.
import { KvmExitName } from '../kvm/constants.js';
import type { ReasonTimes } from '../vm/exit-timing-layout.js';
import type { Machine } from '../vm/machine.js';
import { EXIT_REASON_SLOTS, unclaimedOf } from '../vm/vcpu-spec.js';
import type { EventSink, ExitCounts, ExitTimes, LifecycleCounts, VmCounters, VmInfo, VmState } from './types.js';
import type { VmConfig } from './config.js';


const reasonName = (reason: number): string => KvmExitName[reason] ?? `exit_${reason}`;

/** Exit counts indexed by KVM exit reason → { io: 123, mmio: 4, … } (zero counts left out). */
export function exitCountsByName(counts: Float64Array): ExitCounts {
  const byName: ExitCounts = {};
  counts.subarray(0, EXIT_REASON_SLOTS).forEach((count, reason) => {
    if (count > 0) byName[reasonName(reason)] = count;
  });
  return byName;
}

/** Timing totals by reason → the mean time per timed exit, in KVM and in the worker. */
export function exitTimesByName(byReason: Record<number, ReasonTimes>): ExitTimes {
  return Object.fromEntries(
    Object.entries(byReason).map(([reason, t]) => [
      reasonName(Number(reason)),
      {
        exits: t.count,
        timed: t.timed,
        kvmNs: t.timed > 0 ? Math.round(t.kvmNs / t.timed) : 0,
        vmmNs: t.timed > 0 ? Math.round(t.vmmNs / t.timed) : 0,
      },
    ]),
  );
}

/** What vm.counters reports, from the parts of the VMM that count. */
export function vmCounters(parts: {
  machine: Pick<Machine, 'exitCounts' | 'exitTimes'> | null;
  lifecycle: LifecycleCounts;
  serialDroppedBytes: number;
  sink: Pick<EventSink, 'lostCount' | 'pendingCount'> | null;
}): VmCounters {
  const times = parts.machine?.exitTimes();
  const perVcpu = parts.machine?.exitCounts() ?? [];
  const unclaimed = { pioReads: 0, pioWrites: 0, mmioReads: 0, mmioWrites: 0 };
  for (const counts of perVcpu) for (const [key, n] of Object.entries(unclaimedOf(counts))) unclaimed[key as keyof typeof unclaimed] += n;
  return {
    vcpus: perVcpu.map(exitCountsByName),
    unclaimed,
    lifecycle: { ...parts.lifecycle },
    serial: { droppedBytes: parts.serialDroppedBytes },
    eventMonitor: { lostEvents: parts.sink?.lostCount ?? 0, pendingEvents: parts.sink?.pendingCount ?? 0 },
    ...(times ? { exitTiming: times.map(exitTimesByName) } : {}),
  };
}

/** vm.info as Cloud Hypervisor reports it: a Pty's path in the serial's (the console's) config `file`. */
export function vmInfo(config: VmConfig, state: VmState, ptyPaths: { serial?: string; console?: string }): VmInfo {
  const withPty = (c: VmConfig['serial'], path: string | undefined) => (c.mode === 'Pty' && path ? { ...c, file: path } : c);
  return {
    config: { ...config, serial: withPty(config.serial, ptyPaths.serial), console: withPty(config.console, ptyPaths.console) },
    state: state as VmInfo['state'],
    memoryActualSize: config.memory.size,
  };
}
