// Checks the tables with Intel's own tool, iasl (Debian: acpica-tools): each table must disassemble
// without a warning, the DSDT must equal what iasl compiles from the equivalent ASL, and every AML
// construct's expected bytes must be iasl's. Without iasl these tests fail, saying how to install it.
import test from 'ava';
import { layoutAcpiTables } from '../../../src/acpi/tables.js';
import { buildDsdtAml } from '../../../src/acpi/dsdt.js';
import { virtioPlacement } from '../../../src/devices/addresses.js';
import { AML_CASES, toHex } from './aml-cases.js';
import { acpiexec, compile, compileBody, disassemble, disassemblyProblems } from './iasl.js';

function image(signature: string, vcpus = 2, serial = true) {
  const found = layoutAcpiTables({ vcpus, serial }).images.find((i) => i.signature === signature);
  if (found === undefined) throw new Error(`no ${signature}`);
  return found;
}

for (const signature of ['XSDT', 'FACP', 'DSDT', 'APIC']) {
  test(`iasl disassembles the ${signature} without errors, warnings or checksum complaints`, (t) => {
    const result = disassemble(image(signature).bytes);
    t.deepEqual(disassemblyProblems(result), [], result.log);
  });
}

test('the problem check itself sees a bad checksum and a broken name', (t) => {
  const fadt = image('FACP').bytes.slice();
  fadt[9] ^= 0xff;
  t.true(disassemblyProblems(disassemble(fadt)).some((line) => /checksum/i.test(line)));
  const dsdt = image('DSDT').bytes.slice();
  const at = Buffer.from(dsdt).indexOf('PWRB');
  dsdt[at] = 0xff; // an invalid name character, checksum now wrong too
  t.true(disassemblyProblems(disassemble(dsdt)).length > 0);
});

test('iasl: the DSDT has _S5_ {5, 5, 0, 0}, COM1 (PNP0501), the RTC (PNP0B00), the power button (PNP0C0C) and the GED (ACPI0013)', (t) => {
  const { dsl } = disassemble(image('DSDT').bytes);
  t.regex(dsl, /Name \(_S5, Package \(0x04\)[^{]*\{\s*0x05,\s*0x05,\s*Zero,\s*Zero\s*\}/);
  t.regex(dsl, /EisaId \("PNP0501"\)/);
  t.regex(dsl, /IO \(Decode16,\s*0x03F8,\s*\/\/ Range Minimum\s*0x03F8,\s*\/\/ Range Maximum\s*0x00,\s*\/\/ Alignment\s*0x08,/);
  t.regex(dsl, /IRQNoFlags \(\)\s*\{4\}/);
  // the CMOS RTC: ports 0x70-0x71 and no IRQ (Linux's rtc-cmos then runs without alarm interrupts)
  t.regex(dsl, /Device \(RTC\)\s*\{\s*Name \(_HID, EisaId \("PNP0B00"\)/);
  t.regex(dsl, /IO \(Decode16,\s*0x0070,\s*\/\/ Range Minimum\s*0x0070,\s*\/\/ Range Maximum\s*0x01,\s*\/\/ Alignment\s*0x02,/);
  t.notRegex(dsl, /IRQNoFlags \(\)\s*\{8\}/);
  t.regex(dsl, /EisaId \("PNP0C0C"\)/);
  t.regex(dsl, /"ACPI0013"/);
  t.regex(dsl, /Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s*\{\s*0x00000005,/);
  t.regex(dsl, /OperationRegion \(GDRG, SystemMemory, 0xFECFF000, 0x10\)/);
  t.regex(dsl, /Method \(_EVT, 1, Serialized\)/);
  t.regex(dsl, /Notify \(\\_SB\.PWRB, 0x80\)/);
});

const evt = (regionFill: number) => acpiexec(image('DSDT').bytes, 'execute \\_SB.GED._EVT 5', regionFill);
const notifies = (log: string) => log.match(/Notify on \[PWRB\][^\n]*Value 0x80/g)?.length ?? 0;
const gedReads = (log: string) => log.match(/SystemMemory Read : Val [0-9A-F]+ Addr FECFF000 BitWidth 20/g)?.length ?? 0;

test('acpiexec: _EVT reads the GED event register once, 32 bits, and notifies PWRB (0x80) for bit 0', (t) => {
  const log = evt(0x01);
  t.is(gedReads(log), 1, log);
  t.is(notifies(log), 1, log);
  t.notRegex(log, /AE_|Error|Warning/, log);
});

test('acpiexec: _EVT notifies nothing when the power-button bit is clear', (t) => {
  for (const fill of [0x00, 0xfe]) {
    const log = evt(fill);
    t.is(gedReads(log), 1, log);
    t.is(notifies(log), 0, log);
  }
});

test('acpiexec: \\_S5_ evaluates to {5, 5, 0, 0}', (t) => {
  const log = acpiexec(image('DSDT').bytes, 'evaluate \\_S5_', 0);
  t.regex(log, /\[Package\] Contains 4 Elements:\s+\[Integer\] = 0+5\s+\[Integer\] = 0+5\s+\[Integer\] = 0+\s+\[Integer\] = 0+\s/);
});

test('iasl: without a serial port the DSDT has no COM1', (t) => {
  const result = disassemble(image('DSDT', 1, false).bytes);
  t.deepEqual(disassemblyProblems(result), [], result.log);
  t.notRegex(result.dsl, /PNP0501|COM1/);
  t.regex(result.dsl, /ACPI0013/);
  t.regex(result.dsl, /PNP0B00/);
});

test('iasl: the FADT shows the reset register at 0x600 with value 1, HW-reduced, PM timer at 0x608', (t) => {
  const { dsl } = disassemble(image('FACP').bytes);
  const gasAfter = (title: string) => {
    const at = dsl.indexOf(title);
    t.not(at, -1, title);
    return dsl.slice(at, at + 600);
  };
  const reset = gasAfter('Reset Register :');
  t.regex(reset, /Space ID : 01 \[SystemIO\]/);
  t.regex(reset, /Bit Width : 08/);
  t.regex(reset, /Address : 0000000000000600/);
  t.regex(dsl, /Value to cause reset : 01/);
  t.regex(dsl, /Reset Register Supported \(V2\) : 1/);
  t.regex(dsl, /Hardware Reduced \(V5\) : 1/);
  t.regex(dsl, /32-bit PM Timer \(V1\) : 1/);
  t.regex(dsl, /RTC Century Index : 32/);
  t.regex(dsl, /VGA Not Present \(V4\) : 1/);
  t.regex(dsl, /8042 Present on ports 60\/64 \(V2\) : 0/);
  for (const title of ['Sleep Control Register :', 'Sleep Status Register :']) {
    t.regex(gasAfter(title), /Space ID : 01 \[SystemIO\][\s\S]*Bit Width : 08[\s\S]*Address : 0000000000000600/);
  }
  t.regex(gasAfter('PM Timer Block :'), /Space ID : 01 \[SystemIO\][\s\S]*Bit Width : 20[\s\S]*Address : 0000000000000608/);
});

for (const vcpus of [1, 2, 8]) {
  test(`iasl: the MADT for ${vcpus} vCPU(s) lists ${vcpus} local APIC(s), one IOAPIC and the IRQ 0 override`, (t) => {
    const result = disassemble(image('APIC', vcpus).bytes);
    t.deepEqual(disassemblyProblems(result), [], result.log);
    const { dsl } = result;
    t.is(dsl.match(/Subtable Type : 00 \[Processor Local APIC\]/g)?.length, vcpus);
    for (let id = 0; id < vcpus; id++) {
      const hexId = id.toString(16).toUpperCase().padStart(2, '0');
      t.regex(dsl, new RegExp(`Processor ID : ${hexId}\\n.*Local Apic ID : ${hexId}\\n`), `vCPU ${id}`);
    }
    t.is(dsl.match(/Processor Enabled : 1/g)?.length, vcpus);
    t.is(dsl.match(/Subtable Type : 01 \[I\/O APIC\]/g)?.length, 1);
    t.regex(dsl, /Address : FEC00000/);
    t.regex(dsl, /Local Apic Address : FEE00000/);
    t.regex(dsl, /Subtable Type : 02 \[Interrupt Source Override\][\s\S]*Source : 00[\s\S]*Interrupt : 00000002/);
    t.regex(dsl, /Subtable Type : 04 \[Local APIC NMI\][\s\S]*Interrupt Input LINT : 01/);
  });
}

test('iasl compiles the RSDP source for the same fields to exactly our RSDP (checksums included)', (t) => {
  const { images } = layoutAcpiTables({ vcpus: 1, serial: false });
  const rsdp = images[0];
  const xsdtAddress = images[1].address.toString(16).toUpperCase().padStart(16, '0');
  const source = [
    '[0008] Signature : "RSD PTR "',
    '[0001] Checksum : 00',
    '[0006] Oem ID : "NODEVM"',
    '[0001] Revision : 02',
    '[0004] RSDT Address : 00000000',
    '[0004] Length : 00000024',
    `[0008] XSDT Address : ${xsdtAddress}`,
    '[0001] Extended Checksum : 00',
    '[0003] Reserved : 000000',
    '',
  ].join('\n');
  t.is(toHex(compile(source).output), toHex(rsdp.bytes));
});

test('iasl compiles the equivalent ASL to exactly our DSDT AML', (t) => {
  const asl = `
    Name (_S5_, Package (0x04) { 0x05, 0x05, Zero, Zero })
    Scope (\\_SB_)
    {
      Device (COM1)
      {
        Name (_HID, EisaId ("PNP0501"))
        Name (_UID, Zero)
        Name (_CRS, ResourceTemplate () { IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08) IRQNoFlags () {4} })
      }
      Device (RTC_)
      {
        Name (_HID, EisaId ("PNP0B00"))
        Name (_UID, Zero)
        Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0070, 0x0070, 0x01, 0x02) })
      }
      Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, Zero) }
      Device (GED_)
      {
        Name (_HID, "ACPI0013")
        Name (_UID, Zero)
        Name (_CRS, ResourceTemplate () { Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { 5 } })
        OperationRegion (GDRG, SystemMemory, 0xFECFF000, 0x10)
        Field (GDRG, DWordAcc, NoLock, Preserve) { GEVT, 32 }
        Method (_EVT, 1, Serialized)
        {
          Local0 = GEVT
          If ((Local0 & One)) { Notify (\\_SB_.PWRB, 0x80) }
        }
      }
    }`;
  t.is(toHex(buildDsdtAml({ serial: true })), toHex(compileBody(asl)));
});

for (const c of AML_CASES) {
  test(`iasl emits the expected bytes: ${c.title}`, (t) => {
    t.is(toHex(compileBody(c.asl)), c.hex);
  });
}

test('iasl: virtio-mmio devices are LNRO0005 with their 4 KiB window and an edge-triggered interrupt', (t) => {
  const virtio = [0, 1].map((i) => virtioPlacement(i));
  const dsdt = layoutAcpiTables({ vcpus: 1, serial: true, virtio }).images.find((i) => i.signature === 'DSDT')!;
  const result = disassemble(dsdt.bytes);
  t.deepEqual(disassemblyProblems(result), [], result.log);
  t.regex(result.dsl, /Device \(VR00\)\s*\{\s*Name \(_HID, "LNRO0005"\)[^\n]*\s*Name \(_UID, Zero\)/);
  t.regex(result.dsl, /Device \(VR01\)\s*\{\s*Name \(_HID, "LNRO0005"\)[^\n]*\s*Name \(_UID, One\)/);
  t.regex(result.dsl, /Memory32Fixed \(ReadWrite,\s*0xD0000000,\s*\/\/ Address Base\s*0x00001000,/);
  t.regex(result.dsl, /Memory32Fixed \(ReadWrite,\s*0xD0001000,/);
  t.regex(result.dsl, /Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s*\{\s*0x00000010,/);
  t.regex(result.dsl, /Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s*\{\s*0x00000011,/);
  t.notRegex(disassemble(image('DSDT').bytes).dsl, /LNRO0005/, 'none without devices');
});
