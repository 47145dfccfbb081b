// The vocabulary of a VM's life: why a vCPU stopped, and the three kinds of end (LIFECYCLE.md §1).
import type { GuestExitReason, ResetReason } from '../devices/device.js';

export type { GuestExitReason, ResetReason };

/** Where a fatal exit was seen, for the message and the event's `error` text. */
export interface FatalDetail {
  message: string;
  vcpu?: number;
  exitReason?: string;
  suberror?: number;
  rip?: string;
  instructionBytes?: string;
}

/** What a vCPU's run loop returns when it stops entering the guest. */
export type VcpuStop =
  | { kind: 'stopped' } // kicked by the VMM to stop
  | { kind: 'paused' } // kicked by the VMM to pause; can run again
  | { kind: 'guest-exit'; reason: GuestExitReason }
  | { kind: 'reset'; reason: ResetReason }
  | { kind: 'fatal'; detail: FatalDetail };

/** A lifecycle event as the supervisor sees it: which VM build raised it, and why. */
export type LifecycleEvent =
  | { kind: 'guest-exit'; reason: GuestExitReason; generation: number; vcpu?: number }
  | { kind: 'reset'; reason: ResetReason; generation: number; vcpu?: number }
  | { kind: 'fatal'; reason: 'fatal'; detail: FatalDetail; generation: number; vcpu?: number };

export type LifecycleReason = LifecycleEvent['reason'] | 'api' | 'signal';
