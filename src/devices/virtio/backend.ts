// What a virtio device is to its device thread: something that answers one request of one queue.
import type { DescriptorChain } from './queue.js';

/** A file whose readability lets a queue make progress: a tap feeds a network device's receive queue. */
export interface QueueSource {
  fd: number;
  queue: number;
}

/** Non-blocking vectored I/O on an fd, from the device thread's addon (native/tap.cc). */
export interface FdIo {
  /** bytes read, 0 at end of file, -1 when nothing is there now */
  readv(fd: number, buffers: Uint8Array[]): number;
  /** bytes written, or -errno */
  writev(fd: number, buffers: Uint8Array[]): number;
}

/** A host fd the device thread polls for the backend: readable, or writable with `write`. */
export interface HostWatch {
  fd: number;
  write?: boolean;
}

export interface VirtioBackend {
  /**
   * Serves one request of `queue`; returns the bytes it wrote into the request's writable buffers,
   * or null when it cannot serve it yet (its source has nothing now): the request stays in the ring
   * and the device thread waits for the source to become readable.
   */
  handle(queue: number, chain: DescriptorChain): number | null;
  /** the files that feed queues; a queue fed by one is served when it is readable */
  readonly sources?: readonly QueueSource[];
  /** The driver started the device with `features` accepted. */
  activate?(features: bigint): void;
  /** Host-side fds to watch while the device runs (a listening socket; a socket with output to flush). */
  hostWatches?(): readonly HostWatch[];
  /** A watched host fd is ready; returns the mask of queues (bit q) that now have work. */
  hostReady?(fd: number): number;
  /** The mask of queues with work of the backend's own (replies to deliver), looked at after each serve. */
  pendingQueues?(): number;
}
