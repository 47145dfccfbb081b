// What a virtio device is to its device thread: something that answers one request of one queue.
import type { DescriptorChain } from './queue.js';

export interface VirtioBackend {
  /** Serves one request of `queue`; returns the bytes it wrote into the request's writable buffers. */
  handle(queue: number, chain: DescriptorChain): number;
}
