// The guest's own clock, one per VM: guest time = host monotonic time + an offset fixed when the VM
// is created (or restored). Devices read time only through it, so no device state is relative to the
// host: a snapshot saves the guest's time, and a restore on another host (another boot time, another
// wall clock) continues from there by recomputing the offset. Every thread builds its GuestClock from
// the same base, a SharedArrayBuffer, so all copies agree.
//
// A fresh guest's monotonic time starts at the host's (so the PM timer reads as it always did, and host
// timestamps compare with it, as benchmarks/lifecycle.ts does); it is a number of nanoseconds, exact up
// to 2^53 ns (104 days) and within a few ns after: no BigInt on the PM timer's read path.
import type { Clock } from './device.js';

/**
 * The clock's base in shared memory (Float64Array): host CLOCK_MONOTONIC seconds and nanoseconds at the
 * base, guest monotonic ns at the base, guest wall clock (UTC ms) at guest monotonic 0. Shared so that a
 * restore, made on the main thread with the vCPUs paused, moves every thread's clock at once.
 */
const B_HOST_S = 0;
const B_HOST_NS = 1;
const B_GUEST_NS = 2;
const B_EPOCH_MS = 3;

/** What a snapshot keeps of the clock: the guest's times, nothing of the host's. */
export interface GuestClockState {
  version: 1;
  monotonicNs: number;
  wallMs: number;
}

const NS_PER_S = 1e9;
const NS_PER_MS = 1e6;

export class GuestClock implements Clock {
  /** A fresh guest clock: monotonic and wall clock equal to the host's now. */
  static createBase(hostWallMs = Date.now()): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(4 * 8);
    const b = new Float64Array(buffer);
    const [s, ns] = process.hrtime();
    b[B_HOST_S] = s;
    b[B_HOST_NS] = ns;
    b[B_GUEST_NS] = s * NS_PER_S + ns;
    b[B_EPOCH_MS] = hostWallMs - b[B_GUEST_NS] / NS_PER_MS;
    return buffer;
  }

  private readonly b: Float64Array;

  constructor(readonly base: SharedArrayBuffer) {
    this.b = new Float64Array(base);
  }

  monotonicNs(): number {
    // tuple arithmetic on small integers: exact, and the array is a short-lived young object
    const [s, ns] = process.hrtime();
    const b = this.b;
    return b[B_GUEST_NS] + (s - b[B_HOST_S]) * NS_PER_S + (ns - b[B_HOST_NS]);
  }

  wallMs(): number {
    return this.b[B_EPOCH_MS] + this.monotonicNs() / NS_PER_MS;
  }

  save(): GuestClockState {
    const monotonicNs = this.monotonicNs();
    return { version: 1, monotonicNs, wallMs: this.b[B_EPOCH_MS] + monotonicNs / NS_PER_MS };
  }

  /** Continues a saved guest clock from now on this host (every vCPU paused). */
  restore(state: unknown): void {
    const s = state as Partial<GuestClockState> | null;
    if (typeof s !== 'object' || s === null) throw new TypeError('guest-clock: saved state is not an object');
    if (s.version !== 1) throw new TypeError(`guest-clock: saved state version ${JSON.stringify(s.version)} is not the supported version 1`);
    if (typeof s.monotonicNs !== 'number' || !Number.isFinite(s.monotonicNs) || s.monotonicNs < 0) {
      throw new RangeError('guest-clock: saved state monotonicNs must be a finite number >= 0');
    }
    if (typeof s.wallMs !== 'number' || !Number.isFinite(s.wallMs)) throw new RangeError('guest-clock: saved state wallMs must be a finite number');
    const [hs, hns] = process.hrtime();
    const b = this.b;
    b[B_HOST_S] = hs;
    b[B_HOST_NS] = hns;
    b[B_GUEST_NS] = s.monotonicNs;
    b[B_EPOCH_MS] = s.wallMs - s.monotonicNs / NS_PER_MS;
  }
}
