// A virtio device's own thread (worker_threads): it sleeps in waitEventfds on the device's eventfds,
// the control one (a command from the VMM, or a status change from a vCPU thread) and one per queue
// (the guest's QueueNotify, signalled by KVM's ioeventfd without a userspace exit), then serves what
// woke it. Commands arrive on a MessagePort and are taken synchronously (receiveMessageOnPort) when
// the control eventfd fires, so the thread never needs its event loop.
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { closeSync } from 'node:fs';
import { native, type NativeGuestMemory } from '../kvm/native.js';
import { GuestRam } from '../boot/guest-ram.js';
import { SharedState } from '../devices/shared-state.js';
import { DeviceRunner } from '../devices/virtio/device-runner.js';
import { makeBackend, type BackendSpec } from '../devices/virtio/backends.js';
import { WrittenPages, type WriteBitmap } from '../devices/virtio/written-pages.js';
import type { DeviceCommand, DeviceReply, DeviceFds } from '../devices/virtio/device-protocol.js';
import type { RamRegion } from '../boot/memory-layout.js';

export interface DeviceWorkerData {
  id: string;
  backend: BackendSpec;
  queueCount: number;
  fds: DeviceFds;
  port: MessagePort;
}

const data = workerData as DeviceWorkerData;
const addon = native();
// Named by the device's id (_disk0, _net0, _rng0...): Cloud Hypervisor's I/O thread names, which
// libvirt's ch driver looks for.
addon.setThreadName(data.id);
const fdIo = { readv: addon.readvNonblocking, writev: addon.writevNonblocking };
const backend = makeBackend(data.backend, {
  tap: { ...fdIo, setOffload: addon.setTapOffload },
  sockets: { ...fdIo, accept: addon.unixAccept, connect: addon.unixConnect, shutdown: addon.shutdownSocket, close: closeSync },
});
const post = (reply: DeviceReply): void => data.port.postMessage(reply);
const log = (message: string): void => post({ type: 'log', message: `virtio ${data.id}: ${message}` });

let memory: NativeGuestMemory | null = null;
/** memory's mapping, taken once: the views of guest RAM are made on this very buffer */
let ramBuffer: ArrayBuffer | null = null;
let runner: DeviceRunner | null = null;

function attach(state: SharedArrayBuffer, ram: { fd: number; size: number }, regions: RamRegion[]): void {
  detach();
  memory = new addon.GuestMemory(ram.size, ram.fd);
  ramBuffer = memory.buffer;
  runner = new DeviceRunner(new SharedState(state), new GuestRam(ramBuffer, regions), backend, data.queueCount, {
    signalIrq: () => addon.signalEventfd(data.fds.irq),
    event: (name) => post({ type: 'event', name }),
    log,
  });
}

function logWrites(bitmaps: WriteBitmap[] | null): void {
  if (!runner || !ramBuffer) throw new Error('not attached to a VM');
  runner.logWrites(bitmaps ? new WrittenPages(bitmaps, ramBuffer) : null);
}

function detach(): void {
  runner = null;
  ramBuffer = null;
  memory?.close();
  memory = null;
}

/** Runs one command; false for 'close'. */
function run(command: DeviceCommand): boolean {
  switch (command.op) {
    case 'attach': attach(command.state, command.ram, command.regions); break;
    case 'detach': detach(); break;
    case 'quiesce': runner?.quiesce(); break;
    case 'resume': runner?.resume(); break;
    case 'log-writes': logWrites(command.bitmaps); break;
    case 'close': detach(); break;
  }
  return command.op !== 'close';
}

function takeCommands(): boolean {
  let open = true;
  for (let message = receiveMessageOnPort(data.port); message; message = receiveMessageOnPort(data.port)) {
    const command = message.message as DeviceCommand;
    try {
      open = run(command) && open;
      post({ type: 'done', seq: command.seq });
    } catch (error) {
      post({ type: 'failed', seq: command.seq, message: (error as Error).message });
    }
  }
  return open;
}

function loop(): void {
  const eventfds = [data.fds.control, ...data.fds.queues];
  const queueBits = (1 << data.fds.queues.length) - 1;
  for (;;) {
    // a backend's sources (a tap) join the wait only while a queue waits on them; its host fds (a
    // listening socket) while the device runs
    const readers = (runner?.watchedSources() ?? []).map((s) => s.fd);
    const hostFds = runner?.watchedHostFds() ?? [];
    for (const watch of hostFds) if (!watch.write) readers.push(watch.fd);
    const writers = hostFds.filter((watch) => watch.write).map((watch) => watch.fd);
    const extra = [...readers, ...writers].slice(0, 32 - eventfds.length);
    const mask = addon.waitEventfds(Int32Array.from([...eventfds, ...extra]), -1, eventfds.length, eventfds.length + readers.length);
    if (mask & 1) {
      if (!takeCommands()) return;
      runner?.syncStatus();
    }
    const kicked = (mask >>> 1) & queueBits;
    if (kicked) runner?.kick(kicked);
    const ready = extra.filter((_, i) => mask & (1 << (eventfds.length + i)));
    if (ready.length > 0) runner?.ready(ready);
  }
}

try {
  loop();
} catch (error) {
  // A bug here must not end the VMM: the device goes quiet and says why.
  log(`device thread stopped: ${(error as Error).stack ?? error}`);
}
