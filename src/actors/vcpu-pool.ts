// The vCPU workers, seen from the main thread: one long-lived worker thread per vCPU, reused across
// VM rebuilds (a reset attaches the same threads to the new VM). Stopping and pausing go through shared
// control words plus a kick (immediate_exit + signal), never through the worker's event loop, which is
// busy running the guest.
import { Worker, MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { native } from '../kvm/native.js';
import { Control } from './vcpu-loop.js';
import type { VcpuStop } from './lifecycle.js';
import type { VcpuSpec } from '../vm/vcpu-spec.js';
import type { VcpuWorkerApi } from './vcpu-worker.js';
import type { VcpuState } from '../kvm/vcpu-state.js';

const WORKER_URL = new URL('./vcpu-worker.js', import.meta.url);
const KICK_INTERVAL_MS = 10;
const STOP_TIMEOUT_MS = 1000;

interface Slot {
  worker: Worker;
  api: Comlink.Remote<VcpuWorkerApi>;
  handle: number;
  /** the current run() call, settled when the loop returns */
  running: Promise<VcpuStop> | null;
}

export interface PoolHooks {
  /** a vCPU's loop ended on its own: a lifecycle exit or a fatal error (of VM build `generation`) */
  onStop(vcpuId: number, generation: number, stop: VcpuStop): void;
  /** a worker thread failed or exited unexpectedly */
  onWorkerDeath(vcpuId: number, error: Error): void;
}

export class VcpuPool {
  private slots: Slot[] = [];
  private closing = false;
  /** one control word per vCPU; a build takes it at attach, so it is replaced only between builds */
  private controlBuffer: SharedArrayBuffer;
  private controlWords: Int32Array;

  /** `workerUrl`: the worker program (tests substitute one that fails in a chosen way) */
  constructor(
    private vcpus: number,
    private readonly hooks: PoolHooks,
    private readonly workerUrl: URL = WORKER_URL,
  ) {
    this.controlBuffer = new SharedArrayBuffer(vcpus * 4);
    this.controlWords = new Int32Array(this.controlBuffer);
  }

  get size(): number {
    return this.vcpus;
  }

  get control(): SharedArrayBuffer {
    return this.controlBuffer;
  }

  /** Starts the worker threads (once; they outlive VM rebuilds). */
  async start(): Promise<void> {
    for (let id = 0; id < this.vcpus; id++) this.slots.push(this.spawn(id));
  }

  /**
   * Adds workers up to `vcpus` (a VMM that started one ahead, for a VM whose size it did not know yet).
   * Only between builds: nothing may be attached.
   */
  grow(vcpus: number): void {
    if (vcpus <= this.vcpus) return;
    if (this.slots.some((slot) => slot.handle !== 0 || slot.running)) throw new Error('vCPU pool: cannot grow while a build is attached');
    this.controlBuffer = new SharedArrayBuffer(vcpus * 4);
    this.controlWords = new Int32Array(this.controlBuffer);
    for (let id = this.slots.length; id < vcpus; id++) this.slots.push(this.spawn(id));
    this.vcpus = vcpus;
  }

  /**
   * Resolves once every worker has loaded (a worker takes ~60 ms to start). A boot need not wait: it
   * builds the VM meanwhile and its first attach waits. A migration's destination waits before the
   * source stops its guest, so that none of it falls in the downtime.
   */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.api.ready()));
  }

  private spawn(id: number): Slot {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(this.workerUrl, { workerData: { port: port2 }, transferList: [port2], name: `vcpu-${id}` });
    const api = Comlink.wrap<VcpuWorkerApi>(port1 as unknown as Comlink.Endpoint);
    worker.on('error', (error) => {
      if (!this.closing) this.hooks.onWorkerDeath(id, error);
    });
    worker.on('exit', (code) => {
      if (!this.closing) this.hooks.onWorkerDeath(id, new Error(`vCPU ${id} worker exited with code ${code}`));
    });
    port1.unref();
    return { worker, api, handle: 0, running: null };
  }

  /** Gives each worker its vCPU of a new VM build. */
  async attach(specs: VcpuSpec[]): Promise<void> {
    this.controlWords.fill(Control.RUN);
    const attached = await Promise.all(specs.map((spec) => this.slots[spec.vcpuId].api.attach(spec)));
    attached.forEach((a, id) => (this.slots[id].handle = a.handle));
  }

  /** Enters the guest on every vCPU of VM build `generation`; each loop's end goes to the hooks. */
  run(generation: number): void {
    this.controlWords.fill(Control.RUN);
    this.slots.forEach((slot, id) => {
      const running = slot.api.run() as Promise<VcpuStop>;
      slot.running = running;
      running.then(
        (stop) => {
          if (stop.kind !== 'stopped' && stop.kind !== 'paused') this.hooks.onStop(id, generation, stop);
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          this.hooks.onStop(id, generation, { kind: 'fatal', detail: { message: `vCPU ${id}: ${message}`, vcpu: id } });
        },
      );
    });
  }

  /**
   * Asks every vCPU to stop (or pause) and waits until none is in the guest: set the request, kick,
   * and kick again every 10 ms; after 1 s a vCPU that still runs is a fatal error.
   */
  async halt(request: typeof Control.STOP | typeof Control.PAUSE): Promise<void> {
    this.controlWords.fill(request);
    const addon = native();
    await Promise.all(
      this.slots.map(async (slot, id) => {
        if (!slot.running) return;
        const settled = slot.running.then(
          () => true,
          () => true,
        );
        const deadline = Date.now() + STOP_TIMEOUT_MS;
        for (;;) {
          addon.kickVcpu(slot.handle);
          const done = await Promise.race([settled, delay(KICK_INTERVAL_MS).then(() => false)]);
          if (done) break;
          if (Date.now() > deadline) throw new Error(`vCPU ${id} did not stop within ${STOP_TIMEOUT_MS} ms`);
        }
        slot.running = null;
      }),
    );
  }

  /** Every vCPU's state, in vCPU order. Call after halt(PAUSE): a running loop owns its vCPU. */
  async saveStates(): Promise<VcpuState[]> {
    if (this.slots.some((slot) => slot.running)) throw new Error('vCPU state can be saved only while every vCPU is paused');
    return Promise.all(this.slots.map((slot) => slot.api.saveState() as Promise<VcpuState>));
  }

  /** Closes every vCPU of the current build in its worker (fds and RAM mappings). */
  async detach(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.api.detach()));
    this.slots.forEach((slot) => (slot.handle = 0));
  }

  /** Ends the worker threads. Call after halt() and detach(). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        slot.api[Comlink.releaseProxy]();
        await slot.worker.terminate();
      }),
    );
    this.slots = [];
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
