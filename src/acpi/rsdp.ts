// The Root System Description Pointer (ACPI 6.x §5.2.5.3), revision 2: where the guest starts looking.
// It is not in the legacy BIOS search areas (nodevmm puts it at 0xA0000), so the loaders hand its
// address to the kernel: boot_params.acpi_rsdp_addr (bzImage) or hvm_start_info.rsdp_paddr (PVH).
import { ByteWriter, checksumOf, OEM_ID } from './sdt.js';

export const RSDP_SIZE = 36;
/** The ACPI 1.0 part, covered by the first checksum. */
export const RSDP_V1_SIZE = 20;

export const RsdpOffset = {
  SIGNATURE: 0,
  CHECKSUM: 8,
  OEM_ID: 9,
  REVISION: 15,
  RSDT_ADDRESS: 16,
  LENGTH: 20,
  XSDT_ADDRESS: 24,
  EXTENDED_CHECKSUM: 32,
} as const;

/** ACPI 2.0+ RSDP pointing at the XSDT only: no RSDT, since every guest we boot reads the XSDT. */
export function buildRsdp(xsdtAddress: number): Uint8Array {
  const w = new ByteWriter(RSDP_SIZE);
  w.ascii(RsdpOffset.SIGNATURE, 'RSD PTR ', 8)
    .ascii(RsdpOffset.OEM_ID, OEM_ID, 6)
    .u8(RsdpOffset.REVISION, 2)
    .u32(RsdpOffset.RSDT_ADDRESS, 0)
    .u32(RsdpOffset.LENGTH, RSDP_SIZE)
    .u64(RsdpOffset.XSDT_ADDRESS, xsdtAddress);
  // The first checksum covers bytes 0–19, the extended one all 36 (including the first checksum).
  w.u8(RsdpOffset.CHECKSUM, checksumOf(w.bytes.subarray(0, RSDP_V1_SIZE)));
  w.u8(RsdpOffset.EXTENDED_CHECKSUM, checksumOf(w.bytes));
  return w.bytes;
}
