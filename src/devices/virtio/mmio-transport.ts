// The virtio-mmio register block (virtio 1.2 §4.2.2, version 2) of one device, as the vCPU threads
// see it. The driver negotiates features, sets up queues and writes the status here; the device's own
// thread (device-worker.ts) does the queue work. Two kicks leave this code, both injected: kickDevice
// when the status changes what the device should be doing (started, reset), and kickQueue for a
// QueueNotify that reached userspace (normally KVM's ioeventfd takes those in the kernel).
//
// Every value comes from the guest: writes out of order (queue setup after DRIVER_OK, features after
// FEATURES_OK), unknown queues and odd access sizes are ignored, never trusted.
import type { BusDevice } from '../device.js';
import type { SharedState } from '../shared-state.js';
import { restoreWords, saveWords, type SavedDeviceState, type Stateful } from '../saved-state.js';
import { Feature, MMIO_MAGIC, MMIO_VERSION, Reg, Status, VENDOR_ID } from './constants.js';
import { configBytes, Q, queueWord, transportFields, W, type VirtioDeviceInfo } from './transport-state.js';

const STATE_VERSION = 1;
const U32_MASK = 0xffff_ffffn;

export interface TransportKicks {
  /** the status changed in a way the device thread must act on (DRIVER_OK set, or a reset) */
  kickDevice(): void;
  /** QueueNotify for a valid queue that KVM did not take */
  kickQueue(queue: number): void;
}

export class VirtioMmioTransport implements BusDevice, Stateful {
  readonly name: string;
  private readonly words: Int32Array;
  private readonly config: Uint8Array;
  private readonly configView: DataView;
  private readonly featureWords: [number, number];
  private readonly queues: number;

  constructor(
    private readonly info: VirtioDeviceInfo,
    private readonly state: SharedState,
    private readonly kicks: TransportKicks,
    name = `virtio-mmio(${info.type})`,
  ) {
    this.name = name;
    this.words = state.words;
    this.config = configBytes(state).subarray(0, info.config.length);
    this.configView = new DataView(this.config.buffer, this.config.byteOffset, this.config.length);
    this.featureWords = [Number(info.features & U32_MASK), Number((info.features >> 32n) & U32_MASK)];
    this.queues = info.queueSizes.length;
  }

  read(offset: number, size: number): number {
    if (offset >= Reg.CONFIG) return this.readConfig(offset - Reg.CONFIG, size);
    if (size !== 4) return 0;
    const w = this.words;
    switch (offset) {
      case Reg.MAGIC: return MMIO_MAGIC;
      case Reg.VERSION: return MMIO_VERSION;
      case Reg.DEVICE_ID: return this.info.type;
      case Reg.VENDOR_ID: return VENDOR_ID;
      case Reg.DEVICE_FEATURES: {
        const sel = Atomics.load(w, W.DEVICE_FEATURES_SEL);
        return sel === 0 || sel === 1 ? this.featureWords[sel] : 0;
      }
      case Reg.QUEUE_NUM_MAX: {
        const q = this.selectedQueue();
        return q < 0 ? 0 : this.info.queueSizes[q];
      }
      case Reg.QUEUE_READY: {
        const q = this.selectedQueue();
        return q < 0 ? 0 : Atomics.load(w, queueWord(q, Q.READY));
      }
      case Reg.INTERRUPT_STATUS: return Atomics.load(w, W.INTERRUPT_STATUS);
      case Reg.STATUS: return Atomics.load(w, W.STATUS) & 0xff;
      case Reg.CONFIG_GENERATION: return Atomics.load(w, W.CONFIG_GENERATION) >>> 0;
      default: return 0; // write-only and reserved registers
    }
  }

  write(offset: number, size: number, value: number): void {
    if (offset >= Reg.CONFIG || size !== 4) return; // no device here has a writable config
    const v = value >>> 0;
    if (offset === Reg.QUEUE_NOTIFY) {
      if (v < this.queues) this.kicks.kickQueue(v);
      return;
    }
    if (offset === Reg.INTERRUPT_ACK) {
      Atomics.and(this.words, W.INTERRUPT_STATUS, ~v);
      return;
    }
    let kick = false;
    this.state.lock();
    try {
      kick = this.writeLocked(offset, v);
    } finally {
      this.state.unlock();
    }
    if (kick) this.kicks.kickDevice();
  }

  /** Returns whether the device thread must look at the new status. */
  private writeLocked(offset: number, v: number): boolean {
    const w = this.words;
    const status = w[W.STATUS];
    switch (offset) {
      case Reg.DEVICE_FEATURES_SEL: w[W.DEVICE_FEATURES_SEL] = v; return false;
      case Reg.DRIVER_FEATURES_SEL: w[W.DRIVER_FEATURES_SEL] = v; return false;
      case Reg.DRIVER_FEATURES: {
        const sel = w[W.DRIVER_FEATURES_SEL];
        // Features are the driver's to write between DRIVER and FEATURES_OK only.
        if ((status & Status.DRIVER) === 0 || (status & Status.FEATURES_OK) !== 0 || (sel !== 0 && sel !== 1)) return false;
        w[W.DRIVER_FEATURES_LOW + sel] = v;
        return false;
      }
      case Reg.QUEUE_SEL: w[W.QUEUE_SEL] = v; return false;
      case Reg.STATUS: return this.writeStatus(status, v & 0xff);
    }
    const q = this.selectedQueue();
    // Queue setup is valid before DRIVER_OK, on a queue not yet ready.
    if (q < 0 || (status & Status.DRIVER_OK) !== 0) return false;
    const word = (field: number): number => queueWord(q, field);
    if (offset === Reg.QUEUE_READY) {
      w[word(Q.READY)] = v & 1;
      return false;
    }
    if (w[word(Q.READY)] !== 0) return false;
    switch (offset) {
      case Reg.QUEUE_NUM: w[word(Q.NUM)] = v; break;
      case Reg.QUEUE_DESC_LOW: w[word(Q.DESC_LOW)] = v; break;
      case Reg.QUEUE_DESC_HIGH: w[word(Q.DESC_HIGH)] = v; break;
      case Reg.QUEUE_DRIVER_LOW: w[word(Q.DRIVER_LOW)] = v; break;
      case Reg.QUEUE_DRIVER_HIGH: w[word(Q.DRIVER_HIGH)] = v; break;
      case Reg.QUEUE_DEVICE_LOW: w[word(Q.DEVICE_LOW)] = v; break;
      case Reg.QUEUE_DEVICE_HIGH: w[word(Q.DEVICE_HIGH)] = v; break;
    }
    return false;
  }

  private writeStatus(old: number, value: number): boolean {
    const w = this.words;
    if (value === 0) {
      this.resetLocked();
      return true;
    }
    let next = value | (old & Status.DEVICE_NEEDS_RESET);
    // FEATURES_OK sticks only for a subset of what is offered that includes VERSION_1 (§2.2, §6.1).
    if ((value & Status.FEATURES_OK) !== 0 && (old & Status.FEATURES_OK) === 0 && !this.featuresAcceptable()) next &= ~Status.FEATURES_OK;
    // DRIVER_OK without FEATURES_OK is a broken driver: the device does not start.
    if ((next & Status.DRIVER_OK) !== 0 && (next & Status.FEATURES_OK) === 0) next &= ~Status.DRIVER_OK;
    w[W.STATUS] = next;
    return (next & Status.DRIVER_OK) !== 0 && (old & Status.DRIVER_OK) === 0;
  }

  private featuresAcceptable(): boolean {
    const low = this.words[W.DRIVER_FEATURES_LOW] >>> 0;
    const high = this.words[W.DRIVER_FEATURES_HIGH] >>> 0;
    const [offeredLow, offeredHigh] = this.featureWords;
    const version1 = 1 << (Feature.VERSION_1 - 32);
    return (low & ~offeredLow) === 0 && (high & ~offeredHigh) === 0 && (high & version1) !== 0;
  }

  /** Device reset (§2.4): every register back to its power-on value; the device thread stops. */
  private resetLocked(): void {
    const w = this.words;
    const resets = w[W.RESETS];
    w.fill(0, 1, queueWord(this.queues, 0));
    w[W.RESETS] = resets + 1;
  }

  private selectedQueue(): number {
    const q = Atomics.load(this.words, W.QUEUE_SEL) >>> 0;
    return q < this.queues ? q : -1;
  }

  private readConfig(at: number, size: number): number {
    if (at + size > this.config.length) return 0;
    const view = this.configView;
    switch (size) {
      case 1: return view.getUint8(at);
      case 2: return view.getUint16(at, true);
      case 4: return view.getUint32(at, true);
      default: return 0;
    }
  }

  save(): SavedDeviceState {
    return saveWords(this.state, this.name, STATE_VERSION, transportFields(this.queues));
  }

  restore(saved: unknown): void {
    restoreWords(this.state, this.name, STATE_VERSION, transportFields(this.queues), saved);
  }
}
