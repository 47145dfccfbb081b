// Real libvirt for the libvirt tests: virtchd (libvirt's Cloud Hypervisor driver daemon) and virsh as
// scripts/libvirt/build.sh built them, started by hand with nodevmm on its PATH as `cloud-hypervisor`.
// A missing build fails the test that needs it, naming the script; it never skips.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODEVMM_BIN, ROOT, waitFor } from './project.js';
import { scaled } from './timing.js';

export interface LibvirtInstall {
  prefix: string;
  version: string;
  /** runstatedir: virtchd's socket, the VMMs' API sockets, event FIFOs and pidfiles */
  rundir: string;
}

export function libvirtInstall(): LibvirtInstall {
  const envFile = join(ROOT, '.cache', 'libvirt', 'current.env');
  const vars = existsSync(envFile)
    ? Object.fromEntries(readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
    : {};
  const prefix = vars.LIBVIRT_PREFIX;
  if (!prefix || !existsSync(join(prefix, 'sbin', 'virtchd')) || !existsSync(join(prefix, 'bin', 'virsh'))) {
    throw new Error('libvirt is not built: run `sh scripts/libvirt/build.sh` (npm run test:libvirt does)');
  }
  return { prefix, version: vars.LIBVIRT_VERSION, rundir: vars.LIBVIRT_RUNDIR };
}

export interface VirshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Libvirt {
  install: LibvirtInstall;
  /** the `cloud-hypervisor` virtchd finds on its PATH: a link to bin/nodevmm.js */
  cloudHypervisor: string;
  /** an <emulator> that runs nodevmm with --no-shutdown */
  noShutdownEmulator: string;
  virsh(...args: string[]): VirshResult;
  /** virsh that must succeed: its standard output, trimmed */
  ok(...args: string[]): string;
  /** the live VMM libvirt started for `domain`, or null */
  vmmPid(domain: string): number | null;
  daemonLog(): string;
  stop(): Promise<void>;
}

const CH_DIRS = (install: LibvirtInstall) => ({
  config: join(install.prefix, 'etc', 'libvirt', 'ch'),
  logs: join(install.prefix, 'var', 'log', 'libvirt', 'ch'),
  lib: join(install.prefix, 'var', 'lib', 'libvirt', 'ch'),
  state: join(install.rundir, 'libvirt', 'ch'),
});

/** Starts virtchd on a clean state (no domains defined, no logs) and waits until virsh reaches it. */
export async function startLibvirt(): Promise<Libvirt> {
  const install = libvirtInstall();
  const dirs = CH_DIRS(install);
  for (const dir of [install.rundir, dirs.config, dirs.logs, dirs.lib]) rmSync(dir, { recursive: true, force: true });
  // The install made these; the daemon expects them and does not make them again.
  for (const dir of [install.rundir, dirs.logs, dirs.lib]) mkdirSync(dir, { recursive: true, mode: 0o755 });
  const work = mkdtempSync(join(tmpdir(), 'nodevmm-libvirt-'));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  const cloudHypervisor = join(bin, 'cloud-hypervisor');
  symlinkSync(NODEVMM_BIN, cloudHypervisor);
  const noShutdownEmulator = join(bin, 'nodevmm-no-shutdown');
  writeFileSync(noShutdownEmulator, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(NODEVMM_BIN)} --no-shutdown "$@"\n`);
  chmodSync(noShutdownEmulator, 0o755);
  const daemonLogPath = join(work, 'virtchd.log');
  const conf = join(work, 'virtchd.conf');
  // No polkit here and root only: the socket needs no authentication. The ch driver's debug lines
  // show each request and answer; errors and warnings from anywhere are kept.
  writeFileSync(conf, `auth_unix_rw = "none"\nlog_filters = "1:ch 3:*"\nlog_outputs = "1:file:${daemonLogPath}"\n`);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, LC_ALL: 'C' };
  const daemon: ChildProcess = spawn(join(install.prefix, 'sbin', 'virtchd'), ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let daemonOutput = '';
  daemon.stdout!.on('data', (c: Buffer) => (daemonOutput += c.toString()));
  daemon.stderr!.on('data', (c: Buffer) => (daemonOutput += c.toString()));
  const daemonExited = new Promise<void>((resolve) => daemon.on('exit', () => resolve()));

  // virsh looks for the daemon under $localstatedir/run (remote_sockets.c), the daemon listens under
  // runstatedir: the URI names the socket.
  const uri = `ch:///system?socket=${join(install.rundir, 'libvirt', 'virtchd-sock')}`;
  const virsh = (...args: string[]): VirshResult => {
    const run = spawnSync(join(install.prefix, 'bin', 'virsh'), ['-c', uri, ...args], { encoding: 'utf8', env, timeout: scaled(60_000) });
    return { code: run.status, stdout: run.stdout ?? '', stderr: run.stderr ?? String(run.error ?? '') };
  };
  const ok = (...args: string[]): string => {
    const run = virsh(...args);
    if (run.code !== 0) throw new Error(`virsh ${args.join(' ')} failed (${run.code}): ${run.stderr.trim()}`);
    return run.stdout.trim();
  };
  const answering = (): boolean => {
    if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`virtchd ended (${daemon.exitCode ?? daemon.signalCode})`);
    return virsh('uri').code === 0;
  };
  await waitFor(answering, 30_000, 'virtchd answering').catch((error) => {
    daemon.kill('SIGKILL');
    const log = existsSync(daemonLogPath) ? readFileSync(daemonLogPath, 'utf8').split('\n').filter((l) => / error : /.test(l)).join('\n') : '';
    throw new Error(`${(error as Error).message}; its output: ${daemonOutput}; its errors: ${log}`);
  });

  // The pidfile goes when libvirt marks the domain shut off, and the VMM may outlive that (vm.shutdown,
  // --no-shutdown, destroy): the process is found by the event FIFO libvirt named on its command line.
  const vmmPid = (domain: string): number | null => {
    const fifo = join(dirs.state, `${domain}-event-monitor-fifo`);
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(`path=${fifo}`) && alive(Number(name))) return Number(name);
      } catch {
        // gone meanwhile
      }
    }
    return null;
  };
  const readOr = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  return {
    install,
    cloudHypervisor,
    noShutdownEmulator,
    virsh,
    ok,
    vmmPid,
    daemonLog: () => readOr(daemonLogPath),
    async stop() {
      for (const name of existsSync(dirs.config) ? readdirSync(dirs.config) : []) {
        if (name.endsWith('.xml')) virsh('undefine', name.slice(0, -4));
      }
      daemon.kill('SIGTERM');
      await Promise.race([daemonExited, new Promise((r) => setTimeout(r, scaled(10_000)))]);
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Whether a process lives (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

export interface DomainSpec {
  name: string;
  kernel: string;
  cmdline?: string;
  initrd?: string;
  memoryMiB: number;
  vcpus: number;
  emulator: string;
  /** raw image files, on virtio: vda, vdb... */
  disks?: string[];
  /** `<interface type='ethernet'>`s: a tap libvirt makes, named `tap`, with the host side's address */
  nets?: Array<{ tap: string; mac: string; hostIp: string; prefix: number }>;
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

/** A ch domain as libvirt's documentation writes one: a direct kernel boot, the serial on a pty. */
export function domainXml(spec: DomainSpec): string {
  const disks = (spec.disks ?? []).map(
    (file, i) => `    <disk type='file' device='disk'>\n      <source file='${xmlText(file)}'/>\n      <target dev='vd${String.fromCharCode(97 + i)}' bus='virtio'/>\n    </disk>\n`,
  );
  const nets = (spec.nets ?? []).map(
    (net) => `    <interface type='ethernet'>\n      <mac address='${net.mac}'/>\n      <target dev='${xmlText(net.tap)}'/>\n      <model type='virtio'/>\n      <source>\n        <ip address='${net.hostIp}' prefix='${net.prefix}'/>\n      </source>\n    </interface>\n`,
  );
  return `<domain type='kvm'>
  <name>${xmlText(spec.name)}</name>
  <memory unit='MiB'>${spec.memoryMiB}</memory>
  <vcpu>${spec.vcpus}</vcpu>
  <os>
    <type>hvm</type>
    <kernel>${xmlText(spec.kernel)}</kernel>
${spec.initrd ? `    <initrd>${xmlText(spec.initrd)}</initrd>\n` : ''}${spec.cmdline ? `    <cmdline>${xmlText(spec.cmdline)}</cmdline>\n` : ''}  </os>
  <devices>
    <emulator>${xmlText(spec.emulator)}</emulator>
${disks.join('')}${nets.join('')}    <serial type='pty'>
      <target port='0'/>
    </serial>
  </devices>
</domain>
`;
}

/** The pty libvirt reports for the domain's serial port (`virsh dumpxml`). */
export function serialPty(libvirt: Libvirt, domain: string): string {
  const xml = libvirt.ok('dumpxml', domain);
  const path = /<serial type='pty'>\s*<source path='([^']+)'/.exec(xml)?.[1];
  if (!path) throw new Error(`no serial pty in the domain XML:\n${xml}`);
  return path;
}
