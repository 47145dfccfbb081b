// virtio-blk (virtio 1.2 §5.2) over a raw image file: IN, OUT, FLUSH and GET_ID, one request queue.
// A read-only disk offers VIRTIO_BLK_F_RO and answers writes with IOERR, so its file never changes.
// Sector numbers and lengths come from the guest and are checked against the image's size.
import { fsyncSync } from 'node:fs';
import type { DescriptorChain } from './queue.js';
import type { VirtioBackend } from './backend.js';
import { DeviceType, Feature, featureBits } from './constants.js';
import type { VirtioDeviceInfo } from './transport-state.js';
import { byteLength, dropLastBytes, gather, lastByte, readInto, scatter, skipBytes, writeFrom } from './buffers.js';

export const SECTOR = 512;
const ID_BYTES = 20;

export const BlockFeature = { SEG_MAX: 2, RO: 5, FLUSH: 9 } as const;
const RequestType = { IN: 0, OUT: 1, FLUSH: 4, GET_ID: 8 } as const;
export const BlockStatus = { OK: 0, IOERR: 1, UNSUPP: 2 } as const;
const HEADER_BYTES = 16;

export interface BlockOptions {
  /** the image, open for reading (and writing unless readonly), locked by the VMM */
  fd: number;
  /** the image's size; the disk's capacity is that in whole sectors */
  bytes: number;
  readonly: boolean;
  /** what GET_ID answers (at most 20 bytes are sent) */
  serial: string;
}

export function blockDeviceInfo(options: Pick<BlockOptions, 'bytes' | 'readonly'> & { queueSize: number }): VirtioDeviceInfo {
  // data segments per request (VIRTIO_BLK_F_SEG_MAX): the queue less the header and the status
  const segMax = Math.max(1, options.queueSize - 2);
  const config = new Uint8Array(16);
  const view = new DataView(config.buffer);
  view.setBigUint64(0, BigInt(Math.floor(options.bytes / SECTOR)), true); // capacity
  view.setUint32(12, segMax, true); // seg_max (size_max at 8 is not offered)
  const features = featureBits(Feature.VERSION_1, Feature.RING_EVENT_IDX, Feature.RING_INDIRECT_DESC, BlockFeature.SEG_MAX, BlockFeature.FLUSH, ...(options.readonly ? [BlockFeature.RO] : []));
  return { type: DeviceType.BLOCK, features, queueSizes: [options.queueSize], config };
}

export class BlockDevice implements VirtioBackend {
  private readonly capacity: number;
  private readonly id: Uint8Array;

  constructor(private readonly options: BlockOptions) {
    this.capacity = Math.floor(options.bytes / SECTOR) * SECTOR;
    this.id = new TextEncoder().encode(options.serial).subarray(0, ID_BYTES);
  }

  handle(_queue: number, chain: DescriptorChain): number {
    const status = lastByte(chain.writable);
    if (!status) return 0; // nowhere to answer: complete it empty
    const header = gather(chain.readable, HEADER_BYTES);
    if (!header) {
      status[0] = BlockStatus.IOERR;
      return 1;
    }
    const view = new DataView(header.buffer);
    const type = view.getUint32(0, true);
    const sector = Number(view.getBigUint64(8, true));
    const { code, written } = this.run(type, sector, chain);
    status[0] = code;
    return written + 1;
  }

  private run(type: number, sector: number, chain: DescriptorChain): { code: number; written: number } {
    const ok = (written = 0) => ({ code: BlockStatus.OK, written });
    const fail = { code: BlockStatus.IOERR, written: 0 };
    switch (type) {
      case RequestType.IN: {
        const data = dropLastBytes(chain.writable, 1);
        const length = byteLength(data);
        if (!this.inRange(sector, length)) return fail;
        const read = readInto(this.options.fd, data, sector * SECTOR);
        // the image ends on a sector boundary (capacity rounds down), so a short read is an I/O error
        return read === length ? ok(length) : fail;
      }
      case RequestType.OUT: {
        if (this.options.readonly) return fail;
        const data = skipBytes(chain.readable, HEADER_BYTES);
        if (!this.inRange(sector, byteLength(data))) return fail;
        writeFrom(this.options.fd, data, sector * SECTOR);
        return ok();
      }
      case RequestType.FLUSH:
        if (!this.options.readonly) fsyncSync(this.options.fd);
        return ok();
      case RequestType.GET_ID: {
        const data = dropLastBytes(chain.writable, 1);
        const id = new Uint8Array(ID_BYTES);
        id.set(this.id);
        return ok(scatter(data, id));
      }
      default:
        return { code: BlockStatus.UNSUPP, written: 0 };
    }
  }

  private inRange(sector: number, length: number): boolean {
    const start = sector * SECTOR;
    return Number.isSafeInteger(start) && length % SECTOR === 0 && start + length <= this.capacity;
  }
}
