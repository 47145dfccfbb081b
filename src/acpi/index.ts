// ACPI tables for nodevmm's platform: buildAcpiTables() is what the VM build calls.
export { buildAcpiTables, layoutAcpiTables, TABLE_ALIGNMENT } from './tables.js';
export type { AcpiTables, AcpiTablesOptions, AcpiTableImage, PlacedTable } from './tables.js';
export { buildDsdt, buildDsdtAml, type DsdtOptions } from './dsdt.js';
export { buildFadt } from './fadt.js';
export { buildMadt, type MadtOptions } from './madt.js';
export { buildRsdp } from './rsdp.js';
export { buildXsdt } from './xsdt.js';
