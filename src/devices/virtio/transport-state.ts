// The registers of one virtio-mmio device as shared words (devices/shared-state.ts): the vCPU threads
// write them through the transport (mmio-transport.ts) and the device's own thread reads them when the
// driver starts the device. The device's config space follows the words, read-only for the guest.
//
// Each queue's NEXT_AVAIL/NEXT_USED hold the device thread's progress only while QUEUES_SAVED is set:
// a quiesced device writes them there for a save, a restore puts them back; otherwise a starting
// device begins at 0, as a fresh queue does.
import { SharedState } from '../shared-state.js';
import { INT32, type WordField } from '../saved-state.js';
import { MAX_CONFIG_BYTES } from './constants.js';

export const MAX_QUEUES = 4;

export const W = {
  STATUS: 1,
  DEVICE_FEATURES_SEL: 2,
  DRIVER_FEATURES_SEL: 3,
  DRIVER_FEATURES_LOW: 4,
  DRIVER_FEATURES_HIGH: 5,
  QUEUE_SEL: 6,
  INTERRUPT_STATUS: 7,
  CONFIG_GENERATION: 8,
  /** resets so far in this build: a device thread that sees it change starts over (bookkeeping) */
  RESETS: 9,
  QUEUES_SAVED: 10,
  FIRST_QUEUE: 16,
} as const;

/** A queue's words, from W.FIRST_QUEUE + q * QUEUE_WORDS. */
export const Q = {
  NUM: 0,
  READY: 1,
  DESC_LOW: 2,
  DESC_HIGH: 3,
  DRIVER_LOW: 4,
  DRIVER_HIGH: 5,
  DEVICE_LOW: 6,
  DEVICE_HIGH: 7,
  NEXT_AVAIL: 8,
  NEXT_USED: 9,
} as const;
export const QUEUE_WORDS = 12;

const CONFIG_WORD = W.FIRST_QUEUE + MAX_QUEUES * QUEUE_WORDS;
const TOTAL_WORDS = CONFIG_WORD + MAX_CONFIG_BYTES / 4;

export const queueWord = (queue: number, field: number): number => W.FIRST_QUEUE + queue * QUEUE_WORDS + field;

/** A device's fixed description: what the guest sees before it writes anything. Structured-cloneable. */
export interface VirtioDeviceInfo {
  /** DeviceType */
  type: number;
  /** offered features (Feature and the device's own bits) */
  features: bigint;
  /** QueueNumMax of each queue; their count is the device's queue count */
  queueSizes: number[];
  /** the device-specific config space (little-endian), at most MAX_CONFIG_BYTES */
  config: Uint8Array;
}

export function checkDeviceInfo(info: VirtioDeviceInfo): void {
  if (info.queueSizes.length < 1 || info.queueSizes.length > MAX_QUEUES) throw new RangeError(`a virtio device has 1 to ${MAX_QUEUES} queues, not ${info.queueSizes.length}`);
  for (const size of info.queueSizes) {
    if (!Number.isInteger(size) || size < 1 || size > 32768 || (size & (size - 1)) !== 0) throw new RangeError(`queue size ${size} is not a power of 2 up to 32768`);
  }
  if (info.config.length > MAX_CONFIG_BYTES) throw new RangeError(`config space of ${info.config.length} bytes exceeds ${MAX_CONFIG_BYTES}`);
}

/** Power-on registers for `info`'s device, its config space filled in. */
export function createTransportState(info: VirtioDeviceInfo): SharedState {
  checkDeviceInfo(info);
  const state = SharedState.create(TOTAL_WORDS - 1);
  configBytes(state).set(info.config);
  return state;
}

/** The config-space bytes inside the state's buffer. */
export function configBytes(state: SharedState): Uint8Array {
  return new Uint8Array(state.buffer, CONFIG_WORD * 4, MAX_CONFIG_BYTES);
}

/** What a snapshot carries: the driver-visible registers and each queue's setup and progress. */
export function transportFields(queues: number): WordField[] {
  const fields: WordField[] = [
    { name: 'status', index: W.STATUS, min: 0, max: 0xff },
    { name: 'deviceFeaturesSel', index: W.DEVICE_FEATURES_SEL, ...INT32 },
    { name: 'driverFeaturesSel', index: W.DRIVER_FEATURES_SEL, ...INT32 },
    { name: 'driverFeatures', index: W.DRIVER_FEATURES_LOW, length: 2, ...INT32 },
    { name: 'queueSel', index: W.QUEUE_SEL, ...INT32 },
    { name: 'interruptStatus', index: W.INTERRUPT_STATUS, min: 0, max: 3 },
    { name: 'configGeneration', index: W.CONFIG_GENERATION, ...INT32 },
    { name: 'queuesSaved', index: W.QUEUES_SAVED, min: 0, max: 1 },
  ];
  for (let q = 0; q < queues; q++) fields.push({ name: `queue${q}`, index: queueWord(q, 0), length: Q.NEXT_USED + 1, ...INT32 });
  return fields;
}
