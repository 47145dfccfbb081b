// The VMM's handle on one virtio device's thread: it makes the device's eventfds, starts the worker
// and sends it commands (attach to a VM build, detach, quiesce for a save, resume, close), each
// answered once the thread has done it. The thread's events and log lines come back as callbacks.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { closeSync } from 'node:fs';
import { native } from '../kvm/native.js';
import type { RamRegion } from '../boot/memory-layout.js';
import type { BackendSpec } from '../devices/virtio/backends.js';
import type { DeviceCommand, DeviceFds, DeviceReply } from '../devices/virtio/device-protocol.js';
import type { DeviceWorkerData } from './virtio-device-worker.js';
import type { WriteBitmap } from '../devices/virtio/written-pages.js';

type Command = DeviceCommand extends infer C ? (C extends DeviceCommand ? Omit<C, 'seq'> : never) : never;

export interface DeviceThreadOptions {
  id: string;
  backend: BackendSpec;
  queueCount: number;
  onEvent(name: 'activated' | 'reset'): void;
  log(message: string): void;
}

export class VirtioDeviceThread {
  readonly fds: DeviceFds;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  private exited = false;

  constructor(private readonly options: DeviceThreadOptions) {
    const addon = native();
    const made: number[] = [];
    try {
      const make = (): number => {
        const fd = addon.eventfd();
        made.push(fd);
        return fd;
      };
      this.fds = { control: make(), irq: make(), queues: Array.from({ length: options.queueCount }, make) };
    } catch (error) {
      for (const fd of made) closeSync(fd);
      throw error;
    }
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const workerData: DeviceWorkerData = { id: options.id, backend: options.backend, queueCount: options.queueCount, fds: this.fds, port: port2 };
    this.worker = new Worker(new URL('./virtio-device-worker.js', import.meta.url), { workerData, transferList: [port2] });
    this.worker.unref();
    port1.unref();
    port1.on('message', (reply: DeviceReply) => this.receive(reply));
    this.worker.on('error', (error) => options.log(`virtio ${options.id}: device thread failed: ${error.message}`));
    this.worker.on('exit', () => {
      this.exited = true;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`virtio ${options.id}: the device thread has ended`));
      this.waiting.clear();
    });
  }

  attach(state: SharedArrayBuffer, ram: { fd: number; size: number }, regions: readonly RamRegion[]): Promise<void> {
    return this.send({ op: 'attach', state, ram, regions: regions.map((r) => ({ ...r })) });
  }

  detach(): Promise<void> {
    return this.send({ op: 'detach' });
  }

  quiesce(): Promise<void> {
    return this.send({ op: 'quiesce' });
  }

  resume(): Promise<void> {
    return this.send({ op: 'resume' });
  }

  /** From the answer on, the thread marks the guest pages it writes in `bitmaps` (null: it stops). */
  logWrites(bitmaps: WriteBitmap[] | null): Promise<void> {
    return this.send({ op: 'log-writes', bitmaps });
  }

  /** Ends the thread, then closes the eventfds (and nothing else: the backend's fds are the caller's). */
  async close(): Promise<void> {
    if (!this.exited) {
      const ended = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      await this.send({ op: 'close' }).catch(() => {});
      await ended;
    }
    for (const fd of [this.fds.control, this.fds.irq, ...this.fds.queues]) closeSync(fd);
  }

  private send(command: Command): Promise<void> {
    if (this.exited) return Promise.reject(new Error(`virtio ${this.options.id}: the device thread has ended`));
    const seq = ++this.seq;
    const done = new Promise<void>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
    this.port.postMessage({ ...command, seq } as DeviceCommand);
    native().signalEventfd(this.fds.control);
    return done;
  }

  private receive(reply: DeviceReply): void {
    switch (reply.type) {
      case 'done':
      case 'failed': {
        const waiter = this.waiting.get(reply.seq);
        this.waiting.delete(reply.seq);
        if (reply.type === 'done') waiter?.resolve();
        else waiter?.reject(new Error(`virtio ${this.options.id}: ${reply.message}`));
        return;
      }
      case 'event': this.options.onEvent(reply.name); return;
      case 'log': this.options.log(reply.message); return;
    }
  }
}
