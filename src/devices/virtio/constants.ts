// Numbers from the virtio 1.2 specification: the virtio-mmio register block (§4.2.2), device status
// bits (§2.1), feature bits (§6) and device types (§5). Shared by the transport, the queues and the
// devices; nothing here has behaviour.

export const MMIO_MAGIC = 0x7472_6976; // "virt"
export const MMIO_VERSION = 2;
/** nodevmm's vendor id in the VendorID register: "NVMM" as bytes */
export const VENDOR_ID = 0x4d4d_564e;

export const Reg = {
  MAGIC: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_DRIVER_LOW: 0x090,
  QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0,
  QUEUE_DEVICE_HIGH: 0x0a4,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** Bytes of guest-physical space each virtio-mmio device takes (registers and config space). */
export const MMIO_WINDOW = 0x1000;
/** The config space a device may have: the rest of the window. */
export const MAX_CONFIG_BYTES = MMIO_WINDOW - Reg.CONFIG;

export const Status = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 0x40,
  FAILED: 0x80,
} as const;

/** InterruptStatus bits */
export const Interrupt = {
  USED_BUFFER: 1,
  CONFIG_CHANGE: 2,
} as const;

/** Feature bit numbers common to every device type. */
export const Feature = {
  RING_INDIRECT_DESC: 28,
  RING_EVENT_IDX: 29,
  VERSION_1: 32,
} as const;

export const DeviceType = {
  NET: 1,
  BLOCK: 2,
  CONSOLE: 3,
  RNG: 4,
  VSOCK: 19,
} as const;

/** A feature set as a 64-bit mask from bit numbers. */
export function featureBits(...bits: number[]): bigint {
  return bits.reduce((mask, bit) => mask | (1n << BigInt(bit)), 0n);
}

/** Split-ring descriptor flags (§2.7.5) */
export const Desc = {
  SIZE: 16,
  F_NEXT: 1,
  F_WRITE: 2,
  F_INDIRECT: 4,
} as const;

/** avail.flags: the driver asks for no interrupts (without EVENT_IDX) */
export const AVAIL_F_NO_INTERRUPT = 1;
