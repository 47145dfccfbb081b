// The Extended System Description Table (ACPI 6.x §5.2.8): 64-bit pointers to every other table
// except the DSDT (the FADT points at that) and the FACS (none: a hardware-reduced platform needs none).
import { sdt, SDT_HEADER_SIZE } from './sdt.js';

export const XSDT_REVISION = 1;

export function xsdtSize(entries: number): number {
  return SDT_HEADER_SIZE + 8 * entries;
}

export function buildXsdt(tableAddresses: readonly number[]): Uint8Array {
  const body = new Uint8Array(8 * tableAddresses.length);
  const view = new DataView(body.buffer);
  tableAddresses.forEach((address, i) => view.setBigUint64(8 * i, BigInt(address), true));
  return sdt({ signature: 'XSDT', revision: XSDT_REVISION, oemTableId: 'NVMMXSDT' }, body);
}
