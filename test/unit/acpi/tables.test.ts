import test from 'ava';
import { buildAcpiTables, layoutAcpiTables, TABLE_ALIGNMENT, type AcpiTableImage } from '../../../src/acpi/tables.js';
import { byteSum, CREATOR_ID, OEM_ID, SDT_HEADER_SIZE } from '../../../src/acpi/sdt.js';
import { FadtOffset, FADT_SIZE, FadtFlag, IapcBootArch } from '../../../src/acpi/fadt.js';
import { RsdpOffset, RSDP_SIZE, RSDP_V1_SIZE } from '../../../src/acpi/rsdp.js';
import { buildDsdtAml } from '../../../src/acpi/dsdt.js';
import { eisaId, string } from '../../../src/acpi/aml.js';
import { GuestRam } from '../../../src/boot/guest-ram.js';
import { ACPI_TABLES_END, ACPI_TABLES_START, MiB, ramRegions } from '../../../src/boot/memory-layout.js';

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const ascii = (bytes: Uint8Array, at: number, n: number) => Buffer.from(bytes.subarray(at, at + n)).toString('latin1');

function tables(options: Partial<Parameters<typeof layoutAcpiTables>[0]> = {}) {
  const { images, rsdpAddress, end } = layoutAcpiTables({ vcpus: 2, serial: true, ...options });
  const bySignature = new Map(images.map((i) => [i.signature, i]));
  const get = (signature: string): AcpiTableImage => {
    const image = bySignature.get(signature);
    if (image === undefined) throw new Error(`no ${signature}`);
    return image;
  };
  return { images, rsdpAddress, end, get };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

test('layout: RSDP at 0xA0000, then XSDT, FACP, DSDT, APIC, aligned and inside the ACPI area', (t) => {
  const { images, rsdpAddress, end } = tables();
  t.is(rsdpAddress, 0xa0000);
  t.deepEqual(
    images.map((i) => i.signature),
    ['RSDP', 'XSDT', 'FACP', 'DSDT', 'APIC'],
  );
  for (let i = 0; i < images.length; i++) {
    const { signature, address, length, bytes } = images[i];
    t.is(address % TABLE_ALIGNMENT, 0, `${signature} aligned`);
    t.is(length, bytes.length);
    if (i > 0) t.true(address >= images[i - 1].address + images[i - 1].length, `${signature} after the previous table`);
  }
  const last = images[images.length - 1];
  t.is(end, last.address + last.length);
  t.true(end <= ACPI_TABLES_END);
  t.true(end - ACPI_TABLES_START < 2048, 'the whole set is small');
});

for (const vcpus of [1, 2, 8, 255]) {
  test(`every table's checksum sums to zero and its header is right (${vcpus} vCPUs)`, (t) => {
    const { images } = tables({ vcpus });
    const expected: Record<string, { revision: number; oemTableId: string }> = {
      XSDT: { revision: 1, oemTableId: 'NVMMXSDT' },
      FACP: { revision: 6, oemTableId: 'NVMMFACP' },
      DSDT: { revision: 2, oemTableId: 'NVMMDSDT' },
      APIC: { revision: 5, oemTableId: 'NVMMAPIC' },
    };
    for (const { signature, bytes } of images) {
      t.is(byteSum(bytes), 0, `${signature} checksum`);
      if (signature === 'RSDP') continue;
      const v = view(bytes);
      t.is(ascii(bytes, 0, 4), signature);
      t.is(v.getUint32(4, true), bytes.length, `${signature} length field`);
      t.is(bytes[8], expected[signature].revision, `${signature} revision`);
      t.is(ascii(bytes, 10, 6), OEM_ID);
      t.is(ascii(bytes, 16, 8), expected[signature].oemTableId);
      t.is(v.getUint32(24, true), 1, 'OEM revision');
      t.is(ascii(bytes, 28, 4), CREATOR_ID);
      t.is(v.getUint32(32, true), 1, 'creator revision');
    }
  });
}

test('RSDP: revision 2, both checksums, length 36, the XSDT address and no RSDT', (t) => {
  const { get } = tables();
  const rsdp = get('RSDP').bytes;
  const v = view(rsdp);
  t.is(rsdp.length, RSDP_SIZE);
  t.is(ascii(rsdp, 0, 8), 'RSD PTR ');
  t.is(byteSum(rsdp.subarray(0, RSDP_V1_SIZE)), 0, 'the ACPI 1.0 checksum covers the first 20 bytes');
  t.is(byteSum(rsdp), 0, 'the extended checksum covers all 36');
  t.is(ascii(rsdp, RsdpOffset.OEM_ID, 6), OEM_ID);
  t.is(rsdp[RsdpOffset.REVISION], 2);
  t.is(v.getUint32(RsdpOffset.RSDT_ADDRESS, true), 0);
  t.is(v.getUint32(RsdpOffset.LENGTH, true), 36);
  t.is(Number(v.getBigUint64(RsdpOffset.XSDT_ADDRESS, true)), get('XSDT').address);
  t.deepEqual([...rsdp.subarray(33, 36)], [0, 0, 0], 'reserved');
});

test('XSDT points at the FADT and the MADT (the DSDT is reached through the FADT)', (t) => {
  const { get } = tables();
  const xsdt = get('XSDT').bytes;
  const v = view(xsdt);
  t.is(xsdt.length, SDT_HEADER_SIZE + 16);
  t.is(Number(v.getBigUint64(36, true)), get('FACP').address);
  t.is(Number(v.getBigUint64(44, true)), get('APIC').address);
});

test('FADT: HW-reduced, sleep control/status and reset registers as 1-byte GAS at port 0x600', (t) => {
  const { get } = tables();
  const fadt = get('FACP').bytes;
  const v = view(fadt);
  t.is(fadt.length, FADT_SIZE);
  t.is(fadt.length, 276, 'the ACPI 6.x FADT size');
  const gas = (offset: number) => ({
    space: fadt[offset],
    bitWidth: fadt[offset + 1],
    bitOffset: fadt[offset + 2],
    accessSize: fadt[offset + 3],
    address: Number(v.getBigUint64(offset + 4, true)),
  });
  const port600 = { space: 1, bitWidth: 8, bitOffset: 0, accessSize: 1, address: 0x600 };
  t.is(FadtOffset.RESET_REG, 116);
  t.is(FadtOffset.SLEEP_CONTROL_REG, 244);
  t.is(FadtOffset.SLEEP_STATUS_REG, 256);
  t.is(FadtOffset.X_PM_TMR_BLK, 208);
  t.deepEqual(gas(116), port600, 'RESET_REG');
  t.deepEqual(gas(244), port600, 'SLEEP_CONTROL_REG');
  t.deepEqual(gas(256), port600, 'SLEEP_STATUS_REG');
  t.is(fadt[128], 1, 'RESET_VALUE');
  t.deepEqual(gas(208), { space: 1, bitWidth: 32, bitOffset: 0, accessSize: 3, address: 0x608 }, 'X_PM_TMR_BLK');
  t.is(v.getUint32(76, true), 0x608, 'PM_TMR_BLK agrees');
  t.is(fadt[91], 4, 'PM_TMR_LEN agrees');

  const flags = v.getUint32(112, true);
  t.truthy(flags & FadtFlag.HW_REDUCED_ACPI);
  t.is(flags & (1 << 20), 1 << 20, 'HW_REDUCED_ACPI is bit 20');
  t.is(flags & (1 << 10), 1 << 10, 'RESET_REG_SUP is bit 10');
  t.is(flags & (1 << 8), 1 << 8, 'TMR_VAL_EXT is bit 8');
  t.is(flags & 0b11_0000, 0b11_0000, 'power and sleep buttons are control-method devices, not fixed features');

  t.is(fadt[108], 0x32, 'CENTURY is CMOS index 0x32');
  const boot = v.getUint16(109, true);
  t.is(boot, IapcBootArch.VGA_NOT_PRESENT, 'IAPC_BOOT_ARCH: no VGA, no 8042, RTC present, MSI allowed');
  t.is(v.getUint16(46, true), 0, 'SCI_INT: none on a HW-reduced platform');
  t.is(v.getUint32(48, true), 0, 'SMI_CMD: none');
  t.is(v.getUint32(36, true), 0, 'FIRMWARE_CTRL: no FACS');
  t.is(v.getUint32(40, true), 0, '32-bit DSDT left 0');
  t.is(Number(v.getBigUint64(140, true)), get('DSDT').address, 'X_DSDT');
  t.is(fadt[131], 3, 'FADT minor version: 6.3');
  t.is(ascii(fadt, 268, 8), 'NODEVMM ', 'hypervisor vendor identity');
});

interface MadtEntry {
  type: number;
  bytes: Uint8Array;
}

function madtEntries(madt: Uint8Array): MadtEntry[] {
  const entries: MadtEntry[] = [];
  for (let at = 44; at < madt.length; ) {
    const length = madt[at + 1];
    if (length < 2) throw new Error(`MADT entry at ${at} has length ${length}`);
    entries.push({ type: madt[at], bytes: madt.subarray(at, at + length) });
    at += length;
  }
  return entries;
}

for (const vcpus of [1, 2, 8]) {
  test(`MADT for ${vcpus} vCPU(s): one enabled local APIC each, the IOAPIC, IRQ0 → GSI 2, LINT1 NMI`, (t) => {
    const { get } = tables({ vcpus });
    const madt = get('APIC').bytes;
    const v = view(madt);
    t.is(v.getUint32(36, true), 0xfee00000, 'local APIC address');
    t.is(v.getUint32(40, true), 1, 'PCAT_COMPAT: the in-kernel irqchip has the 8259 pair');
    const entries = madtEntries(madt);
    const lapics = entries.filter((e) => e.type === 0);
    t.is(lapics.length, vcpus);
    lapics.forEach(({ bytes }, id) => {
      t.is(bytes[1], 8);
      t.is(bytes[2], id, 'ACPI processor UID = vCPU id');
      t.is(bytes[3], id, 'APIC id = vCPU id');
      t.is(view(bytes).getUint32(4, true), 1, 'enabled');
    });
    const ioapics = entries.filter((e) => e.type === 1);
    t.is(ioapics.length, 1);
    const io = view(ioapics[0].bytes);
    t.is(ioapics[0].bytes[1], 12);
    t.is(ioapics[0].bytes[2], 0, 'IOAPIC id');
    t.is(io.getUint32(4, true), 0xfec00000);
    t.is(io.getUint32(8, true), 0, 'GSI base');
    const overrides = entries.filter((e) => e.type === 2);
    t.is(overrides.length, 1, 'only the timer override: no SCI on a HW-reduced platform');
    const iso = view(overrides[0].bytes);
    t.deepEqual([...overrides[0].bytes.subarray(1, 4)], [10, 0, 0], 'length 10, bus ISA, source IRQ 0');
    t.is(iso.getUint32(4, true), 2, 'GSI 2');
    t.is(iso.getUint16(8, true), 0, 'flags: conforms to the bus (edge, active high)');
    const nmis = entries.filter((e) => e.type === 4);
    t.is(nmis.length, 1);
    t.deepEqual([...nmis[0].bytes], [4, 6, 0xff, 0x05, 0x00, 1], 'all processors, edge/high, LINT1');
    t.is(madt.length, 44 + 8 * vcpus + 12 + 10 + 6);
  });
}

test('MADT with timerGsi 0 (KVM default routing) writes no override', (t) => {
  const madt = tables({ timerGsi: 0 }).get('APIC').bytes;
  t.is(madtEntries(madt).filter((e) => e.type === 2).length, 0);
  t.is(byteSum(madt), 0);
});

test('vCPU counts outside 1..255 are refused', (t) => {
  for (const vcpus of [0, 256, 1.5, -1]) {
    t.throws(() => layoutAcpiTables({ vcpus, serial: false }), { instanceOf: RangeError }, String(vcpus));
  }
});

test('DSDT describes _S5_, the RTC, the power button and the GED always, COM1 only with a serial port', (t) => {
  const withSerial = buildDsdtAml({ serial: true });
  const without = buildDsdtAml({ serial: false });
  for (const aml of [withSerial, without]) {
    t.true(contains(aml, Buffer.from('_S5_')));
    t.true(contains(aml, eisaId('PNP0B00')));
    t.true(contains(aml, eisaId('PNP0C0C')));
    t.true(contains(aml, string('ACPI0013')));
  }
  t.true(contains(withSerial, eisaId('PNP0501')));
  t.false(contains(without, eisaId('PNP0501')));
  t.false(contains(without, Buffer.from('COM1')));
  const bare = buildDsdtAml({ serial: false, powerButton: false });
  t.false(contains(bare, string('ACPI0013')));
  t.true(contains(bare, Buffer.from('_S5_')));
  t.true(contains(bare, eisaId('PNP0B00')));
});

function dirtyRam(): GuestRam {
  const ram = GuestRam.allocate(ramRegions(32 * MiB));
  ram.fill(0, 2 * MiB, 0xee); // as if an earlier boot had left bytes behind
  return ram;
}

test('buildAcpiTables writes every table into guest RAM and zeroes the gaps between them', (t) => {
  const ram = dirtyRam();
  const result = buildAcpiTables(ram, { vcpus: 4, serial: true });
  const { images, end } = layoutAcpiTables({ vcpus: 4, serial: true });
  t.is(result.rsdpAddress, 0xa0000);
  t.is(result.end, end);
  t.deepEqual(
    result.tables,
    images.map(({ signature, address, length }) => ({ signature, address, length })),
  );
  for (const { signature, address, bytes } of images) {
    t.deepEqual([...ram.read(address, bytes.length)], [...bytes], signature);
  }
  const covered = new Set<number>();
  for (const { address, length } of images) for (let a = address; a < address + length; a++) covered.add(a);
  for (let a = result.rsdpAddress; a < end; a++) {
    if (!covered.has(a) && ram.readU8(a) !== 0) t.fail(`gap byte at 0x${a.toString(16)} is not zeroed`);
  }
  t.is(ram.readU8(end), 0xee, 'nothing written past the last table');
  t.is(ram.readU8(0xa0000 - 1), 0xee, 'nothing written before the RSDP');
  // The XSDT in RAM leads to tables whose signatures are where it says.
  const xsdt = ram.readU64(0xa0000 + RsdpOffset.XSDT_ADDRESS);
  for (const [i, signature] of ['FACP', 'APIC'].entries()) {
    const address = Number(ram.readU64(Number(xsdt) + 36 + 8 * i));
    t.is(Buffer.from(ram.read(address, 4)).toString(), signature);
  }
});

test('buildAcpiTables refuses to overflow its area and writes nothing then', (t) => {
  const ram = dirtyRam();
  const area = { start: 0xa0000, end: 0xa0000 + 512 };
  const error = t.throws(() => buildAcpiTables(ram, { vcpus: 2, serial: true, area }), { instanceOf: RangeError });
  t.regex(error?.message ?? '', /more than the 512 bytes/);
  t.is(ram.readU8(0xa0000), 0xee);
  // The whole default area is far larger than the tables, even with the most vCPUs.
  t.notThrows(() => buildAcpiTables(ram, { vcpus: 255, serial: true }));
});

test('buildAcpiTables refuses an area outside guest RAM', (t) => {
  const ram = GuestRam.allocate(ramRegions(32 * MiB));
  t.throws(() => buildAcpiTables(ram, { vcpus: 1, serial: false, area: { start: 64 * MiB, end: 64 * MiB + 4096 } }), {
    instanceOf: RangeError,
    message: /not inside guest RAM/,
  });
  t.throws(() => layoutAcpiTables({ vcpus: 1, serial: false, area: { start: 0x1000, end: 0x1000 } }), {
    instanceOf: RangeError,
  });
});
