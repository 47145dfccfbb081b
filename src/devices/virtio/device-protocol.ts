// Messages between the VMM (device-thread.ts) and a virtio device's thread (device-worker.ts).
import type { RamRegion } from '../../boot/memory-layout.js';
import type { VirtioDeviceInfo } from './transport-state.js';
import type { WriteBitmap } from './written-pages.js';

/** One device as a VM build needs it: what the guest sees, where, and the eventfds to register. */
export interface VirtioSlot {
  id: string;
  info: VirtioDeviceInfo;
  placement: { base: number; length: number; gsi: number };
  fds: DeviceFds;
}

/** The eventfds of one device; the VMM makes them and registers them with each VM build. */
export interface DeviceFds {
  /** commands and status changes */
  control: number;
  /** the device's interrupt (KVM_IRQFD) */
  irq: number;
  /** one per queue (KVM_IOEVENTFD on QueueNotify, datamatch = the queue's index) */
  queues: number[];
}

export type DeviceCommand = { seq: number } & (
  | { op: 'attach'; state: SharedArrayBuffer; ram: { fd: number; size: number }; regions: RamRegion[] }
  | { op: 'detach' }
  | { op: 'quiesce' }
  | { op: 'resume' }
  | { op: 'log-writes'; bitmaps: WriteBitmap[] | null }
  | { op: 'close' }
);

export type DeviceReply =
  | { type: 'done'; seq: number }
  | { type: 'failed'; seq: number; message: string }
  | { type: 'event'; name: 'activated' | 'reset' }
  | { type: 'log'; message: string };
