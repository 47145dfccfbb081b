// Linux boot time: Debian's cloud kernel (scripts/linux/fetch-guest.sh) with the test initramfs, from
// the VMM's start to the initramfs's first line on the serial console ("NODEVMM-INIT: up"), nodevmm
// against QEMU `-M microvm` on the same kernel, initramfs, command line, vCPUs and RAM. Also the time
// to the kernel's first line ("Linux version"), which separates the VMM's start and load from Linux's
// own boot. Rounds alternate between the two; each run is killed once the line is seen.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODEVMM_CLI, ROOT } from './lib/paths.js';
import { QEMU_CPU } from './lib/systems.js';
import { summarize, type Summary } from './lib/stats.js';

export const LINUX_BOOT_SYSTEMS = ['nodevmm', 'qemu'] as const;
type BootSystem = (typeof LINUX_BOOT_SYSTEMS)[number];
const MARKS = { kernel: 'Linux version', init: 'NODEVMM-INIT: up' } as const;
const CPUS = 2;
const MEMORY_MIB = 256;
const CMDLINE = 'console=ttyS0 action=stay';

export interface LinuxBootResult {
  kernel: string;
  cpus: number;
  memoryMib: number;
  /** ms from spawn to each mark, per system */
  results: Record<BootSystem, Record<keyof typeof MARKS, { values: number[]; summary: Summary }>>;
  /** nodevmm / QEMU, per round, to the initramfs's first line */
  ratio: { values: number[]; summary: Summary };
}

function guestFiles(): { bzImage: string; initramfs: string } {
  const env = join(ROOT, '.cache', 'linux', 'current.env');
  if (!existsSync(env)) throw new Error(`${env} is missing: run sh scripts/linux/fetch-guest.sh`);
  const text = readFileSync(env, 'utf8');
  const value = (key: string): string => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1] ?? '';
  return { bzImage: value('KERNEL_BZIMAGE'), initramfs: value('INITRAMFS') };
}

function command(system: BootSystem, guest: { bzImage: string; initramfs: string }): [string, string[]] {
  if (system === 'nodevmm') {
    return [process.execPath, [NODEVMM_CLI, '--kernel', guest.bzImage, '--initramfs', guest.initramfs, '--cmdline', CMDLINE,
      '--cpus', `boot=${CPUS}`, '--memory', `size=${MEMORY_MIB}M`]];
  }
  return ['qemu-system-x86_64', ['-M', 'microvm', '-accel', 'kvm', '-cpu', QEMU_CPU, '-smp', String(CPUS), '-m', String(MEMORY_MIB),
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio',
    '-kernel', guest.bzImage, '-initrd', guest.initramfs, '-append', CMDLINE]];
}

/** ms from spawn until each mark appears on stdout; the process is killed after the last one. */
function timeMarks(system: BootSystem, guest: { bzImage: string; initramfs: string }, timeoutMs: number): Promise<Record<keyof typeof MARKS, number>> {
  const [file, args] = command(system, guest);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const seen: Partial<Record<keyof typeof MARKS, number>> = {};
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('latin1').on('data', (text: string) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      out += text;
      for (const [name, mark] of Object.entries(MARKS) as Array<[keyof typeof MARKS, string]>) {
        if (seen[name] === undefined && out.includes(mark)) seen[name] = ms;
      }
      if (seen.init !== undefined) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      if (seen.kernel === undefined || seen.init === undefined) {
        reject(new Error(`${system}: no '${MARKS.init}' within ${timeoutMs} ms\n${err.trim()}\n${out.slice(-1500)}`));
      } else resolve(seen as Record<keyof typeof MARKS, number>);
    });
  });
}

export async function measureLinuxBoot(options: { rounds: number; timeoutMs?: number; log: (line: string) => void }): Promise<LinuxBootResult> {
  const guest = guestFiles();
  const samples = Object.fromEntries(LINUX_BOOT_SYSTEMS.map((s) => [s, { kernel: [] as number[], init: [] as number[] }])) as Record<BootSystem, Record<keyof typeof MARKS, number[]>>;
  const ratios: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // alternate the order, so that neither system always runs on a warmer page cache
    const order = round % 2 === 0 ? LINUX_BOOT_SYSTEMS : [...LINUX_BOOT_SYSTEMS].reverse();
    const init: Partial<Record<BootSystem, number>> = {};
    for (const system of order) {
      const marks = await timeMarks(system, guest, options.timeoutMs ?? 600_000);
      samples[system].kernel.push(marks.kernel);
      samples[system].init.push(marks.init);
      init[system] = marks.init;
    }
    ratios.push(init.nodevmm! / init.qemu!);
    options.log(`linux boot round ${round + 1}/${options.rounds}: nodevmm ${init.nodevmm!.toFixed(0)} ms, QEMU ${init.qemu!.toFixed(0)} ms to /init's first line`);
  }
  const summarized = (values: number[]): { values: number[]; summary: Summary } => ({ values, summary: summarize(values) });
  const results = Object.fromEntries(LINUX_BOOT_SYSTEMS.map((s) => [s, { kernel: summarized(samples[s].kernel), init: summarized(samples[s].init) }]));
  return {
    kernel: guest.bzImage.split('/').at(-1)!,
    cpus: CPUS,
    memoryMib: MEMORY_MIB,
    results: results as LinuxBootResult['results'],
    ratio: summarized(ratios),
  };
}
