// virtio-rng (virtio 1.2 §5.4): fills each request's writable buffers from a source of entropy
// (`--rng src=`, /dev/urandom by default), read straight into guest RAM.
import type { DescriptorChain } from './queue.js';
import type { VirtioBackend } from './backend.js';
import { DeviceType, Feature, featureBits } from './constants.js';
import type { VirtioDeviceInfo } from './transport-state.js';
import { readInto } from './buffers.js';

/** Bytes one request may take: Linux asks for far less; this bounds a read from a slow source. */
const MAX_REQUEST = 64 * 1024;

export function rngDeviceInfo(): VirtioDeviceInfo {
  return { type: DeviceType.RNG, features: featureBits(Feature.VERSION_1, Feature.RING_INDIRECT_DESC), queueSizes: [256], config: new Uint8Array(0) };
}

export class RngDevice implements VirtioBackend {
  constructor(private readonly options: { fd: number }) {}

  handle(_queue: number, chain: DescriptorChain): number {
    const buffers: Uint8Array[] = [];
    let room = MAX_REQUEST;
    for (const b of chain.writable) {
      if (room === 0) break;
      const part = b.subarray(0, Math.min(room, b.byteLength));
      buffers.push(part);
      room -= part.byteLength;
    }
    return readInto(this.options.fd, buffers, null);
  }
}
