// virtio-net (virtio 1.2 §5.1) over a tap: one receive and one transmit queue. Frames pass between the
// guest's buffers and the tap unchanged, with their 12-byte virtio-net header (the tap speaks the same
// header: IFF_VNET_HDR), so the device never copies a frame and checksum and segmentation offloads
// work both ways when the driver accepts them. The tap feeds the receive queue (backend.ts's
// sources); a frame that the tap refuses (its link is down, a bad header) is dropped and counted,
// as a NIC drops it.
import type { DescriptorChain } from './queue.js';
import { QueueError } from './queue.js';
import type { FdIo, QueueSource, VirtioBackend } from './backend.js';
import { DeviceType, Feature, featureBits } from './constants.js';
import type { VirtioDeviceInfo } from './transport-state.js';
import { byteLength, writeAt } from './buffers.js';

export const NetFeature = {
  CSUM: 0,
  GUEST_CSUM: 1,
  MAC: 5,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  STATUS: 16,
} as const;

/** The linux tap's offload flags (TUN_F_*, linux/if_tun.h) */
export const TapOffload = { CSUM: 1, TSO4: 2, TSO6: 4 } as const;

export const RX_QUEUE = 0;
export const TX_QUEUE = 1;
/** struct virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers */
export const NET_HEADER_BYTES = 12;
const NUM_BUFFERS_OFFSET = 10;
const LINK_UP = 1;

/** What a tap does for the device thread: in the thread's own addon (native/tap.cc). */
export interface TapIo extends FdIo {
  setOffload(fd: number, flags: number): void;
}

export interface NetOptions {
  /** the tap, non-blocking with 12-byte headers (native openTap/adoptTap) */
  fd: number;
}

export function parseMac(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return null;
  return Uint8Array.from(text.split(':').map((part) => parseInt(part, 16)));
}

/** `csum`: checksum offload both ways; `tso`: segmentation offload both ways (needs `csum`). */
export function netDeviceInfo(options: { mac: string; queueSize: number; csum: boolean; tso: boolean }): VirtioDeviceInfo {
  const mac = parseMac(options.mac);
  if (!mac) throw new RangeError(`bad MAC address ${options.mac}`);
  const config = new Uint8Array(8);
  config.set(mac, 0);
  new DataView(config.buffer).setUint16(6, LINK_UP, true); // status (VIRTIO_NET_F_STATUS)
  const csum = options.csum ? [NetFeature.CSUM, NetFeature.GUEST_CSUM] : [];
  const tso = options.csum && options.tso ? [NetFeature.GUEST_TSO4, NetFeature.GUEST_TSO6, NetFeature.HOST_TSO4, NetFeature.HOST_TSO6] : [];
  const features = featureBits(Feature.VERSION_1, Feature.RING_EVENT_IDX, Feature.RING_INDIRECT_DESC, NetFeature.MAC, NetFeature.STATUS, ...csum, ...tso);
  return { type: DeviceType.NET, features, queueSizes: [options.queueSize, options.queueSize], config };
}

/** The tap offloads that match the driver's accepted GUEST_* features. */
export function tapOffloads(features: bigint): number {
  const has = (bit: number): boolean => (features & (1n << BigInt(bit))) !== 0n;
  if (!has(NetFeature.GUEST_CSUM)) return 0; // segmentation offloads need checksum offload
  return TapOffload.CSUM | (has(NetFeature.GUEST_TSO4) ? TapOffload.TSO4 : 0) | (has(NetFeature.GUEST_TSO6) ? TapOffload.TSO6 : 0);
}

export class NetDevice implements VirtioBackend {
  readonly sources: readonly QueueSource[];
  /** frames the tap refused */
  dropped = 0;
  received = 0;
  sent = 0;

  constructor(private readonly options: NetOptions, private readonly tap: TapIo) {
    this.sources = [{ fd: options.fd, queue: RX_QUEUE }];
  }

  activate(features: bigint): void {
    this.tap.setOffload(this.options.fd, tapOffloads(features));
  }

  handle(queue: number, chain: DescriptorChain): number | null {
    return queue === RX_QUEUE ? this.receive(chain) : this.transmit(chain);
  }

  /** One frame from the tap into the guest's buffers, or null when the tap has none. */
  private receive(chain: DescriptorChain): number | null {
    const room = byteLength(chain.writable);
    if (room < NET_HEADER_BYTES) throw new QueueError(`receive buffer of ${room} bytes is smaller than the ${NET_HEADER_BYTES}-byte header`);
    const n = this.tap.readv(this.options.fd, chain.writable);
    if (n < 0) return null;
    writeAt(chain.writable, NUM_BUFFERS_OFFSET, Uint8Array.of(1, 0)); // one buffer per frame (no MRG_RXBUF)
    this.received++;
    return Math.min(n, room);
  }

  private transmit(chain: DescriptorChain): number {
    if (byteLength(chain.readable) <= NET_HEADER_BYTES) {
      this.dropped++;
      return 0;
    }
    if (this.tap.writev(this.options.fd, chain.readable) < 0) this.dropped++;
    else this.sent++;
    return 0;
  }
}
