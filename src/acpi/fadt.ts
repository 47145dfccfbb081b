// The Fixed ACPI Description Table (ACPI 6.x §5.2.9), revision 6, for a hardware-reduced platform:
// no PM1/GPE register blocks, no SCI, no SMI command port, no FACS. What it does describe:
// - sleep control and sleep status registers, one byte each at port 0x600 (acpi-pm.ts): Linux powers
//   off by writing SLP_TYP(5) << 2 | SLP_EN = 0x34 there, after clearing WAK_STS in the status register;
// - the reset register, the same byte, reset value 1: Linux `reboot` writes 1 there;
// - the 32-bit PM timer at port 0x608 (TMR_VAL_EXT); Linux uses it as a clocksource and for calibration;
// - the CMOS century register 0x32 (cmos.ts), which Linux's RTC code reads;
// - the DSDT's address (X_DSDT only).
import { Pio } from '../devices/addresses.js';
import { CmosIndex } from '../devices/cmos.js';
import { ByteWriter, ioPortGas, sdt, SDT_HEADER_SIZE, writeGas } from './sdt.js';

export const FADT_SIZE = 276;
export const FADT_REVISION = 6;
/** ACPI 6.3: the newest version whose FADT layout both Linux and Debian's iasl (2020) fully know. */
export const FADT_MINOR_VERSION = 3;

/** Byte offsets of the fields nodevmm fills (the rest stay 0). */
export const FadtOffset = {
  FIRMWARE_CTRL: 36,
  DSDT: 40,
  PREFERRED_PM_PROFILE: 45,
  SCI_INT: 46,
  SMI_CMD: 48,
  PM_TMR_BLK: 76,
  PM_TMR_LEN: 91,
  CENTURY: 108,
  IAPC_BOOT_ARCH: 109,
  FLAGS: 112,
  RESET_REG: 116,
  RESET_VALUE: 128,
  ARM_BOOT_ARCH: 129,
  MINOR_VERSION: 131,
  X_FIRMWARE_CTRL: 132,
  X_DSDT: 140,
  X_PM_TMR_BLK: 208,
  SLEEP_CONTROL_REG: 244,
  SLEEP_STATUS_REG: 256,
  HYPERVISOR_VENDOR_ID: 268,
} as const;

/** FADT Flags (Table 5.10) nodevmm uses. */
export const FadtFlag = {
  /** the power button, if any, is a control-method device (our PNP0C0C), not a fixed feature */
  PWR_BUTTON: 1 << 4,
  /** likewise: there is no fixed-feature sleep button */
  SLP_BUTTON: 1 << 5,
  /** the PM timer counts 32 bits, not 24 (AcpiPmTimer returns all 32) */
  TMR_VAL_EXT: 1 << 8,
  /** RESET_REG and RESET_VALUE are valid */
  RESET_REG_SUP: 1 << 10,
  /** no fixed ACPI hardware: sleep/reset go through the GAS registers, events through the GED */
  HW_REDUCED_ACPI: 1 << 20,
} as const;

/** IA-PC boot architecture flags (Table 5.11). */
export const IapcBootArch = {
  LEGACY_DEVICES: 1 << 0,
  I8042: 1 << 1,
  VGA_NOT_PRESENT: 1 << 2,
  MSI_NOT_SUPPORTED: 1 << 3,
  PCIE_ASPM_CONTROLS: 1 << 4,
  CMOS_RTC_NOT_PRESENT: 1 << 5,
} as const;

/**
 * What nodevmm's platform tells the OS, flag by flag:
 * - LEGACY_DEVICES clear: no ISA/LPC devices beyond those the DSDT describes. Linux only uses it to
 *   skip PnP BIOS probing, which there is none of.
 * - 8042 clear: the i8042 model answers port 0x61 and the 0x64 reset command only, it is no keyboard
 *   controller. With the flag clear and no PNP0303 in the DSDT, Linux's i8042 driver gives up at once
 *   instead of probing ports (slow, and pointless, on an emulated guest kernel).
 * - VGA_NOT_PRESENT set: there is no VGA, so Linux must not poke the legacy VGA ports and memory.
 * - MSI_NOT_SUPPORTED clear: the in-kernel local APICs accept MSIs; a later PCI transport can use them.
 * - PCIE_ASPM_CONTROLS clear: no PCIe, nothing to say about ASPM.
 * - CMOS_RTC_NOT_PRESENT clear: the CMOS RTC at 0x70 exists; Linux reads wall-clock time from it.
 */
export const NODEVMM_IAPC_BOOT_ARCH = IapcBootArch.VGA_NOT_PRESENT;

export const NODEVMM_FADT_FLAGS =
  FadtFlag.PWR_BUTTON | FadtFlag.SLP_BUTTON | FadtFlag.TMR_VAL_EXT | FadtFlag.RESET_REG_SUP | FadtFlag.HW_REDUCED_ACPI;

/** The value written to RESET_REG to reset the machine (acpi-pm.ts). */
export const RESET_VALUE = 1;

/** "Hypervisor Vendor Identity": lets a guest tell it runs under nodevmm. */
export const HYPERVISOR_VENDOR_ID = 'NODEVMM';

export function buildFadt(dsdtAddress: number): Uint8Array {
  const w = new ByteWriter(FADT_SIZE - SDT_HEADER_SIZE);
  const at = (offset: number) => offset - SDT_HEADER_SIZE; // offsets above are from the table start
  const sleepReset = ioPortGas(Pio.ACPI_SLEEP_RESET, Pio.ACPI_SLEEP_RESET_LENGTH);

  // Legacy PM_TMR_BLK/PM_TMR_LEN match X_PM_TMR_BLK, so a reader of either sees the same timer.
  w.u32(at(FadtOffset.PM_TMR_BLK), Pio.ACPI_PM_TIMER).u8(at(FadtOffset.PM_TMR_LEN), Pio.ACPI_PM_TIMER_LENGTH);
  w.u8(at(FadtOffset.CENTURY), CmosIndex.CENTURY);
  w.u16(at(FadtOffset.IAPC_BOOT_ARCH), NODEVMM_IAPC_BOOT_ARCH);
  w.u32(at(FadtOffset.FLAGS), NODEVMM_FADT_FLAGS);
  writeGas(w, at(FadtOffset.RESET_REG), sleepReset);
  w.u8(at(FadtOffset.RESET_VALUE), RESET_VALUE);
  w.u8(at(FadtOffset.MINOR_VERSION), FADT_MINOR_VERSION);
  // The 32-bit DSDT field stays 0: X_DSDT supersedes it, and one address cannot disagree with itself.
  w.u64(at(FadtOffset.X_DSDT), dsdtAddress);
  writeGas(w, at(FadtOffset.X_PM_TMR_BLK), ioPortGas(Pio.ACPI_PM_TIMER, Pio.ACPI_PM_TIMER_LENGTH));
  writeGas(w, at(FadtOffset.SLEEP_CONTROL_REG), sleepReset);
  writeGas(w, at(FadtOffset.SLEEP_STATUS_REG), sleepReset);
  w.ascii(at(FadtOffset.HYPERVISOR_VENDOR_ID), HYPERVISOR_VENDOR_ID, 8);
  return sdt({ signature: 'FACP', revision: FADT_REVISION, oemTableId: 'NVMMFACP' }, w.bytes);
}
