// Debian's kernel as a test guest: the artifacts scripts/linux/fetch-guest.sh and fetch-busybox.sh
// leave in .cache/linux (npm run test:linux runs both first), and a VMM booted on them. A missing
// artifact fails the test that needs it, naming the script; it never skips.
import { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startVmm, type RunningVmm } from './project.js';

export const LINUX_MEMORY = 256 << 20;
export const LINUX_CPUS = 2;

function readEnvFile(path: string): Record<string, string> | null {
  if (!existsSync(path)) return null;
  return Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

function existing(path: string | undefined, script: string): string {
  if (!path || !existsSync(path)) throw new Error(`the Linux guest is not fetched: run \`sh scripts/linux/${script}\` (npm run test:linux does)`);
  return path;
}

/** Debian's kernel and the initramfs whose /init is guests/linux/init.S. */
export function linuxGuest(): { bzImage: string; initramfs: string } {
  const vars = readEnvFile(join(ROOT, '.cache', 'linux', 'current.env')) ?? {};
  return { bzImage: existing(vars.KERNEL_BZIMAGE, 'fetch-guest.sh'), initramfs: existing(vars.INITRAMFS, 'fetch-guest.sh') };
}

/** The initramfs with busybox and guests/linux/busybox-init.sh as /init. */
export function busyboxInitramfs(): string {
  const vars = readEnvFile(join(ROOT, '.cache', 'linux', 'busybox', 'current.env')) ?? {};
  return existing(vars.INITRAMFS_BUSYBOX, 'fetch-busybox.sh');
}

/** The busybox initramfs with the kernel's virtio modules, loaded by its /init (fetch-virtio.sh). */
export function virtioInitramfs(): string {
  const vars = readEnvFile(join(ROOT, '.cache', 'linux', 'virtio.env')) ?? {};
  return existing(vars.INITRAMFS_VIRTIO, 'fetch-virtio.sh');
}

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-linux-'));
let booted = 0;

export interface LinuxBoot {
  /** init's `action=` (guests/linux/init.S and busybox-init.sh) */
  action: string;
  initramfs?: string;
  vmmArgs?: string[];
  cmdline?: string;
  stdin?: 'pipe' | 'ignore';
  /** a command prefix for the VMM (`ip netns exec NS`) */
  prefix?: string[];
}

/**
 * Starts the VMM on Debian's kernel with an event file; `t.teardown` kills it, so a failed assertion
 * (AVA stops the test there) never leaves a VM rebooting forever behind.
 */
export function bootLinux(t: ExecutionContext, boot: LinuxBoot): { vmm: RunningVmm; events: string } {
  const guest = linuxGuest();
  const events = join(tmp, `events-${boot.action}-${++booted}.json`);
  const vmm = startVmm([
    '--kernel', guest.bzImage,
    '--initramfs', boot.initramfs ?? guest.initramfs,
    '--cmdline', `console=ttyS0 action=${boot.action}${boot.cmdline ? ' ' + boot.cmdline : ''}`,
    '--memory', `size=${LINUX_MEMORY}`,
    '--cpus', `boot=${LINUX_CPUS}`,
    '--event-monitor', `path=${events}`,
    ...(boot.vmmArgs ?? []),
  ], { stdin: boot.stdin ?? 'ignore', ...(boot.prefix ? { prefix: boot.prefix } : {}) });
  t.teardown(() => {
    if (vmm.child.exitCode === null && vmm.child.signalCode === null) vmm.child.kill('SIGKILL');
  });
  return { vmm, events };
}
