// Builds nodevmm's ACPI tables and places them in guest RAM, in the low-memory area reserved for them
// (memory-layout.ts: [0xA0000, 0x100000), reserved in the e820 map):
//
//   0xA0000  RSDP (36 bytes) ──► XSDT ──► FADT ──► DSDT
//                                    └──► MADT
//
// each at the next 16-byte boundary after the previous one, in that order: about 1 KiB in all.
// The RSDP's address goes to the kernel through the boot protocol (boot_params.acpi_rsdp_addr or
// hvm_start_info.rsdp_paddr): 0xA0000 is outside the areas a BIOS-era OS scans for it.
import type { GuestRam } from '../boot/guest-ram.js';
import { ACPI_TABLES_END, ACPI_TABLES_START, alignUp, hex } from '../boot/memory-layout.js';
import { buildDsdt, type DsdtOptions } from './dsdt.js';
import { buildFadt, FADT_SIZE } from './fadt.js';
import { buildMadt, checkVcpuCount } from './madt.js';
import { buildRsdp, RSDP_SIZE } from './rsdp.js';
import { buildXsdt, xsdtSize } from './xsdt.js';

/** Each table starts on this boundary (ACPI asks for none; 16 keeps every 64-bit field aligned). */
export const TABLE_ALIGNMENT = 16;

export interface AcpiTablesOptions extends DsdtOptions {
  /** vCPUs, 1–255: one Local APIC entry each, APIC id = vCPU index */
  vcpus: number;
  /**
   * GSI of ISA IRQ 0 (the in-kernel PIT). 2, the default, writes the PC-standard override 0 → 2 and
   * requires GSI routing that delivers the PIT to IOAPIC pin 2, as QEMU installs; 0 matches KVM's
   * default routing and writes no override.
   */
  timerGsi?: 0 | 2;
  /** Where the tables may go; the RSDP is at `start`. Default [0xA0000, 0x100000). */
  area?: { start: number; end: number };
}

export interface PlacedTable {
  /** "RSDP" for the root pointer (its in-memory signature is "RSD PTR "), else the table signature */
  signature: string;
  address: number;
  length: number;
}

export interface AcpiTables {
  rsdpAddress: number;
  /** in address order: RSDP, XSDT, FACP, DSDT, APIC */
  tables: PlacedTable[];
  /** first byte after the last table */
  end: number;
}

/** A laid-out table with its bytes, before anything is written. */
export interface AcpiTableImage extends PlacedTable {
  bytes: Uint8Array;
}

/** The tables with their addresses and bytes (pure: nothing is written). */
export function layoutAcpiTables(options: AcpiTablesOptions): { rsdpAddress: number; images: AcpiTableImage[]; end: number } {
  checkVcpuCount(options.vcpus);
  const { start, end: limit } = options.area ?? { start: ACPI_TABLES_START, end: ACPI_TABLES_END };
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(limit) || start < 0 || limit <= start) {
    throw new RangeError(`ACPI table area [${start}, ${limit}) is not a valid address range`);
  }

  // Sizes do not depend on addresses, so build the address-free tables first and place them all.
  const dsdt = buildDsdt(options);
  const madt = buildMadt({ vcpus: options.vcpus, timerGsi: options.timerGsi ?? 2 });
  const rsdpAddress = start;
  const xsdtAddress = alignUp(rsdpAddress + RSDP_SIZE, TABLE_ALIGNMENT);
  const fadtAddress = alignUp(xsdtAddress + xsdtSize(2), TABLE_ALIGNMENT);
  const dsdtAddress = alignUp(fadtAddress + FADT_SIZE, TABLE_ALIGNMENT);
  const madtAddress = alignUp(dsdtAddress + dsdt.length, TABLE_ALIGNMENT);
  const end = madtAddress + madt.length;
  if (end > limit) {
    throw new RangeError(
      `ACPI tables need [${hex(start)}, ${hex(end)}) (${end - start} bytes), ` +
        `more than the ${limit - start} bytes of their area [${hex(start)}, ${hex(limit)})`,
    );
  }

  const image = (signature: string, address: number, bytes: Uint8Array): AcpiTableImage => ({
    signature,
    address,
    length: bytes.length,
    bytes,
  });
  const images = [
    image('RSDP', rsdpAddress, buildRsdp(xsdtAddress)),
    image('XSDT', xsdtAddress, buildXsdt([fadtAddress, madtAddress])),
    image('FACP', fadtAddress, buildFadt(dsdtAddress)),
    image('DSDT', dsdtAddress, dsdt),
    image('APIC', madtAddress, madt),
  ];
  return { rsdpAddress, images, end };
}

/**
 * Writes RSDP, XSDT, FADT, DSDT and MADT into guest RAM (zeroing the gaps between them, so nothing from
 * an earlier boot survives there) and returns where they are. Throws, writing nothing, when they do not
 * fit in their area or the area is not RAM.
 */
export function buildAcpiTables(ram: GuestRam, options: AcpiTablesOptions): AcpiTables {
  const { rsdpAddress, images, end } = layoutAcpiTables(options);
  if (!ram.contains(rsdpAddress, end - rsdpAddress)) {
    throw new RangeError(`ACPI tables at [${hex(rsdpAddress)}, ${hex(end)}) are not inside guest RAM`);
  }
  ram.fill(rsdpAddress, end - rsdpAddress, 0);
  for (const { address, bytes } of images) ram.write(address, bytes);
  return { rsdpAddress, tables: images.map(({ signature, address, length }) => ({ signature, address, length })), end };
}
