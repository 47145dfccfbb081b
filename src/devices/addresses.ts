// Where the platform's devices live (LIFECYCLE.md §6). One table, used by the bus, the ACPI tables
// and the tests.
export const Pio = {
  // 0x60 data, 0x61 system control port B, 0x64 status/command: one device at 0x60..0x64
  I8042_START: 0x60,
  I8042_LENGTH: 5,
  CMOS_START: 0x70,
  CMOS_LENGTH: 2,
  POST_CODE: 0x80,
  POST_CODE_LENGTH: 1,
  PCI_CONFIG_ADDRESS: 0xcf8,
  PCI_CONFIG_DATA: 0xcfc,
  /** CONFIG_ADDRESS and CONFIG_DATA: 0xcf8..0xcff */
  PCI_CONFIG_LENGTH: 8,
  SERIAL_COM1: 0x3f8,
  SERIAL_LENGTH: 8,
  DEBUG_CONSOLE_QEMU: 0x402,
  DEBUG_CONSOLE_BOCHS: 0xe9,
  DEBUG_CONSOLE_LENGTH: 1,
  ACPI_SLEEP_RESET: 0x600,
  /** the FADT's reset, sleep-control and sleep-status registers are all one byte at 0x600 */
  ACPI_SLEEP_RESET_LENGTH: 1,
  ACPI_PM_TIMER: 0x608,
  ACPI_PM_TIMER_LENGTH: 4,
} as const;

export const Irq = {
  SERIAL_COM1: 4,
  /** GED (ACPI generic event device) line used for the power button */
  GED: 5,
} as const;

/** MMIO register block of the ACPI GED device (below the 4 GiB boundary, in the PCI hole). */
export const Mmio = {
  GED_BASE: 0xfed0_0000 - 0x1000,
  GED_LENGTH: 0x10,
} as const;

/** ACPI PM timer frequency, Hz */
export const PM_TIMER_HZ = 3_579_545;

/**
 * virtio-mmio devices: device n's 4 KiB window at MMIO_BASE + n * WINDOW (in the MMIO hole below
 * 4 GiB, clear of the IOAPIC, GED and LAPIC) and its interrupt on IOAPIC pin GSI_BASE + n: the pins
 * above the ISA range, which nothing else uses (the IOAPIC has 24).
 */
export const VirtioPlacement = {
  MMIO_BASE: 0xd000_0000,
  WINDOW: 0x1000,
  GSI_BASE: 16,
  MAX_DEVICES: 8,
} as const;

export function virtioPlacement(index: number): { base: number; length: number; gsi: number } {
  if (!Number.isInteger(index) || index < 0 || index >= VirtioPlacement.MAX_DEVICES) throw new RangeError(`virtio device ${index}: at most ${VirtioPlacement.MAX_DEVICES} devices`);
  return { base: VirtioPlacement.MMIO_BASE + index * VirtioPlacement.WINDOW, length: VirtioPlacement.WINDOW, gsi: VirtioPlacement.GSI_BASE + index };
}
