// VM churn: many short VMs one after another, each create → boot → guest poweroff → delete, on the
// same one-exit PVH guest. Two ways to run them:
//   - one VMM for all of them (what a Node app that runs many microVMs does): nodevmm through the
//     library in one embedding process, and through the REST API of one VMM process;
//   - one process per VM: QEMU (-M microvm, as a user would start it per VM), nodevmm's CLI, and the
//     bare-KVM floor (a C program on /dev/kvm: process start, VM build, run, exit).
// Reports VMs per second (cycles / their total time) and p50/p99 of one cycle, and each against QEMU.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../src/api/remote-client.js';
import { NODEVMM_CLI, guest, helper } from './lib/paths.js';
import { MEMORY_MIB, runSystem } from './lib/systems.js';
import { quantile } from './lib/stats.js';
import { processUsage, type ProcessUsage as Usage } from './lib/process-usage.js';

export const CHURN_SYSTEMS = ['nodevmm-lib', 'nodevmm-api', 'nodevmm', 'qemu', 'floor'] as const;
export type ChurnSystem = (typeof CHURN_SYSTEMS)[number];

export interface ChurnOptions {
  /** cycles for the systems that keep one VMM (library, REST) */
  cycles: number;
  /** cycles for the systems that start a process per VM (slower; fewer give the same percentiles' worth) */
  processCycles: number;
  log: (line: string) => void;
}

export interface ChurnSeries {
  cycles: number;
  vmsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** fds, threads and RSS of the one VMM after the first tenth of the cycles and at the end */
  usage?: { early: Usage; late: Usage };
  /** the library's: median ms of each call of a cycle (create, boot, the guest's run, delete) */
  phaseMedianMs?: Record<string, number>;
}

export interface ChurnResult {
  series: Partial<Record<ChurnSystem, ChurnSeries>>;
  /** VMs per second over QEMU's */
  againstQemu: Partial<Record<ChurnSystem, number>>;
}

function series(cycleMs: number[], usage?: { early: Usage; late: Usage }): ChurnSeries {
  const sorted = [...cycleMs].sort((a, b) => a - b);
  const totalMs = cycleMs.reduce((sum, ms) => sum + ms, 0);
  return { cycles: cycleMs.length, vmsPerSecond: (cycleMs.length * 1000) / totalMs, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), ...(usage ? { usage } : {}) };
}

/** `cycles` VMs of `kernel` through the library, in one embedding process (a child of this one). */
export async function libraryChurn(kernel: string, cmdline: string, cycles: number): Promise<ChurnSeries> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [helper('lib/churn-with-library.js'), kernel, cmdline, String(cycles)], { maxBuffer: 64 << 20, timeout: 3_600_000 }, (error, out, err) =>
      error ? reject(new Error(`churn through the library: ${error.message}\n${err.trim()}`)) : resolve(out),
    );
  });
  const out = JSON.parse(stdout) as { cycleMs: number[]; phases: Record<string, number[]>; early: Usage; late: Usage; guestShutdowns: number };
  if (out.guestShutdowns !== cycles) throw new Error(`churn through the library: ${out.guestShutdowns} guest poweroffs in ${cycles} cycles`);
  const phaseMedianMs = Object.fromEntries(Object.entries(out.phases).map(([phase, ms]) => [phase, quantile([...ms].sort((a, b) => a - b), 0.5)]));
  return { ...series(out.cycleMs, { early: out.early, late: out.late }), phaseMedianMs };
}

/** `cycles` VMs of `kernel` through the REST API of one VMM process (--no-shutdown). */
export async function apiChurn(kernel: string, cmdline: string, cycles: number): Promise<ChurnSeries> {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-churn-'));
  const socket = join(dir, 'api.sock');
  const child: ChildProcess = spawn(process.execPath, [NODEVMM_CLI, '--api-socket', `path=${socket}`, '--no-shutdown'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const api = new ApiClient(socket, { timeoutMs: 60_000 });
  const call = async (method: string, endpoint: string, body?: unknown): Promise<string> => {
    const answer = await api.request(method, endpoint, body === undefined ? undefined : JSON.stringify(body));
    if (answer.status >= 300) throw new Error(`${method} ${endpoint}: ${answer.status} ${answer.text}`);
    return answer.text;
  };
  try {
    for (let tries = 0; ; tries++) {
      try {
        await call('GET', 'vmm.ping');
        break;
      } catch (error) {
        if (tries > 600 || child.exitCode !== null) throw new Error(`the VMM did not serve its API: ${(error as Error).message}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const config = { cpus: { boot_vcpus: 1 }, memory: { size: MEMORY_MIB << 20 }, payload: { kernel, cmdline }, serial: { mode: 'Null' } };
    const cycleMs: number[] = [];
    let early: Usage | null = null;
    for (let i = 0; i < cycles; i++) {
      const started = performance.now();
      await call('PUT', 'vm.create', config);
      await call('PUT', 'vm.boot');
      // a REST client learns of the poweroff by asking (or from the event monitor)
      while ((JSON.parse(await call('GET', 'vm.info')) as { state: string }).state !== 'Shutdown');
      await call('PUT', 'vm.delete');
      cycleMs.push(performance.now() - started);
      if (i + 1 === Math.ceil(cycles / 10)) early = processUsage(child.pid!);
    }
    return series(cycleMs, { early: early!, late: processUsage(child.pid!) });
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function processChurn(system: 'nodevmm' | 'qemu' | 'floor', cycles: number): Promise<ChurnSeries> {
  const cycleMs: number[] = [];
  for (let i = 0; i < cycles; i++) cycleMs.push((await runSystem(system, 'pio', 1)).wallNs / 1e6);
  return series(cycleMs);
}

export async function measureChurn(options: ChurnOptions): Promise<ChurnResult> {
  const result: ChurnResult = { series: {}, againstQemu: {} };
  for (const system of CHURN_SYSTEMS) {
    const cycles = system === 'nodevmm-lib' || system === 'nodevmm-api' ? options.cycles : options.processCycles;
    options.log(`churn: ${system}, ${cycles} cycles`);
    result.series[system] =
      system === 'nodevmm-lib' ? await libraryChurn(guest('pio'), '1', cycles)
        : system === 'nodevmm-api' ? await apiChurn(guest('pio'), '1', cycles)
          : await processChurn(system, cycles);
  }
  const qemu = result.series.qemu!.vmsPerSecond;
  for (const system of CHURN_SYSTEMS) result.againstQemu[system] = result.series[system]!.vmsPerSecond / qemu;
  return result;
}
