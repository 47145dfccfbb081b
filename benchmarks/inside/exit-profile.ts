// Measuring inside nodevmm: the per-exit cost of its vCPU loop in a worker thread, taken apart.
// Each run builds the VM with nodevmm's own Machine.build (same memory, irqchip, payload loading,
// platform) and hands the vCPU to a worker (profile-worker.ts) that runs one of three loops. Levels:
//   floor (C, in-process) < addon (JS calling run()) < loop (nodevmm's runVcpu) < nodevmm (whole VMM)
// so the differences say what the addon call, the dispatch and the rest of the VMM each cost. Each
// round runs the floor too, and every level is timed by wall clock and by its thread's CPU time.
import { Worker } from 'node:worker_threads';
import { native } from '../../src/kvm/native.js';
import { KvmExitName } from '../../src/kvm/constants.js';
import { Machine } from '../../src/vm/machine.js';
import { detectPlatformQuirks } from '../../src/vm/quirks.js';
import { ByteRing } from '../../src/host/byte-ring.js';
import { guest } from '../lib/paths.js';
import { perExit, summarize, type Summary } from '../lib/stats.js';
import { runSystem, type ExitKind } from '../lib/systems.js';
import type { ProfileMode, ProfileResult } from './profile-worker.js';
import { loadCallCostAddons } from '../experiments/call-cost/addons.js';

export interface InsideOptions {
  n: number;
  rounds: number;
  kinds: ExitKind[];
  log: (line: string) => void;
}

export interface ReasonBreakdown {
  /** which TimedVcpu: every exit timed, or one in 64 */
  mode: ProfileMode;
  reason: string;
  count: number;
  timed: number;
  /** per timed exit of this reason, ns */
  kvmNs: number;
  vmmNs: number;
}

export interface Series {
  rounds: number[];
  summary: Summary;
}

/** The C floor's KVM_RUN loop, then the worker's loops (profile-worker.ts). */
export type Level = 'floor' | ProfileMode;

export interface InsideResult {
  /** per-exit cost by level and kind, from (loop time for N - for 1) / (N - 1): wall clock */
  perExit: Partial<Record<Level, Partial<Record<ExitKind, Series>>>>;
  /** the same from the looping thread's CPU time */
  perExitCpu: Partial<Record<Level, Partial<Record<ExitKind, Series>>>>;
  /** each level over the floor, per round (thread CPU time), by kind */
  overFloorCpu: Partial<Record<Level, Partial<Record<ExitKind, Series>>>>;
  /** the timed loops' split, from their N-exit runs (medians over rounds) */
  breakdown: Partial<Record<ExitKind, ReasonBreakdown[]>>;
  clockReadNs: number;
}

const EXPERIMENT_MODES: ProfileMode[] = loadCallCostAddons() ? ['napi-fn-copy', 'napi-fn', 'v8-fn'] : [];
const MODES: ProfileMode[] = ['addon', 'loop', 'timed', 'timed-64', ...EXPERIMENT_MODES];
const LEVELS: Level[] = ['floor', ...MODES];
const MEMORY_BYTES = 64 * 1024 * 1024;

async function runOnce(kind: ExitKind, n: number, mode: ProfileMode): Promise<ProfileResult> {
  const kvm = new (native().Kvm)();
  const machine = await Machine.build(
    { vcpus: 1, memoryBytes: MEMORY_BYTES, payload: { kernel: guest(kind), cmdline: String(n) }, serial: true, profileExits: 0 },
    { kvm, generation: 1, quirks: detectPlatformQuirks(), host: { serialOut: ByteRing.create().buffer, debugOut: ByteRing.create(1 << 12).buffer }, vcpuControl: new SharedArrayBuffer(4) },
  );
  try {
    const worker = new Worker(new URL('./profile-worker.js', import.meta.url), { workerData: { spec: machine.specs[0], mode } });
    const result = await new Promise<ProfileResult>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`profile worker exited with ${code}`)));
    });
    await worker.terminate();
    if (result.stop !== 'guest-exit') throw new Error(`inside profile ${mode} ${kind}: loop ended with ${result.stop}`);
    return result;
  } finally {
    machine.destroy();
    kvm.close();
  }
}

export async function measureInside(options: InsideOptions): Promise<InsideResult> {
  const { n, rounds, kinds, log } = options;
  const perRound: Record<string, number[]> = {};
  const timedRuns: Record<string, ProfileResult[]> = {};
  let clockRead = NaN;
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      // the floor in the same round, so each level can be compared with it run by run
      const [floorOne, floorMany] = [await runSystem('floor', kind, 1), await runSystem('floor', kind, n)];
      perRound[`floor/${kind}`] = [...(perRound[`floor/${kind}`] ?? []), perExit(floorMany.innerNs!, floorOne.innerNs!, n)];
      perRound[`floor/${kind}/cpu`] = [...(perRound[`floor/${kind}/cpu`] ?? []), perExit(floorMany.innerCpuNs!, floorOne.innerCpuNs!, n)];
      for (const mode of MODES) {
        const one = await runOnce(kind, 1, mode);
        const many = await runOnce(kind, n, mode);
        (perRound[`${mode}/${kind}`] ??= []).push(perExit(many.loopNs, one.loopNs, n));
        (perRound[`${mode}/${kind}/cpu`] ??= []).push(perExit(many.loopCpuNs, one.loopCpuNs, n));
        if (mode === 'timed' || mode === 'timed-64') {
          (timedRuns[`${mode}/${kind}`] ??= []).push(many);
          clockRead = many.clockReadNs ?? clockRead;
        }
      }
    }
    log(`inside profile: round ${round + 1}/${rounds} done`);
  }
  const series = (values: (level: Level, kind: ExitKind) => number[]): InsideResult['perExit'] => {
    const out: InsideResult['perExit'] = {};
    for (const level of LEVELS) {
      const byKind: Partial<Record<ExitKind, Series>> = (out[level] = {});
      for (const kind of kinds) byKind[kind] = { rounds: values(level, kind), summary: summarize(values(level, kind)) };
    }
    return out;
  };
  const cpu = (level: Level, kind: ExitKind): number[] => perRound[`${level}/${kind}/cpu`];
  const breakdown: InsideResult['breakdown'] = {};
  for (const kind of kinds) {
    breakdown[kind] = (['timed', 'timed-64'] as ProfileMode[]).flatMap((mode) => medianBreakdown(mode, timedRuns[`${mode}/${kind}`] ?? []));
  }
  return {
    perExit: series((level, kind) => perRound[`${level}/${kind}`]),
    perExitCpu: series(cpu),
    overFloorCpu: series((level, kind) => cpu(level, kind).map((v, i) => v / cpu('floor', kind)[i])),
    breakdown,
    clockReadNs: clockRead,
  };
}

function medianBreakdown(mode: ProfileMode, runs: ProfileResult[]): ReasonBreakdown[] {
  const reasons = new Set(runs.flatMap((r) => Object.keys(r.byReason ?? {}).map(Number)));
  return [...reasons].map((reason) => {
    const each = runs.map((r) => r.byReason![reason]).filter((t) => t !== undefined);
    const med = (f: (t: (typeof each)[number]) => number) => summarize(each.map(f)).median;
    return {
      mode,
      reason: KvmExitName[reason] ?? `exit_${reason}`,
      count: med((t) => t.count),
      timed: med((t) => t.timed),
      kvmNs: med((t) => (t.timed ? t.kvmNs / t.timed : NaN)),
      vmmNs: med((t) => (t.timed ? t.vmmNs / t.timed : NaN)),
    };
  });
}
