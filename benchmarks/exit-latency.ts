// Exit latency: per-exit cost = (time for N exits - time for 1 exit) / (N - 1), for every system, in
// alternating rounds (each round runs every system once, in a rotated order, so slow phases of a noisy
// machine hit all of them alike). Three clocks:
//   wall  - whole process, fork to exit (what a user sees; start-up cancels out in the subtraction)
//   cpu   - whole process, user + system CPU time of all threads: barely disturbed by other load
//   inner - the system's own clock around the guest's run (the floor and nodevmm-lib report one)
import { perExit, summarize, type Summary } from './lib/stats.js';
import { runSystem, type ExitKind, type SystemName } from './lib/systems.js';

export interface ExitLatencyOptions {
  n: number;
  rounds: number;
  kinds: ExitKind[];
  systems: SystemName[];
  log: (line: string) => void;
}

export interface ExitSample {
  round: number;
  system: SystemName;
  kind: ExitKind;
  n: number;
  wallNs: number;
  cpuNs: number;
  innerNs?: number;
  /** nodevmm-lib's breakdown of its whole run, ms (kept for the 1-exit runs) */
  phasesMs?: Record<string, number>;
}

export type Clock = 'wall' | 'cpu' | 'inner';

export interface PerExitSeries {
  /** per-exit cost of each round, ns */
  rounds: number[];
  summary: Summary;
}

export interface SystemKindResult {
  wall: PerExitSeries;
  cpu: PerExitSeries;
  inner?: PerExitSeries;
  /** whole run of the 1-exit guest, ns (start -> poweroff -> exit) */
  oneExitRun: Summary;
}

export interface RatioResult {
  /** ratio of the medians */
  ofMedians: number;
  /** median and spread of the ratios within each round */
  perRound: Summary;
}

export interface ExitLatencyResult {
  n: number;
  rounds: number;
  /** nodevmm-lib's 1-exit whole run, phase by phase: median ms over its runs */
  wholeRunPhasesMs?: Record<string, number>;
  samples: ExitSample[];
  results: Partial<Record<SystemName, Partial<Record<ExitKind, SystemKindResult>>>>;
  /** by exit kind, then "a/b (clock)" */
  ratios: Partial<Record<ExitKind, Record<string, RatioResult>>>;
}

const rotate = <T>(list: readonly T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length]);

export async function measureExitLatency(options: ExitLatencyOptions): Promise<ExitLatencyResult> {
  const { n, rounds, kinds, systems, log } = options;
  const samples: ExitSample[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      for (const system of rotate(systems, round)) {
        // N and 1 back to back, their order alternating, so a pair sees the same machine
        const sizes = round % 2 === 0 ? [1, n] : [n, 1];
        for (const size of sizes) {
          const run = await runSystem(system, kind, size);
          const phases = size === 1 && run.phasesMs ? { phasesMs: { ...run.phasesMs, 'process exit (wall)': run.wallNs / 1e6 } } : {};
          samples.push({ round, system, kind, n: size, wallNs: run.wallNs, cpuNs: run.cpuNs, innerNs: run.innerNs, ...phases });
        }
      }
    }
    log(`exit latency: round ${round + 1}/${rounds} done`);
  }
  const result: ExitLatencyResult = { n, rounds, samples, results: {}, ratios: {} };
  for (const system of systems) {
    for (const kind of kinds) {
      (result.results[system] ??= {})[kind] = summarizeSystem(samples, system, kind, n, rounds);
    }
  }
  for (const kind of kinds) result.ratios[kind] = ratios(result, kind);
  const phased = samples.filter((s) => s.phasesMs);
  if (phased.length) {
    result.wholeRunPhasesMs = Object.fromEntries(
      Object.keys(phased[0].phasesMs!).map((phase) => [phase, summarize(phased.map((s) => s.phasesMs![phase])).median]),
    );
  }
  return result;
}

function summarizeSystem(samples: ExitSample[], system: SystemName, kind: ExitKind, n: number, rounds: number): SystemKindResult {
  const wall: number[] = [];
  const cpu: number[] = [];
  const inner: number[] = [];
  const oneExit: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const pick = (size: number) => samples.find((s) => s.round === round && s.system === system && s.kind === kind && s.n === size)!;
    const [one, many] = [pick(1), pick(n)];
    wall.push(perExit(many.wallNs, one.wallNs, n));
    cpu.push(perExit(many.cpuNs, one.cpuNs, n));
    if (one.innerNs !== undefined && many.innerNs !== undefined) inner.push(perExit(many.innerNs, one.innerNs, n));
    oneExit.push(one.wallNs);
  }
  return {
    wall: { rounds: wall, summary: summarize(wall) },
    cpu: { rounds: cpu, summary: summarize(cpu) },
    ...(inner.length ? { inner: { rounds: inner, summary: summarize(inner) } } : {}),
    oneExitRun: summarize(oneExit),
  };
}

/** nodevmm against QEMU and against the floor, on each clock both sides have. */
function ratios(result: ExitLatencyResult, kind: ExitKind): Record<string, RatioResult> {
  const out: Record<string, RatioResult> = {};
  const pairs: Array<[SystemName, SystemName]> = [
    ['nodevmm', 'qemu'],
    ['nodevmm', 'floor'],
    ['nodevmm-lib', 'qemu'],
    ['nodevmm-lib', 'floor'],
    ['qemu', 'floor'],
  ];
  for (const clock of ['wall', 'cpu', 'inner'] as Clock[]) {
    for (const [a, b] of pairs) {
      const top = result.results[a]?.[kind]?.[clock];
      const bottom = result.results[b]?.[kind]?.[clock];
      if (!top || !bottom) continue;
      out[`${a}/${b} (${clock})`] = {
        ofMedians: top.summary.median / bottom.summary.median,
        perRound: summarize(top.rounds.map((v, i) => v / bottom.rounds[i])),
      };
    }
  }
  return out;
}
