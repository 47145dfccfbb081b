// The device side of one virtio device in its own thread: it starts the device when the driver sets
// DRIVER_OK, serves kicked queues through the backend, raises the used-buffer interrupt, and stops on
// a reset. A queue the guest broke (queue.ts's QueueError) or a backend failure marks the device
// DEVICE_NEEDS_RESET with one log line: the VMM and the other devices go on. Threads and fds are the
// caller's (device-worker.ts); this class is plain logic over the shared registers and guest RAM.
//
// A queue fed by a source (net's receive queue by its tap) is served on a kick and whenever its source
// is readable; the source is watched only while the queue has buffers waiting for data, so a guest
// that posts none leaves the data in the tap and costs nothing.
import type { GuestRam } from '../../boot/guest-ram.js';
import type { SharedState } from '../shared-state.js';
import type { HostWatch, QueueSource, VirtioBackend } from './backend.js';
import { Feature, Interrupt, Status } from './constants.js';
import { SplitQueue } from './queue.js';
import type { WrittenPages } from './written-pages.js';
import { Q, queueWord, W } from './transport-state.js';
import { TWO_32 } from '../../util/units.js';

export interface RunnerDeps {
  /** pulses the device's interrupt line (its irqfd) */
  signalIrq(): void;
  /** 'activated' when the driver started the device, 'reset' when it stopped */
  event(name: 'activated' | 'reset'): void;
  log(message: string): void;
}

/** Requests served per queue before the others get a turn. */
const BATCH = 256;

export class DeviceRunner {
  private queues: Array<SplitQueue | null> = [];
  private active = false;
  /** 'activated' was announced: a stop announces 'reset' */
  private announced = false;
  private broken = false;
  private resetsAtStart = -1;
  private quiesced = false;
  /** queues kicked while quiesced: served on resume */
  private pendingKicks = 0;
  /** source-fed queues with buffers waiting for their source to have data */
  private readonly waitingOnSource = new Set<number>();
  /** during a live migration: where the pages this device writes are recorded */
  private written: WrittenPages | null = null;

  constructor(
    private readonly state: SharedState,
    private readonly ram: GuestRam,
    private readonly backend: VirtioBackend,
    private readonly queueCount: number,
    private readonly deps: RunnerDeps,
  ) {}

  /** Looks at the status the driver wrote: starts or stops the device to match. */
  syncStatus(): void {
    const w = this.state.words;
    const status = Atomics.load(w, W.STATUS);
    const resets = Atomics.load(w, W.RESETS);
    if (this.active && (resets !== this.resetsAtStart || (status & Status.DRIVER_OK) === 0)) this.stop();
    if (!this.active && (status & Status.DRIVER_OK) !== 0 && (status & Status.DEVICE_NEEDS_RESET) === 0) this.start();
  }

  /** Serves the queues whose bits are set in `mask` (bit q: queue q was kicked). */
  kick(mask: number): void {
    if (this.quiesced) {
      this.pendingKicks |= mask;
      return;
    }
    if (!this.active) return;
    // the backend's replies to one queue may be work for another (vsock answers on its receive queue)
    for (let round = 0; mask !== 0 && round < 4 && !this.broken; round++) {
      for (let q = 0; q < this.queueCount; q++) if (mask & (1 << q)) this.serve(q);
      mask = this.guard(() => this.backend.pendingQueues?.() ?? 0);
    }
  }

  /** Runs a backend hook; a throw breaks the device as a bad queue does. */
  private guard(hook: () => number): number {
    try {
      return hook();
    } catch (error) {
      this.fail(error);
      return 0;
    }
  }

  /** The sources to watch now: those whose queues wait for data (none while stopped or quiesced). */
  watchedSources(): QueueSource[] {
    if (!this.active || this.quiesced || this.broken || this.waitingOnSource.size === 0) return [];
    return (this.backend.sources ?? []).filter((source) => this.waitingOnSource.has(source.queue));
  }

  /** The backend's own host fds to watch now (none while stopped or quiesced). */
  watchedHostFds(): readonly HostWatch[] {
    if (!this.active || this.quiesced || this.broken) return [];
    return this.backend.hostWatches?.() ?? [];
  }

  /** Watched fds are ready: sources' queues are served, host fds go to the backend. */
  ready(fds: readonly number[]): void {
    let mask = 0;
    const hostFds = new Set(this.watchedHostFds().map((watch) => watch.fd));
    for (const fd of new Set(fds)) {
      const source = this.backend.sources?.find((s) => s.fd === fd);
      if (source) mask |= 1 << source.queue;
      if (hostFds.has(fd)) mask |= this.guard(() => this.backend.hostReady?.(fd) ?? 0);
    }
    if (mask) this.kick(mask);
  }

  /**
   * Stops serving (the VM is paused for a save) and writes each queue's progress into the registers,
   * where the transport's save() finds it. Kicks that arrive meanwhile wait for resume().
   */
  quiesce(): void {
    this.quiesced = true;
    const w = this.state.words;
    this.state.lock();
    try {
      this.queues.forEach((queue, q) => {
        if (!queue) return;
        w[queueWord(q, Q.NEXT_AVAIL)] = queue.nextAvail;
        w[queueWord(q, Q.NEXT_USED)] = queue.nextUsed;
      });
      w[W.QUEUES_SAVED] = this.active ? 1 : 0;
    } finally {
      this.state.unlock();
    }
  }

  /** Records from now on the pages of guest RAM this device writes (null: stops). */
  logWrites(pages: WrittenPages | null): void {
    this.written = pages;
  }

  resume(): void {
    this.quiesced = false;
    Atomics.store(this.state.words, W.QUEUES_SAVED, 0);
    const kicks = this.pendingKicks;
    this.pendingKicks = 0;
    this.kick(kicks);
  }

  private start(): void {
    const w = this.state.words;
    this.state.lock();
    let progress: Array<[number, number]> = [];
    try {
      this.resetsAtStart = w[W.RESETS];
      const saved = w[W.QUEUES_SAVED] === 1;
      progress = Array.from({ length: this.queueCount }, (_, q) => (saved ? [w[queueWord(q, Q.NEXT_AVAIL)] & 0xffff, w[queueWord(q, Q.NEXT_USED)] & 0xffff] : [0, 0]));
      w[W.QUEUES_SAVED] = 0;
    } finally {
      this.state.unlock();
    }
    const eventIdx = (w[W.DRIVER_FEATURES_LOW] & (1 << Feature.RING_EVENT_IDX)) !== 0;
    this.active = true;
    this.broken = false;
    this.waitingOnSource.clear();
    try {
      this.backend.activate?.(BigInt(w[W.DRIVER_FEATURES_LOW] >>> 0) | (BigInt(w[W.DRIVER_FEATURES_HIGH] >>> 0) << 32n));
      this.queues = progress.map(([nextAvail, nextUsed], q) => {
        if (w[queueWord(q, Q.READY)] !== 1) return null;
        const layout = {
          size: w[queueWord(q, Q.NUM)] >>> 0,
          desc: address(w, queueWord(q, Q.DESC_LOW)),
          avail: address(w, queueWord(q, Q.DRIVER_LOW)),
          used: address(w, queueWord(q, Q.DEVICE_LOW)),
        };
        return new SplitQueue(this.ram, layout, eventIdx, nextAvail, nextUsed);
      });
    } catch (error) {
      this.fail(error);
      return;
    }
    this.announced = true;
    this.deps.event('activated');
    // Requests made before the start (or before a save) get no new kick: look now.
    this.kick((1 << this.queueCount) - 1);
  }

  private stop(): void {
    this.active = false;
    this.queues = [];
    this.waitingOnSource.clear();
    if (this.announced) this.deps.event('reset');
    this.announced = false;
  }

  private serve(q: number): void {
    const queue = this.queues[q];
    if (!queue || this.broken) return;
    let unsignalled = queue.nextUsed;
    try {
      let served = 0;
      for (;;) {
        const chain = queue.pop();
        if (!chain) {
          if (queue.armNotification()) continue;
          this.waitingOnSource.delete(q); // no buffers: the next kick brings some
          break;
        }
        const written = this.backend.handle(q, chain);
        if (written === null) {
          queue.unpop();
          this.waitingOnSource.add(q);
          break;
        }
        // marked once written: a collect before this still copies the page as it is then
        this.written?.markViews(chain.writable);
        queue.pushUsed(chain.head, written);
        // A long burst interrupts now and then, so the guest can take answers and refill the ring.
        if (++served % BATCH === 0) {
          this.interruptIfWanted(queue, unsignalled);
          unsignalled = queue.nextUsed;
        }
      }
    } catch (error) {
      this.fail(error, q);
    }
    this.written?.markView(queue.usedBytes);
    this.interruptIfWanted(queue, unsignalled);
  }

  private interruptIfWanted(queue: SplitQueue, usedBefore: number): void {
    if (!queue.needsInterrupt(usedBefore)) return;
    Atomics.or(this.state.words, W.INTERRUPT_STATUS, Interrupt.USED_BUFFER);
    this.deps.signalIrq();
  }

  /** The device stops serving until the driver resets it: DEVICE_NEEDS_RESET and a config interrupt. */
  private fail(error: unknown, queue?: number): void {
    if (this.broken) return;
    this.broken = true;
    const where = queue === undefined ? 'starting' : `queue ${queue}`;
    this.deps.log(`${where}: ${(error as Error).message}; the device needs a reset`);
    this.state.lock();
    try {
      this.state.words[W.STATUS] |= Status.DEVICE_NEEDS_RESET;
    } finally {
      this.state.unlock();
    }
    Atomics.or(this.state.words, W.INTERRUPT_STATUS, Interrupt.CONFIG_CHANGE);
    this.deps.signalIrq();
  }
}

function address(words: Int32Array, low: number): number {
  return (words[low] >>> 0) + (words[low + 1] >>> 0) * TWO_32;
}
