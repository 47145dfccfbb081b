// virtio-net throughput: Debian's kernel with the virtio initramfs on a tap in a network namespace
// (root), its busybox shell on the serial console, in nodevmm (`--net tap=`) and in QEMU `-M
// microvm` with virtio-net-device on a tap netdev (vhost off: both VMMs move frames in userspace).
// Per boot: 32 MiB guest -> host (busybox nc to a host receiver) and host -> guest (a host sender
// to busybox nc -l), timed on the host from connect to the last byte.
import { execFileSync, spawn } from 'node:child_process';
import { NODEVMM_CLI } from './lib/paths.js';
import { QEMU_CPU } from './lib/systems.js';
import { summarize, type Summary } from './lib/stats.js';
import { linuxGuestFiles } from './virtio-blk.js';

export const NET_SYSTEMS = ['nodevmm', 'qemu'] as const;
type NetSystem = (typeof NET_SYSTEMS)[number];
export const NET_TESTS = ['tx', 'rx'] as const;
type NetTest = (typeof NET_TESTS)[number];
const MIB = 32;
const HOST = '10.79.0.1';
const GUEST = '10.79.0.2';
const TAP = 'nvbtap0';

export interface VirtioNetResult {
  bytes: number;
  /** per system and direction (tx: guest -> host, rx: host -> guest): MB/s, one value per round */
  results: Record<NetSystem, Record<NetTest, { values: number[]; summary: Summary }>>;
  ratio: Record<NetTest, { values: number[]; summary: Summary }>;
}

function command(system: NetSystem, guest: { bzImage: string; initramfs: string }): [string, string[]] {
  const cmdline = 'console=ttyS0 action=shell';
  if (system === 'nodevmm') {
    return [process.execPath, [NODEVMM_CLI, '--kernel', guest.bzImage, '--initramfs', guest.initramfs, '--cmdline', cmdline, '--cpus', 'boot=2', '--memory', 'size=256M', '--net', `tap=${TAP}`]];
  }
  return ['qemu-system-x86_64', ['-M', 'microvm', '-accel', 'kvm', '-cpu', QEMU_CPU, '-smp', '2', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none',
    '-serial', 'stdio', '-kernel', guest.bzImage, '-initrd', guest.initramfs, '-append', cmdline,
    '-netdev', `tap,id=n0,ifname=${TAP},script=no,downscript=no,vhost=off`, '-device', 'virtio-net-device,netdev=n0']];
}

// Host side of one transfer, run in the namespace: prints the ms from connection to the last byte.
const peer = (test: NetTest, port: number) => test === 'tx'
  ? `let n = 0, t0 = 0; const s = require('net').createServer((c) => { t0 = Date.now(); c.on('data', (d) => { n += d.length; if (n >= ${MIB << 20}) { console.log(Date.now() - t0); c.destroy(); s.close(); } }); }); s.listen(${port}, '${HOST}', () => console.log('ready'));`
  : `const data = Buffer.alloc(${MIB << 20}, 7); const go = (left) => { const t0 = Date.now(); const c = require('net').connect(${port}, '${GUEST}', () => c.end(data)); c.on('error', () => left > 0 ? setTimeout(() => go(left - 1), 300) : process.exit(1)); c.on('close', (failed) => { if (!failed) console.log(Date.now() - t0); }); }; console.log('ready'); go(100);`;

function inNamespace(namespace: string, program: string): { ready: Promise<void>; ms: Promise<number> } {
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    out += text;
    if (out.includes('ready')) markReady();
  });
  const ms = new Promise<number>((resolve, reject) => child.on('close', (code) => {
    const value = Number(out.trim().split('\n').pop());
    if (code === 0 && value > 0) resolve(value);
    else reject(new Error(`the host side of the transfer failed (${code}): ${out}`));
  }));
  return { ready, ms };
}

/** One boot: both directions; MB/s each. */
async function runOnce(system: NetSystem, namespace: string, timeoutMs: number): Promise<Record<NetTest, number>> {
  const [file, args] = command(system, linuxGuestFiles());
  const child = spawn('ip', ['netns', 'exec', namespace, file, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('latin1').on('data', (text: string) => (out += text));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const until = async (marker: string): Promise<void> => {
    while (!out.includes(marker)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${system} ended before '${marker}':\n${out.slice(-1500)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  try {
    await until('NODEVMM-INIT: shell');
    child.stdin.write(`dmesg -n 1; ip addr add ${GUEST}/24 dev eth0; ip link set eth0 up; ping -c 1 -W 10 ${HOST} >/dev/null; echo NETBENCH-UP\n`);
    await until('NETBENCH-UP\r\n');
    const tx = inNamespace(namespace, peer('tx', 5400));
    await tx.ready;
    child.stdin.write(`dd if=/dev/zero bs=1M count=${MIB} 2>/dev/null | nc ${HOST} 5400; echo NETBENCH-TX\n`);
    const txMs = await tx.ms;
    await until('NETBENCH-TX\r\n');
    child.stdin.write(`nc -l -p 5500 > /dev/null; echo NETBENCH-RX\n`);
    const rx = inNamespace(namespace, peer('rx', 5500));
    const rxMs = await rx.ms;
    await until('NETBENCH-RX\r\n');
    const mbps = (ms: number) => Math.round(((MIB << 20) / 1e6 / (ms / 1000)) * 10) / 10;
    return { tx: mbps(txMs), rx: mbps(rxMs) };
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));
  }
}

function makeNamespace(name: string): () => void {
  const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  ip('netns', 'add', name);
  ip('-n', name, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap');
  ip('-n', name, 'addr', 'add', `${HOST}/24`, 'dev', TAP);
  ip('-n', name, 'link', 'set', TAP, 'up');
  return () => ip('netns', 'del', name);
}

export async function measureVirtioNet(options: { rounds: number; timeoutMs?: number; log: (line: string) => void }): Promise<VirtioNetResult> {
  if (process.getuid?.() !== 0) throw new Error('the virtio-net benchmark makes a network namespace and a tap: run it as root (the box does)');
  const namespace = `nodevmm-bench-${process.pid}`;
  const remove = makeNamespace(namespace);
  try {
    const samples = Object.fromEntries(NET_SYSTEMS.map((s) => [s, { tx: [] as number[], rx: [] as number[] }])) as Record<NetSystem, Record<NetTest, number[]>>;
    const ratios: Record<NetTest, number[]> = { tx: [], rx: [] };
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? NET_SYSTEMS : [...NET_SYSTEMS].reverse();
      const got: Partial<Record<NetSystem, Record<NetTest, number>>> = {};
      for (const system of order) got[system] = await runOnce(system, namespace, options.timeoutMs ?? 600_000);
      for (const test of NET_TESTS) {
        for (const system of NET_SYSTEMS) samples[system][test].push(got[system]![test]);
        ratios[test].push(got.nodevmm![test] / got.qemu![test]);
      }
      options.log(`virtio-net round ${round + 1}/${options.rounds}: ` + NET_TESTS.map((t) => `${t} nodevmm ${got.nodevmm![t]} / QEMU ${got.qemu![t]} MB/s`).join(', '));
    }
    const summarized = (values: number[]) => ({ values, summary: summarize(values) });
    return {
      bytes: MIB << 20,
      results: Object.fromEntries(NET_SYSTEMS.map((s) => [s, { tx: summarized(samples[s].tx), rx: summarized(samples[s].rx) }])) as VirtioNetResult['results'],
      ratio: { tx: summarized(ratios.tx), rx: summarized(ratios.rx) },
    };
  } finally {
    remove();
  }
}
