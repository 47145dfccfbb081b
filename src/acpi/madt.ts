// The Multiple APIC Description Table (ACPI 6.x §5.2.12): the interrupt controllers of KVM's in-kernel
// irqchip. Debian's kernel has no MP-table support, so this is how it finds the vCPUs beyond the first.
import { sdt } from './sdt.js';

export const MADT_REVISION = 5;
export const LOCAL_APIC_ADDRESS = 0xfee0_0000;
export const IOAPIC_ADDRESS = 0xfec0_0000;
/**
 * The IOAPIC's id. KVM's in-kernel IOAPIC resets its ID register to 0, so the table says the same.
 * It may equal a local APIC id: only the pre-Pentium 4 APIC bus needed them distinct, and Linux on
 * x86-64 checks uniqueness among IOAPICs only (QEMU and Firecracker use 0 too).
 */
export const IOAPIC_ID = 0;
/** The IOAPIC's first GSI: it serves GSIs 0–23. */
export const IOAPIC_GSI_BASE = 0;
/** APIC id 0xFF is the xAPIC broadcast address, so 0–254 are usable (x2APIC entries would go beyond). */
export const MAX_VCPUS = 255;

export const MadtEntryType = {
  LOCAL_APIC: 0,
  IO_APIC: 1,
  INTERRUPT_SOURCE_OVERRIDE: 2,
  LOCAL_APIC_NMI: 4,
} as const;

/** MADT flags: PCAT_COMPAT. */
export const MADT_PCAT_COMPAT = 1 << 0;
/** Local APIC flags: Enabled. */
export const LOCAL_APIC_ENABLED = 1 << 0;
/** MPS INTI flags: polarity bits 1:0, trigger bits 3:2; 0 means "conforms to the bus" (ISA: edge, high). */
export const MpsInti = {
  CONFORMS: 0,
  ACTIVE_HIGH: 0b01,
  ACTIVE_LOW: 0b11,
  EDGE: 0b01 << 2,
  LEVEL: 0b11 << 2,
} as const;
/** ACPI processor UID 0xFF in a Local APIC NMI entry: all processors. */
export const ALL_PROCESSORS = 0xff;

export interface MadtOptions {
  vcpus: number;
  /**
   * The GSI on which ISA IRQ 0, the in-kernel PIT, arrives. 2 (as on PCs and QEMU) is written as an
   * Interrupt Source Override and needs the VMM to route GSI 0 to IOAPIC pin 2 (KVM_SET_GSI_ROUTING);
   * 0 matches KVM's default routing (GSI n → IOAPIC pin n) and writes no override.
   */
  timerGsi: 0 | 2;
}

function localApic(uid: number, apicId: number): number[] {
  return [MadtEntryType.LOCAL_APIC, 8, uid, apicId, ...u32le(LOCAL_APIC_ENABLED)];
}

function ioApic(id: number, address: number, gsiBase: number): number[] {
  return [MadtEntryType.IO_APIC, 12, id, 0, ...u32le(address), ...u32le(gsiBase)];
}

function interruptSourceOverride(isaIrq: number, gsi: number, flags: number): number[] {
  return [MadtEntryType.INTERRUPT_SOURCE_OVERRIDE, 10, 0 /* bus: ISA */, isaIrq, ...u32le(gsi), ...u16le(flags)];
}

function localApicNmi(uid: number, flags: number, lint: number): number[] {
  return [MadtEntryType.LOCAL_APIC_NMI, 6, uid, ...u16le(flags), lint];
}

function u16le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff];
}

function u32le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

export function checkVcpuCount(vcpus: number): void {
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) {
    throw new RangeError(`vCPU count ${vcpus} must be a whole number from 1 to ${MAX_VCPUS} for the MADT`);
  }
}

export function buildMadt({ vcpus, timerGsi }: MadtOptions): Uint8Array {
  checkVcpuCount(vcpus);
  const entries: number[] = [];
  // vCPU n has APIC id n (cpu-setup gives each vCPU that id) and ACPI processor UID n.
  for (let id = 0; id < vcpus; id++) entries.push(...localApic(id, id));
  entries.push(...ioApic(IOAPIC_ID, IOAPIC_ADDRESS, IOAPIC_GSI_BASE));
  if (timerGsi !== 0) entries.push(...interruptSourceOverride(0, timerGsi, MpsInti.CONFORMS));
  // No SCI override: a hardware-reduced platform has no SCI. Every other ISA IRQ is identity-mapped.
  // LINT1 of every local APIC is wired to NMI, as on every PC (edge, active high).
  entries.push(...localApicNmi(ALL_PROCESSORS, MpsInti.ACTIVE_HIGH | MpsInti.EDGE, 1));

  const body = new Uint8Array(8 + entries.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, LOCAL_APIC_ADDRESS, true);
  // PCAT_COMPAT: KVM_CREATE_IRQCHIP does create the two 8259 PICs; the OS masks them when it uses APICs.
  view.setUint32(4, MADT_PCAT_COMPAT, true);
  body.set(entries, 8);
  return sdt({ signature: 'APIC', revision: MADT_REVISION, oemTableId: 'NVMMAPIC' }, body);
}
