// virtio-blk throughput: Debian's kernel with the virtio initramfs, its busybox shell on the serial
// console, /bin/blkbench (guests/linux/blkbench.c: O_DIRECT, one request in flight) on the same raw
// image in nodevmm (`--disk`) and in QEMU `-M microvm` with virtio-blk-device (described in ACPI as
// nodevmm's are). Per boot: sequential write and read in 1 MiB requests, then 4 KiB reads at random
// offsets. Both VMMs read and write the image through the host's page cache (QEMU's default cache).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { NODEVMM_CLI, ROOT } from './lib/paths.js';
import { QEMU_CPU } from './lib/systems.js';
import { summarize, type Summary } from './lib/stats.js';

export const BLK_SYSTEMS = ['nodevmm', 'qemu'] as const;
type BlkSystem = (typeof BLK_SYSTEMS)[number];
export const BLK_TESTS = ['seqwrite', 'seqread', 'randread'] as const;
type BlkTest = (typeof BLK_TESTS)[number];
const SEQ_MIB = 32;
const RANDOM_READS = 4000;
const IMAGE_MIB = 64;

export interface VirtioBlkResult {
  image: string;
  /** per system and test: MB/s (seq) or IOPS (randread), one value per round */
  results: Record<BlkSystem, Record<BlkTest, { values: number[]; summary: Summary }>>;
  /** nodevmm / QEMU per round (higher is better for nodevmm) */
  ratio: Record<BlkTest, { values: number[]; summary: Summary }>;
}

/** Debian's kernel and the virtio initramfs (also the net benchmark's guest). */
export function linuxGuestFiles(): { bzImage: string; initramfs: string } {
  const read = (file: string, key: string): string => {
    const path = join(ROOT, '.cache', 'linux', file);
    if (!existsSync(path)) throw new Error(`${path} is missing: run sh scripts/linux/fetch-guest.sh and fetch-virtio.sh`);
    return new RegExp(`^${key}=(.*)$`, 'm').exec(readFileSync(path, 'utf8'))?.[1] ?? '';
  };
  return { bzImage: read('current.env', 'KERNEL_BZIMAGE'), initramfs: read('virtio.env', 'INITRAMFS_VIRTIO') };
}

function command(system: BlkSystem, guest: { bzImage: string; initramfs: string }, image: string): [string, string[]] {
  const cmdline = 'console=ttyS0 action=shell';
  if (system === 'nodevmm') {
    return [process.execPath, [NODEVMM_CLI, '--kernel', guest.bzImage, '--initramfs', guest.initramfs, '--cmdline', cmdline, '--cpus', 'boot=2', '--memory', 'size=256M', '--disk', `path=${image}`]];
  }
  return ['qemu-system-x86_64', ['-M', 'microvm', '-accel', 'kvm', '-cpu', QEMU_CPU, '-smp', '2', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none',
    '-serial', 'stdio', '-kernel', guest.bzImage, '-initrd', guest.initramfs, '-append', cmdline,
    '-drive', `id=disk0,file=${image},format=raw,if=none`, '-device', 'virtio-blk-device,drive=disk0']];
}

/** One boot: the three tests in the guest, their figures parsed from blkbench's lines. */
function runOnce(system: BlkSystem, guest: { bzImage: string; initramfs: string }, image: string, timeoutMs: number): Promise<Record<BlkTest, number>> {
  const [file, args] = command(system, guest, image);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let started = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const figures: Partial<Record<BlkTest, number>> = {};
    child.stdout.setEncoding('latin1').on('data', (text: string) => {
      out += text;
      if (!started && out.includes('NODEVMM-INIT: shell')) {
        started = true;
        child.stdin.write(`dmesg -n 1; blkbench /dev/vda seqwrite ${SEQ_MIB}; blkbench /dev/vda seqread ${SEQ_MIB}; blkbench /dev/vda randread ${RANDOM_READS}\n`);
      }
      for (const match of out.matchAll(/BLKBENCH (\w+) bytes=\d+ ns=\d+ MBps=([\d.]+) iops=(\d+)/g)) {
        const test = match[1] as BlkTest;
        figures[test] = test === 'randread' ? Number(match[3]) : Number(match[2]);
      }
      if (BLK_TESTS.every((t) => figures[t] !== undefined)) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      if (BLK_TESTS.every((t) => figures[t] !== undefined)) resolve(figures as Record<BlkTest, number>);
      else reject(new Error(`${system}: blkbench did not finish within ${timeoutMs} ms\n${err.trim()}\n${out.slice(-1500)}`));
    });
  });
}

export async function measureVirtioBlk(options: { rounds: number; timeoutMs?: number; log: (line: string) => void }): Promise<VirtioBlkResult> {
  const guest = linuxGuestFiles();
  const image = join(tmpdir(), `nodevmm-bench-disk-${process.pid}.img`);
  writeFileSync(image, randomBytes(IMAGE_MIB << 20)); // data, not holes: reads must move bytes
  const samples = Object.fromEntries(BLK_SYSTEMS.map((s) => [s, Object.fromEntries(BLK_TESTS.map((t) => [t, [] as number[]]))])) as Record<BlkSystem, Record<BlkTest, number[]>>;
  const ratios = Object.fromEntries(BLK_TESTS.map((t) => [t, [] as number[]])) as Record<BlkTest, number[]>;
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? BLK_SYSTEMS : [...BLK_SYSTEMS].reverse();
    const got: Partial<Record<BlkSystem, Record<BlkTest, number>>> = {};
    for (const system of order) got[system] = await runOnce(system, guest, image, options.timeoutMs ?? 600_000);
    for (const test of BLK_TESTS) {
      for (const system of BLK_SYSTEMS) samples[system][test].push(got[system]![test]);
      ratios[test].push(got.nodevmm![test] / got.qemu![test]);
    }
    options.log(`virtio-blk round ${round + 1}/${options.rounds}: ` + BLK_TESTS.map((t) => `${t} nodevmm ${got.nodevmm![t]} / QEMU ${got.qemu![t]}`).join(', '));
  }
  const summarized = (values: number[]) => ({ values, summary: summarize(values) });
  const results = Object.fromEntries(BLK_SYSTEMS.map((s) => [s, Object.fromEntries(BLK_TESTS.map((t) => [t, summarized(samples[s][t])]))]));
  return {
    image: `${IMAGE_MIB} MiB raw, random bytes`,
    results: results as VirtioBlkResult['results'],
    ratio: Object.fromEntries(BLK_TESTS.map((t) => [t, summarized(ratios[t])])) as VirtioBlkResult['ratio'],
  };
}
