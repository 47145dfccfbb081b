// The guest's own clock, one per VM: guest time = host monotonic time + an offset fixed when the VM
// is created (or restored). Devices read time only through it, so no device state is relative to the
// host: a snapshot saves the guest's time, and a restore on another host (another boot time, another
// wall clock) continues from there by recomputing the offset. Every thread builds its GuestClock from
// the same GuestClockBase (plain numbers, structured-cloneable), so all copies agree.
//
// A fresh guest's monotonic time starts at the host's (so the PM timer reads as it always did, and host
// timestamps compare with it, as benchmarks/lifecycle.ts does); it is a number of nanoseconds, exact up
// to 2^53 ns (104 days) and within a few ns after: no BigInt on the PM timer's read path.
import type { Clock } from './device.js';

export interface GuestClockBase {
  /** host CLOCK_MONOTONIC (process.hrtime) at the base, as whole seconds and nanoseconds */
  hostSeconds: number;
  hostNanos: number;
  /** guest monotonic ns at the base */
  guestNs: number;
  /** guest wall clock (UTC ms since the epoch) when guest monotonic time was 0 */
  guestEpochMs: number;
}

/** What a snapshot keeps of the clock: the guest's times, nothing of the host's. */
export interface GuestClockState {
  version: 1;
  monotonicNs: number;
  wallMs: number;
}

const NS_PER_S = 1e9;
const NS_PER_MS = 1e6;

/** A fresh guest clock: monotonic and wall clock equal to the host's now. */
export function createGuestClockBase(hostWallMs = Date.now()): GuestClockBase {
  const [hostSeconds, hostNanos] = process.hrtime();
  const guestNs = hostSeconds * NS_PER_S + hostNanos;
  return { hostSeconds, hostNanos, guestNs, guestEpochMs: hostWallMs - guestNs / NS_PER_MS };
}

/** The base that continues a saved guest clock from now on this host. */
export function restoreGuestClockBase(state: unknown): GuestClockBase {
  const s = state as Partial<GuestClockState> | null;
  if (typeof s !== 'object' || s === null) throw new TypeError('guest-clock: state is not an object');
  if (s.version !== 1) throw new TypeError(`guest-clock: unsupported version ${String(s.version)}`);
  if (typeof s.monotonicNs !== 'number' || !Number.isFinite(s.monotonicNs) || s.monotonicNs < 0) {
    throw new RangeError('guest-clock: monotonicNs must be a finite number >= 0');
  }
  if (typeof s.wallMs !== 'number' || !Number.isFinite(s.wallMs)) throw new RangeError('guest-clock: wallMs must be a finite number');
  const [hostSeconds, hostNanos] = process.hrtime();
  return { hostSeconds, hostNanos, guestNs: s.monotonicNs, guestEpochMs: s.wallMs - s.monotonicNs / NS_PER_MS };
}

export class GuestClock implements Clock {
  constructor(readonly base: GuestClockBase) {}

  monotonicNs(): number {
    // tuple arithmetic on small integers: exact, and the array is a short-lived young object
    const [s, ns] = process.hrtime();
    const b = this.base;
    return b.guestNs + (s - b.hostSeconds) * NS_PER_S + (ns - b.hostNanos);
  }

  wallMs(): number {
    return this.base.guestEpochMs + this.monotonicNs() / NS_PER_MS;
  }

  save(): GuestClockState {
    const monotonicNs = this.monotonicNs();
    return { version: 1, monotonicNs, wallMs: this.base.guestEpochMs + monotonicNs / NS_PER_MS };
  }
}
