// AML constructs with the bytes iasl 20200925 (Debian's acpica-tools) emits for the same ASL, compiled
// with `iasl -on` (no name-path optimization) inside
//   DefinitionBlock ("", "SSDT", 2, "NODEVM", "TEST", 1) { <asl> }
// `hex` is that block's body (everything after the 36-byte header). aml.test.ts checks the encoder
// against `hex`; iasl.test.ts recompiles `asl` to check `hex` itself.
import {
  and,
  arg,
  buffer,
  concat,
  device,
  eisaId,
  field,
  FieldAccess,
  FieldUpdate,
  fixedIo,
  ifThen,
  integer,
  interrupt,
  io,
  irqNoFlags,
  lAnd,
  lEqual,
  lNot,
  local,
  memory32Fixed,
  method,
  name,
  notify,
  One,
  Ones,
  operationRegion,
  or,
  orElse,
  pkg,
  ref,
  RegionSpace,
  resourceTemplate,
  ret,
  scope,
  store,
  string,
  Zero,
  type Aml,
} from '../../../src/acpi/aml.js';

export interface AmlCase {
  title: string;
  asl: string;
  build: () => Aml;
  hex: string;
}

const bytes5a = (n: number) => new Array<number>(n).fill(0x5a);
const aslBytes5a = (n: number) => new Array<string>(n).fill('0x5A').join(', ');

export const AML_CASES: readonly AmlCase[] = [
  {
    title: 'Zero, One, Ones',
    asl: 'Name (INT0, Zero) Name (INT1, One) Name (INT2, Ones)',
    build: () => concat(name('INT0', Zero), name('INT1', One), name('INT2', Ones)),
    hex: '08494e54300008494e54310108494e5432ff',
  },
  {
    title: 'integers take the shortest prefix: Byte, Word, DWord, QWord',
    asl:
      'Name (INT3, 0x05) Name (INT4, 0x03F8) Name (INT5, 0xFECFF000) Name (INT6, 0x0000000100000000) ' +
      'Name (INT7, 0xFFFFFFFFFFFFFFFF) Name (INT8, 0xFF) Name (INT9, 0x0100)',
    build: () =>
      concat(
        name('INT3', integer(5)),
        name('INT4', integer(0x3f8)),
        name('INT5', integer(0xfecff000)),
        name('INT6', integer(0x1_0000_0000)),
        // iasl turns the all-ones constant into Ones; the encoder keeps integer() literal
        name('INT7', Ones),
        name('INT8', integer(0xff)),
        name('INT9', integer(0x100)),
      ),
    hex:
      '08494e54330a0508494e54340bf80308494e54350c00f0cffe08494e54360e0000000001000000' +
      '08494e5437ff08494e54380aff08494e54390b0001',
  },
  {
    title: 'String and Buffer',
    asl: 'Name (STR0, "ACPI0013") Name (BUF0, Buffer () { 0x01, 0x02, 0x03 })',
    build: () => concat(name('STR0', string('ACPI0013')), name('BUF0', buffer([1, 2, 3]))),
    hex: '08535452300d414350493030313300084255463011060a03010203',
  },
  {
    title: 'a Buffer whose package length takes 2 bytes',
    asl: `Name (BUF1, Buffer () { ${aslBytes5a(100)} })`,
    build: () => name('BUF1', buffer(bytes5a(100))),
    hex: '08425546311148060a64' + '5a'.repeat(100),
  },
  {
    title: 'a Buffer whose package length takes 3 bytes',
    asl: `Name (BUF2, Buffer () { ${aslBytes5a(5000)} })`,
    build: () => name('BUF2', buffer(bytes5a(5000))),
    hex: '0842554632118e38010b8813' + '5a'.repeat(5000),
  },
  {
    title: 'Package, flat and nested (the _S5_ shape)',
    asl:
      'Name (PKG0, Package () { 0x05, 0x05, Zero, Zero }) ' +
      'Name (PKG1, Package () { "A", Package () { One }, Buffer () { 0xAA } })',
    build: () =>
      concat(
        name('PKG0', pkg(integer(5), integer(5), Zero, Zero)),
        name('PKG1', pkg(string('A'), pkg(One), buffer([0xaa]))),
      ),
    hex: '08504b47301208040a050a05000008504b4731120d030d410012030101110301aa',
  },
  {
    title: 'EisaId',
    asl: 'Name (EID0, EisaId ("PNP0C0C")) Name (EID1, EisaId ("PNP0501"))',
    build: () => concat(name('EID0', eisaId('PNP0C0C')), name('EID1', eisaId('PNP0501'))),
    hex: '08454944300c41d00c0c08454944310c41d00501',
  },
  {
    title: 'Device with _HID and _UID',
    asl: 'Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, Zero) }',
    build: () => device('PWRB', name('_HID', eisaId('PNP0C0C')), name('_UID', Zero)),
    hex: '5b821550575242085f4849440c41d00c0c085f55494400',
  },
  {
    title: 'Scope with an absolute path',
    asl: 'Scope (\\_SB_) { Name (NAM0, One) }',
    build: () => scope('\\_SB_', name('NAM0', One)),
    hex: '100c5c5f53425f084e414d3001',
  },
  {
    title: 'name paths: multi-segment from the root, dual-segment, parent prefix',
    asl:
      'Device (DEV0) { Name (_ADR, Zero) Device (DEV1) { Name (_ADR, Zero) Device (DEV2) { Name (_ADR, Zero) } } } ' +
      'Scope (\\DEV0.DEV1.DEV2) { Name (NAM0, One) } Scope (DEV0.DEV1) { Name (^NAM1, One) }',
    build: () =>
      concat(
        device('DEV0', name('_ADR', Zero), device('DEV1', name('_ADR', Zero), device('DEV2', name('_ADR', Zero)))),
        scope('\\DEV0.DEV1.DEV2', name('NAM0', One)),
        scope('DEV0.DEV1', name('^NAM1', One)),
      ),
    hex:
      '5b822544455630085f414452005b821844455631085f414452005b820b44455632085f41445200' +
      '10165c2f03444556304445563144455632084e414d300110112e4445563044455631085e4e414d3101',
  },
  {
    title: 'Method, NotSerialized, Return (Arg1)',
    asl: 'Method (MTH0, 2, NotSerialized) { Return (Arg1) }',
    build: () => method('MTH0', 2, false, ret(arg(1))),
    hex: '14084d54483002a469',
  },
  {
    title: 'Method, Serialized: Store, And, If, Notify (the _EVT shape)',
    asl:
      'Device (BTN0) { Name (_HID, EisaId ("PNP0C0C")) } ' +
      'Method (MTH1, 1, Serialized) { Local0 = Arg0 If ((Local0 & One)) { Notify (\\BTN0, 0x80) } }',
    build: () =>
      concat(
        device('BTN0', name('_HID', eisaId('PNP0C0C'))),
        method(
          'MTH1',
          1,
          true,
          store(arg(0), local(0)),
          ifThen(and(local(0), One), notify(ref('\\BTN0'), integer(0x80))),
        ),
      ),
    hex: '5b820f42544e30085f4849440c41d00c0c14174d54483109706860a00d7b600100865c42544e300a80',
  },
  {
    title: 'LEqual, LAnd, LNot, Or, Else',
    asl:
      'Method (MTH2, 2, NotSerialized) { If (((Arg0 == 0x05) && !Arg1)) { Return (Or (Arg0, 0x10)) } ' +
      'Else { Return (Zero) } }',
    build: () =>
      method(
        'MTH2',
        2,
        false,
        ifThen(lAnd(lEqual(arg(0), integer(5)), lNot(arg(1))), ret(or(arg(0), integer(0x10)))),
        orElse(ret(Zero)),
      ),
    hex: '14194d54483202a00e9093680a059269a47d680a1000a103a400',
  },
  {
    title: 'OperationRegion (SystemIO) and a Field with ByteAcc, Lock, WriteAsZeros and an Offset',
    asl:
      'OperationRegion (PMIO, SystemIO, 0x0600, 0x10) ' +
      'Field (PMIO, ByteAcc, Lock, WriteAsZeros) { SLPC, 8, Offset (0x08), PMTM, 32 }',
    build: () =>
      concat(
        operationRegion('PMIO', RegionSpace.SystemIO, 0x600, 0x10),
        field('PMIO', { access: FieldAccess.ByteAcc, lock: true, update: FieldUpdate.WriteAsZeros }, [
          { name: 'SLPC', bits: 8 },
          { skip: 56 },
          { name: 'PMTM', bits: 32 },
        ]),
      ),
    hex: '5b80504d494f010b00060a105b8112504d494f51534c5043080038504d544d20',
  },
  {
    title: 'OperationRegion (SystemMemory) and a DWordAcc Field (the GED register)',
    asl:
      'OperationRegion (GDRG, SystemMemory, 0xFECFF000, 0x10) ' +
      'Field (GDRG, DWordAcc, NoLock, Preserve) { GEVT, 32 }',
    build: () =>
      concat(
        operationRegion('GDRG', RegionSpace.SystemMemory, 0xfecff000, 0x10),
        field('GDRG', { access: FieldAccess.DWordAcc, lock: false, update: FieldUpdate.Preserve }, [
          { name: 'GEVT', bits: 32 },
        ]),
      ),
    hex: '5b8047445247000c00f0cffe0a105b810b47445247034745565420',
  },
  {
    title: 'a field whose bit length takes 2 bytes, WriteAsOnes',
    asl:
      'OperationRegion (BIGR, SystemMemory, 0x1000, 0x0100) ' +
      'Field (BIGR, AnyAcc, NoLock, WriteAsOnes) { BIG0, 1024 }',
    build: () =>
      concat(
        operationRegion('BIGR', RegionSpace.SystemMemory, 0x1000, 0x100),
        field('BIGR', { access: FieldAccess.AnyAcc, lock: false, update: FieldUpdate.WriteAsOnes }, [
          { name: 'BIG0', bits: 1024 },
        ]),
      ),
    hex: '5b8042494752000b00100b00015b810c4249475220424947304040',
  },
  {
    title: 'ResourceTemplate: IO (Decode16) and IRQNoFlags (COM1)',
    asl: 'Name (CRS0, ResourceTemplate () { IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08) IRQNoFlags () {4} })',
    build: () =>
      name('CRS0', resourceTemplate(io({ min: 0x3f8, max: 0x3f8, alignment: 0, length: 8 }), irqNoFlags(4))),
    hex: '084352533011100a0d4701f803f80300082210007900',
  },
  {
    title: 'ResourceTemplate: extended Interrupt, edge/high/exclusive and level/low/shared',
    asl:
      'Name (CRS1, ResourceTemplate () { Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { 5 } ' +
      'Interrupt (ResourceConsumer, Level, ActiveLow, Shared) { 9, 10 } })',
    build: () =>
      name(
        'CRS1',
        resourceTemplate(
          interrupt({ edge: true, activeLow: false }, 5),
          interrupt({ edge: false, activeLow: true, shared: true }, 9, 10),
        ),
      ),
    hex: '0843525331111b0a18890600030105000000890a000d02090000000a0000007900',
  },
  {
    title: 'ResourceTemplate: Memory32Fixed (ReadWrite, ReadOnly), FixedIO, IO (Decode10)',
    asl:
      'Name (CRS2, ResourceTemplate () { Memory32Fixed (ReadWrite, 0xFECFF000, 0x00000010) ' +
      'Memory32Fixed (ReadOnly, 0xFED00000, 0x00000400) FixedIO (0x0060, 0x01) IO (Decode10, 0x0070, 0x0070, 0x01, 0x02) })',
    build: () =>
      name(
        'CRS2',
        resourceTemplate(
          memory32Fixed(true, 0xfecff000, 0x10),
          memory32Fixed(false, 0xfed00000, 0x400),
          fixedIo(0x60, 1),
          io({ decode16: false, min: 0x70, max: 0x70, alignment: 1, length: 2 }),
        ),
      ),
    hex:
      '084352533211290a268609000100f0cffe10000000860900000000d0fe000400004b6000014700' +
      '7000700001027900',
  },
];

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
