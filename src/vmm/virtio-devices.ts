// The VM's virtio devices as the VMM holds them: each disk's image (opened and locked) or the rng's
// source, and its device thread. They live from the VM's boot to its stop; reboots and restores keep
// them and attach them to each new build. Opening is all or nothing: a missing or locked image closes
// what was opened and fails with a message naming the path.
import { closeSync, fstatSync, fsyncSync, lstatSync, openSync, rmSync } from 'node:fs';
import { native } from '../kvm/native.js';
import { VmmError } from '../errors.js';
import { virtioPlacement } from '../devices/addresses.js';
import { blockDeviceInfo, SECTOR } from '../devices/virtio/block.js';
import { rngDeviceInfo } from '../devices/virtio/rng.js';
import { netDeviceInfo } from '../devices/virtio/net.js';
import type { NetConfig } from './net-config.js';
import { consoleDeviceInfo } from '../devices/virtio/console.js';
import type { ConsoleConfig } from '../host/serial-output.js';
import { vsockDeviceInfo } from '../devices/virtio/vsock.js';
import type { VsockConfig } from './device-config.js';
import { VirtioDeviceThread } from '../actors/virtio-device-thread.js';
import type { BackendSpec } from '../devices/virtio/backends.js';
import type { VirtioDeviceInfo } from '../devices/virtio/transport-state.js';
import type { VirtioSlot } from '../devices/virtio/device-protocol.js';
import type { WriteBitmap } from '../devices/virtio/written-pages.js';

export type { VirtioSlot };
import type { RamRegion } from '../boot/memory-layout.js';
import type { VmConfig } from './config.js';

export interface VirtioDevicesDeps {
  onEvent(id: string, name: 'activated' | 'reset'): void;
  log(message: string): void;
}

interface OpenDevice {
  slot: VirtioSlot;
  thread: VirtioDeviceThread;
  /** the fds the device owns (closed with it) */
  files: number[];
  cleanup?: () => void;
  /** a disk image's lock, handed to a migration's destination and taken back if it fails */
  lock?: ImageLock;
  /** why this device cannot migrate live, if it cannot */
  migrationBlocker?: string;
}

interface ImageLock {
  fd: number;
  exclusive: boolean;
  path: string;
}

interface Planned {
  id: string;
  files: number[];
  info: VirtioDeviceInfo;
  backend: BackendSpec;
  /** the console's pty */
  ptyPath?: string;
  /** after the files are closed (the vsock's socket path is removed) */
  cleanup?: () => void;
  lock?: ImageLock;
  migrationBlocker?: string;
}

export class VirtioDevices {
  private constructor(
    private readonly devices: OpenDevice[],
    /** console mode Pty: the terminal a user opens (vm.info's config.console.file) */
    readonly consolePath: string | undefined,
  ) {}

  /** Whether `config` has any virtio device (a VMM without any keeps no VirtioDevices at all). */
  static wanted(config: VmConfig): boolean {
    return (config.disks?.length ?? 0) > 0 || (config.net?.length ?? 0) > 0 || config.rng !== undefined || config.vsock !== undefined || config.console.mode !== 'Off';
  }

  static open(config: VmConfig, deps: VirtioDevicesDeps): VirtioDevices {
    const planned: Planned[] = [];
    const devices: OpenDevice[] = [];
    try {
      (config.disks ?? []).forEach((disk, i) => planned.push(openDisk(disk, `disks[${i}].path`)));
      (config.net ?? []).forEach((net, i) => planned.push(openNet(net, `net[${i}]`)));
      if (config.rng) planned.push(openRng(config.rng.src));
      if (config.vsock) planned.push(openVsock(config.vsock));
      if (config.console.mode !== 'Off') planned.push(openConsole(config.console));
      planned.forEach((plan, index) => {
        const thread = new VirtioDeviceThread({
          id: plan.id,
          backend: plan.backend,
          queueCount: plan.info.queueSizes.length,
          onEvent: (name) => deps.onEvent(plan.id, name),
          log: deps.log,
        });
        const { cleanup, lock, migrationBlocker } = plan;
        devices.push({ slot: { id: plan.id, info: plan.info, placement: virtioPlacement(index), fds: thread.fds }, thread, files: plan.files, cleanup, lock, migrationBlocker });
      });
      return new VirtioDevices(devices, planned.find((plan) => plan.ptyPath)?.ptyPath);
    } catch (error) {
      for (const device of devices) void device.thread.close().catch(() => {});
      for (const plan of planned) {
        plan.files.forEach((fd) => closeSync(fd));
        plan.cleanup?.();
      }
      throw error;
    }
  }

  get slots(): VirtioSlot[] {
    return this.devices.map((d) => d.slot);
  }

  /** Points every device thread at a new build: its registers (by device id) and its RAM. */
  async attach(build: { virtioState(id: string): SharedArrayBuffer; ram: { fd: number; size: number }; regions: readonly RamRegion[] }): Promise<void> {
    await Promise.all(this.devices.map((d) => d.thread.attach(build.virtioState(d.slot.id), build.ram, build.regions)));
  }

  detach(): Promise<void> {
    return this.each((thread) => thread.detach());
  }

  /** Every device idle with its queue progress in its registers: before a save of a paused VM. */
  quiesce(): Promise<void> {
    return this.each((thread) => thread.quiesce());
  }

  resume(): Promise<void> {
    return this.each((thread) => thread.resume());
  }

  /** Why these devices cannot migrate live (naming each), or null when they can. */
  migrationBlocker(): string | null {
    const blockers = this.devices.filter((d) => d.migrationBlocker).map((d) => `${d.slot.id}: ${d.migrationBlocker}`);
    return blockers.length > 0 ? blockers.join('; ') : null;
  }

  /** A live migration's pre-copy: each device thread marks the guest pages it writes (null: stops). */
  logWrites(bitmaps: WriteBitmap[] | null): Promise<void> {
    return this.each((thread) => thread.logWrites(bitmaps));
  }

  /**
   * The paused, quiesced VM goes to a destination: each disk's writes reach its file (fsync) and its
   * lock is dropped, so that the destination can lock the image as it builds the VM.
   */
  handOverImages(): void {
    for (const { lock } of this.devices) {
      if (!lock) continue;
      if (lock.exclusive) fsyncSync(lock.fd);
      native().unlockFile(lock.fd);
    }
  }

  /** The migration failed: the images are this VM's again. Throws, naming the image, if another took one. */
  takeBackImages(): void {
    const lost = this.devices.filter(({ lock }) => lock && !native().lockFile(lock.fd, lock.exclusive)).map(({ lock }) => lock!.path);
    if (lost.length > 0) throw new VmmError('internal', `disk image ${lost.join(', ')} was locked by another process while the migration ran`);
  }

  /** Ends the device threads and closes the images (which drops their locks). */
  async close(): Promise<void> {
    await this.each((thread) => thread.close());
    for (const device of this.devices) {
      device.files.forEach((fd) => closeSync(fd));
      device.cleanup?.();
    }
  }

  private async each(step: (thread: VirtioDeviceThread) => Promise<void>): Promise<void> {
    await Promise.all(this.devices.map((d) => step(d.thread)));
  }
}

function openDisk(disk: NonNullable<VmConfig['disks']>[number], field: string): Planned {
  let file: number;
  try {
    file = openSync(disk.path, disk.readonly ? 'r' : 'r+');
  } catch (error) {
    throw new VmmError('invalid-config', `${field} ${disk.path} cannot be opened (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    // Two writers would corrupt the image: a writable disk takes an exclusive lock, a read-only one a
    // shared lock (several VMs may read one image, none while another writes it).
    if (!native().lockFile(file, !disk.readonly)) throw new VmmError('invalid-config', `${field} ${disk.path} is locked by another process (is another VM using it?)`);
    const bytes = fstatSync(file).size;
    if (bytes < SECTOR) throw new VmmError('invalid-config', `${field} ${disk.path} is smaller than one ${SECTOR}-byte sector`);
    const info = blockDeviceInfo({ bytes, readonly: disk.readonly, queueSize: disk.queue_size });
    return {
      id: disk.id,
      files: [file],
      info,
      backend: { kind: 'block', options: { fd: file, bytes, readonly: disk.readonly, serial: disk.serial ?? disk.id } },
      lock: { fd: file, exclusive: !disk.readonly, path: disk.path },
    };
  } catch (error) {
    closeSync(file);
    throw error;
  }
}

function openRng(src: string): Planned {
  let file: number;
  try {
    file = openSync(src, 'r');
  } catch (error) {
    throw new VmmError('invalid-config', `rng.src ${src} cannot be opened (${(error as NodeJS.ErrnoException).code})`);
  }
  return { id: '_rng0', files: [file], info: rngDeviceInfo(), backend: { kind: 'rng', fd: file } };
}

function openNet(net: NetConfig, field: string): Planned {
  let tap: { fd: number; name: string };
  try {
    tap = net.fds ? native().adoptTap(net.fds[0]) : native().openTap(net.tap!);
  } catch (error) {
    const what = net.fds ? `${field}.fds[0] (fd ${net.fds[0]})` : `${field}.tap ${net.tap}`;
    throw new VmmError('invalid-config', `${what} cannot be used as a tap: ${tapProblem(error as NodeJS.ErrnoException)}`);
  }
  const info = netDeviceInfo({ mac: net.mac, queueSize: net.queue_size, csum: net.offload_csum, tso: net.offload_tso });
  // A tap stays with the host it is on: the destination needs its own (libvirt passes new fds).
  const migrationBlocker = 'a tap cannot follow a live migration yet';
  return { id: net.id, files: [tap.fd], info, backend: { kind: 'net', options: { fd: tap.fd } }, migrationBlocker };
}

function tapProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EPERM': return 'not permitted (making a tap needs CAP_NET_ADMIN; one made for this user with `ip tuntap add ... user` needs none)';
    case 'EBUSY': return 'it is in use by another process';
    case 'ENOENT': return '/dev/net/tun is missing (modprobe tun)';
    case 'EBADF': return 'no such open file descriptor';
    default: return error.message;
  }
}

/** The virtio console's host side by mode: Tty is the VMM's own stdin and stdout (not closed). */
function openConsole(console: ConsoleConfig): Planned {
  const plan = (files: number[], output: number | null, input: number | null, ptyPath?: string): Planned => ({
    id: '_console',
    files,
    info: consoleDeviceInfo(),
    backend: { kind: 'console', options: { output, input } },
    ...(ptyPath ? { ptyPath } : {}),
  });
  switch (console.mode) {
    case 'Tty': return plan([], 1, 0);
    case 'File': {
      let fd: number;
      try {
        fd = openSync(console.file!, 'w');
      } catch (error) {
        throw new VmmError('invalid-config', `console.file ${console.file} cannot be written (${(error as NodeJS.ErrnoException).code})`);
      }
      // a destination on this host would open (and truncate) the same file
      return { ...plan([fd], fd, null), migrationBlocker: 'console.file cannot follow a live migration' };
    }
    case 'Pty': {
      // the slave stays open in the VMM, so the master never reads EIO while nobody is attached
      const { master, slave, path } = native().openPty();
      return plan([master, slave], master, master, path);
    }
    default: return plan([], null, null);
  }
}

/** The vsock's host side: a listening socket at its path (a stale socket there is replaced). */
function openVsock(vsock: VsockConfig): Planned {
  let listener: number;
  try {
    if (lstatSync(vsock.socket, { throwIfNoEntry: false })?.isSocket()) rmSync(vsock.socket);
    listener = native().unixListen(vsock.socket);
  } catch (error) {
    throw new VmmError('invalid-config', `vsock.socket ${vsock.socket} cannot be listened on (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return {
    id: vsock.id,
    files: [listener],
    info: vsockDeviceInfo(vsock.cid),
    backend: { kind: 'vsock', options: { cid: vsock.cid, listener, path: vsock.socket } },
    cleanup: () => rmSync(vsock.socket, { force: true }),
    // its connections are host sockets of this process
    migrationBlocker: 'vsock connections cannot follow a live migration',
  };
}
