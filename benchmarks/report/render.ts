// The results of a run as text tables (Markdown-compatible) and as an SVG plot.
import type { ExitLatencyResult } from '../exit-latency.js';
import type { InsideResult, Level } from '../inside/exit-profile.js';
import type { LifecycleResult } from '../lifecycle.js';
import type { VirtioBlkResult } from '../virtio-blk.js';
import type { VirtioNetResult } from '../virtio-net.js';
import type { LinuxBootResult } from '../linux-boot.js';
import type { FootprintResult } from '../footprint.js';
import type { ExitCountCheck } from '../verify-exits.js';
import type { CallOverhead } from '../experiments/call-cost/call-overhead.js';
import type { VmBuildCosts } from '../experiments/vm-build-costs.js';
import type { MigrationResult } from '../migration.js';
import { CHURN_SYSTEMS, type ChurnResult } from '../churn.js';
import { renderMigration } from './migration-table.js';
import type { ExitKind, SystemName } from '../lib/systems.js';
import type { MachineNote } from './machine.js';
import { plotPerExit, type PlotPanel } from './plot.js';
import { micros, millis, ratio, table } from './table.js';
import type { Summary } from '../lib/stats.js';

export type Suite = 'verify' | 'exit' | 'inside' | 'calls' | 'lifecycle' | 'linux-boot' | 'vm-build' | 'footprint' | 'migration' | 'virtio-blk' | 'virtio-net' | 'churn';

export interface Results {
  machine: MachineNote;
  options: { rounds: number; n: number; suites: Suite[] };
  verify?: ExitCountCheck[];
  exitLatency?: ExitLatencyResult;
  inside?: InsideResult;
  callOverhead?: CallOverhead;
  lifecycle?: LifecycleResult;
  linuxBoot?: LinuxBootResult;
  virtioBlk?: VirtioBlkResult;
  virtioNet?: VirtioNetResult;
  churn?: ChurnResult;
  vmBuild?: VmBuildCosts;
  footprint?: FootprintResult;
  migration?: MigrationResult;
  machineAfter?: MachineNote;
}

export const KINDS: ExitKind[] = ['pio', 'mmio'];
export const SYSTEMS: SystemName[] = ['floor', 'qemu', 'nodevmm', 'nodevmm-lib'];
const COLORS: Record<string, string> = {
  floor: '#2b7a2b', qemu: '#c05a00', nodevmm: '#1f5fbf', 'nodevmm-lib': '#6a3fb5',
  addon: '#5a8fd8', loop: '#1f5fbf', timed: '#8a8a8a', 'timed-64': '#b0b0b0', 'napi-fn-copy': '#d4c35a', 'napi-fn': '#b5a33f', 'v8-fn': '#b53f7a',
};
export function render(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`\n## nodevmm benchmarks, ${m.date}`);
  out.push(`${m.cpu} × ${m.cpus}, Linux ${m.kernel}, ${m.kvmModule}, Node ${m.node}, ${m.qemu}`);
  if (m.source) out.push(`figures from ${m.source}`);
  out.push(`load average before ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')}, after ${r.machineAfter?.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);

  if (r.verify) {
    out.push('\n### Exits reach the VMM (strace: extra KVM_RUN returns for N = 1000 over N = 1, expect 999)');
    out.push(table(['system', 'kind', 'extra KVM_RUN', 'ok'], r.verify.map((c) => [c.system, c.kind, String(c.extraRuns), c.ok ? 'yes' : 'NO'])));
  }
  const e = r.exitLatency;
  if (e) {
    out.push(`\n### Exit latency: µs per exit, median [q1–q3] ±half-IQR, ${e.rounds} alternating rounds, N = ${e.n}`);
    out.push('wall: whole process, fork to exit; cpu: its user + system time, all threads; inner: its own clock around the guest run');
    const rows: string[][] = [];
    for (const system of SYSTEMS) {
      const s = e.results[system];
      if (!s) continue;
      rows.push([`${system} (wall)`, ...KINDS.map((k) => micros(s[k]?.wall.summary)), millis(s.pio?.oneExitRun)]);
      rows.push([`${system} (cpu)`, ...KINDS.map((k) => micros(s[k]?.cpu.summary)), '']);
      if (s.pio?.inner) rows.push([`${system} (inner)`, ...KINDS.map((k) => micros(s[k]?.inner?.summary)), '']);
    }
    out.push(table(['system', 'PIO', 'MMIO', 'whole run, 1-exit guest, ms'], rows));
    if (e.wholeRunPhasesMs) {
      out.push('\nWhere the 1-exit whole run goes (nodevmm-lib, medians, ms; the first row counts from process start)');
      out.push(table(['phase', 'ms'], Object.entries(e.wholeRunPhasesMs).map(([phase, ms]) => [phase, ms.toFixed(1)])));
    }
    out.push('\nRatios (median of per-round ratios [q1–q3], and the ratio of the medians); target nodevmm/qemu ≤ 1.00, nodevmm/floor ≤ 1.05');
    const names = Object.keys(e.ratios.pio ?? {});
    out.push(table(['ratio', 'PIO', 'MMIO'], names.map((n) => [n, ...KINDS.map((k) => ratio(e.ratios[k]?.[n]?.perRound, e.ratios[k]?.[n]?.ofMedians))])));
  }
  const i = r.inside;
  if (i) {
    out.push('\n### Inside nodevmm: the looping thread alone, µs per exit, (loop time for N − for 1) / (N − 1)');
    const levels: Array<[Level, string]> = [
      ['floor', 'floor: C loop on KVM_RUN'],
      ['addon', "addon: bare JS loop on nodevmm's enterGuest()"],
      ['loop', "loop: nodevmm's runVcpu + device buses"],
      ['timed', 'timed: runVcpu over TimedVcpu, every exit'],
      ['timed-64', 'timed-64: the same, 1 exit in 64 timed'],
      ['napi-fn-copy', 'experiment: N-API function() + decoded record'],
      ['napi-fn', 'experiment: N-API function() + kvm_run in place'],
      ['v8-fn', 'experiment: V8 callback + kvm_run in place'],
    ];
    out.push(
      table(
        ['level (bare loops: floor, addon, experiments)', 'PIO wall', 'PIO thread CPU', 'MMIO wall', 'MMIO thread CPU', 'CPU / floor (PIO, MMIO)'],
        levels.filter(([level]) => i.perExit[level]).map(([level, label]) => [
          label,
          ...KINDS.flatMap((k) => [micros(i.perExit[level]?.[k]?.summary), micros(i.perExitCpu[level]?.[k]?.summary)]),
          KINDS.map((k) => i.overFloorCpu[level]?.[k]?.summary.median.toFixed(3) ?? '–').join(', '),
        ]),
      ),
    );
    out.push(`\nPer exit reason (TimedVcpu, medians over rounds; a clock read costs ${i.clockReadNs.toFixed(0)} ns here, one on each side of a timed interval)`);
    const rows: string[][] = [];
    for (const kind of KINDS) {
      for (const b of i.breakdown[kind] ?? []) {
        rows.push([`${kind} guest`, b.mode, b.reason, String(b.count), String(b.timed), (b.kvmNs / 1000).toFixed(3), (b.vmmNs / 1000).toFixed(3)]);
      }
    }
    out.push(table(['guest', 'profile', 'exit reason', 'exits', 'timed', 'in run() µs/exit', 'in the loop µs/exit'], rows));
  }
  if (r.callOverhead) {
    out.push('\n### One JS → native call with nothing behind it, by binding style (ns per call, worker thread)');
    out.push(table(['binding style', 'ns/call'], Object.entries(r.callOverhead).map(([style, ns]) => [style, ns.toFixed(1)])));
  }
  const l = r.lifecycle;
  if (l) {
    out.push(`\n### Lifecycle latency, ms, median [q1–q3] (PM timer resolution ${(l.resolutionNs / 1000).toFixed(2)} µs)`);
    out.push(table(['path', 'latency'], Object.entries(l.metrics).map(([name, v]) => [name, millis(v.summary, 2)])));
  }
  const b = r.linuxBoot;
  if (b) {
    out.push(`\n### Linux boot, ms from the VMM's start, median [q1–q3]: ${b.kernel}, test initramfs, ${b.cpus} vCPUs, ${b.memoryMib} MiB`);
    const rows = (['nodevmm', 'qemu'] as const).map((s) => [s === 'qemu' ? 'QEMU -M microvm' : s, millis(toNs(b.results[s].kernel.summary), 0), millis(toNs(b.results[s].init.summary), 0)]);
    rows.push(['**nodevmm / QEMU** (per round; goal ≤ 1.00)', '', ratio(b.ratio.summary)]);
    out.push(table(['system', "to the kernel's first line", "to the initramfs's first line"], rows));
  }
  if (r.vmBuild) {
    out.push('\n### What KVM charges to build and destroy a VM here (ms, median [q1–q3]): behind the lifecycle latencies');
    out.push(table(['step', 'ms'], Object.entries(r.vmBuild).map(([step, s]) => [step, millis(s, 2)])));
  }
  const f = r.footprint;
  if (f) {
    out.push('\n### Footprint: peak RSS with a 64 MiB guest, MiB');
    out.push(table(['system', 'peak RSS'], Object.entries(f.maxRssKib).map(([s, v]) => [s, (v!.median / 1024).toFixed(1)])));
  }
  if (r.migration) out.push(renderMigration(r.migration));
  const v = r.virtioBlk;
  if (v) {
    out.push(`\n### virtio-blk in Debian's kernel (blkbench: O_DIRECT, queue depth 1), median [q1–q3]: ${v.image}`);
    const figure = (s: Summary, digits: number) => `${s.median.toFixed(digits)} [${s.q1.toFixed(digits)}–${s.q3.toFixed(digits)}]`;
    const rows = (['nodevmm', 'qemu'] as const).map((s) => [s === 'qemu' ? 'QEMU -M microvm' : s, figure(v.results[s].seqwrite.summary, 1), figure(v.results[s].seqread.summary, 1), figure(v.results[s].randread.summary, 0)]);
    rows.push(['**nodevmm / QEMU** (goal ≥ 1.00)', figure(v.ratio.seqwrite.summary, 2), figure(v.ratio.seqread.summary, 2), figure(v.ratio.randread.summary, 2)]);
    out.push(table(['system', 'sequential write MB/s', 'sequential read MB/s', '4 KiB random read IOPS'], rows));
  }
  const n = r.virtioNet;
  if (n) {
    out.push(`\n### virtio-net in Debian's kernel over a tap (TCP, ${n.bytes >> 20} MiB, busybox nc), MB/s, median [q1–q3]`);
    const figure = (s: Summary, digits: number) => `${s.median.toFixed(digits)} [${s.q1.toFixed(digits)}–${s.q3.toFixed(digits)}]`;
    const rows = (['nodevmm', 'qemu'] as const).map((s) => [s === 'qemu' ? 'QEMU -M microvm (vhost off)' : s, figure(n.results[s].tx.summary, 1), figure(n.results[s].rx.summary, 1)]);
    rows.push(['**nodevmm / QEMU** (goal ≥ 1.00)', figure(n.ratio.tx.summary, 2), figure(n.ratio.rx.summary, 2)]);
    out.push(table(['system', 'guest → host', 'host → guest'], rows));
  }
  if (r.churn) out.push(renderChurn(r.churn));
  return out.join('\n') + '\n';
}

const CHURN_LABELS: Record<string, string> = {
  'nodevmm-lib': 'nodevmm, library, one embedding process', 'nodevmm-api': 'nodevmm, REST API of one VMM',
  nodevmm: 'nodevmm CLI, a process per VM', qemu: 'QEMU -M microvm, a process per VM', floor: 'floor: C on /dev/kvm, a process per VM',
};

function renderChurn(c: ChurnResult): string {
  const rows = CHURN_SYSTEMS.flatMap((system) => {
    const s = c.series[system];
    return s ? [[CHURN_LABELS[system], String(s.cycles), s.vmsPerSecond.toFixed(1), s.p50Ms.toFixed(1), s.p99Ms.toFixed(1), (c.againstQemu[system] ?? NaN).toFixed(2)]] : [];
  });
  const flat = CHURN_SYSTEMS.flatMap((system) => {
    const u = c.series[system]?.usage;
    return u ? [`${system}: fds ${u.early.fds} → ${u.late.fds}, threads ${u.early.threads} → ${u.late.threads}, RSS ${(u.early.rssKiB / 1024).toFixed(1)} → ${(u.late.rssKiB / 1024).toFixed(1)} MiB`] : [];
  });
  return ['\n### VM churn: create → boot → guest poweroff → delete, one-exit guest, 64 MiB',
    table(['system', 'cycles', 'VMs/s', 'p50 ms', 'p99 ms', 'VMs/s ÷ QEMU\'s (goal ≥ 1.00)'], rows),
    `after the first tenth → at the end: ${flat.join('; ')}`,
    `a library cycle, median ms per call: ${Object.entries(c.series['nodevmm-lib']?.phaseMedianMs ?? {}).map(([phase, ms]) => `${phase} ${ms.toFixed(1)}`).join(', ')}`].join('\n');
}

/** the boot summaries are in ms; the table helpers take ns */
const toNs = (s: Summary): Summary => ({ ...s, median: s.median * 1e6, q1: s.q1 * 1e6, q3: s.q3 * 1e6, min: s.min * 1e6, max: s.max * 1e6 });

export function plot(r: Results): string | null {
  const panels: PlotPanel[] = [];
  const e = r.exitLatency;
  if (e) {
    panels.push({
      title: `Per-exit cost, wall time of the whole process (N = ${e.n}, ${e.rounds} rounds)`,
      rows: KINDS.flatMap((kind) =>
        SYSTEMS.flatMap((system) => {
          const s = e.results[system]?.[kind];
          return s ? [{ label: `${system} ${kind.toUpperCase()}`, rounds: s.wall.rounds, median: s.wall.summary.median, color: COLORS[system] }] : [];
        }),
      ),
    });
    panels.push({
      title: 'Per-exit cost, CPU time of the whole process (user + system, all threads)',
      rows: KINDS.flatMap((kind) =>
        SYSTEMS.flatMap((system) => {
          const s = e.results[system]?.[kind];
          return s ? [{ label: `${system} ${kind.toUpperCase()}`, rounds: s.cpu.rounds, median: s.cpu.summary.median, color: COLORS[system] }] : [];
        }),
      ),
    });
  }
  const inner: PlotPanel = { title: 'Per-exit cost, inner clocks (wall), and the looping thread’s CPU time', rows: [] };
  for (const kind of KINDS) {
    for (const system of ['floor', 'nodevmm-lib'] as SystemName[]) {
      const s = e?.results[system]?.[kind]?.inner;
      if (s) inner.rows.push({ label: `${system} inner ${kind.toUpperCase()}`, rounds: s.rounds, median: s.summary.median, color: COLORS[system] });
    }
    for (const level of ['floor', 'addon', 'loop', 'timed', 'timed-64', 'napi-fn-copy', 'napi-fn', 'v8-fn'] as const) {
      const s = r.inside?.perExitCpu[level]?.[kind];
      const label = level === 'floor' ? `floor C loop CPU ${kind.toUpperCase()}` : `worker ${level} CPU ${kind.toUpperCase()}`;
      if (s) inner.rows.push({ label, rounds: s.rounds, median: s.summary.median, color: COLORS[level] });
    }
  }
  if (inner.rows.length) panels.push(inner);
  if (!panels.length) return null;
  return plotPerExit('nodevmm exit latency', `${r.machine.date.slice(0, 10)} · ${r.machine.cpu} × ${r.machine.cpus} · ${r.machine.kvmModule}`, panels);
}

