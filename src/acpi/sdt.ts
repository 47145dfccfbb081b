// The parts every ACPI table shares: the 36-byte System Description Table header (ACPI 6.x §5.2.6),
// the 8-bit checksum, the Generic Address Structure (§5.2.3.2), and a little-endian byte writer.

/** Who made the tables: OEMID in every header and the RSDP. */
export const OEM_ID = 'NODEVM';
export const OEM_REVISION = 1;
/** The "ASL compiler" fields name the tool that built the table: here nodevmm itself. */
export const CREATOR_ID = 'NVMM';
export const CREATOR_REVISION = 1;

export const SDT_HEADER_SIZE = 36;

/** Offsets inside the SDT header. */
export const SdtHeader = {
  SIGNATURE: 0,
  LENGTH: 4,
  REVISION: 8,
  CHECKSUM: 9,
  OEM_ID: 10,
  OEM_TABLE_ID: 16,
  OEM_REVISION: 24,
  CREATOR_ID: 28,
  CREATOR_REVISION: 32,
} as const;

/** Sum of the bytes modulo 256; a table is valid when this is 0. */
export function byteSum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
}

/** The byte that, stored in a zeroed checksum field, makes `bytes` sum to 0. */
export function checksumOf(bytes: Uint8Array): number {
  return (0x100 - byteSum(bytes)) & 0xff;
}

/** Little-endian writes into a fixed-size table image. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(offset: number, value: number): this {
    this.view.setUint8(offset, value);
    return this;
  }

  u16(offset: number, value: number): this {
    this.view.setUint16(offset, value, true);
    return this;
  }

  u32(offset: number, value: number): this {
    this.view.setUint32(offset, value, true);
    return this;
  }

  u64(offset: number, value: number | bigint): this {
    this.view.setBigUint64(offset, BigInt(value), true);
    return this;
  }

  /** ASCII text, exactly `width` bytes: shorter text is padded with spaces, as ACPI ids usually are. */
  ascii(offset: number, text: string, width: number): this {
    if (text.length > width || !/^[\x20-\x7e]*$/.test(text)) {
      throw new RangeError(`"${text}" must be at most ${width} printable ASCII characters`);
    }
    const padded = text.padEnd(width, ' ');
    for (let i = 0; i < width; i++) this.bytes[offset + i] = padded.charCodeAt(i);
    return this;
  }

  raw(offset: number, data: Uint8Array): this {
    this.bytes.set(data, offset);
    return this;
  }
}

export interface SdtSpec {
  /** four characters, e.g. "FACP" */
  signature: string;
  revision: number;
  /** up to eight characters, space-padded */
  oemTableId: string;
}

/** A complete table: header (with length and checksum filled in) followed by `body`. */
export function sdt(spec: SdtSpec, body: Uint8Array): Uint8Array {
  if (spec.signature.length !== 4) throw new RangeError(`table signature "${spec.signature}" must be 4 characters`);
  const w = new ByteWriter(SDT_HEADER_SIZE + body.length);
  w.ascii(SdtHeader.SIGNATURE, spec.signature, 4)
    .u32(SdtHeader.LENGTH, SDT_HEADER_SIZE + body.length)
    .u8(SdtHeader.REVISION, spec.revision)
    .ascii(SdtHeader.OEM_ID, OEM_ID, 6)
    .ascii(SdtHeader.OEM_TABLE_ID, spec.oemTableId, 8)
    .u32(SdtHeader.OEM_REVISION, OEM_REVISION)
    .ascii(SdtHeader.CREATOR_ID, CREATOR_ID, 4)
    .u32(SdtHeader.CREATOR_REVISION, CREATOR_REVISION)
    .raw(SDT_HEADER_SIZE, body);
  return w.u8(SdtHeader.CHECKSUM, checksumOf(w.bytes)).bytes;
}

/** Address spaces of a Generic Address Structure. */
export const AddressSpace = {
  SystemMemory: 0,
  SystemIO: 1,
} as const;
export type AddressSpace = (typeof AddressSpace)[keyof typeof AddressSpace];

/** GAS access sizes: how wide each access must be. */
export const AccessSize = {
  Undefined: 0,
  Byte: 1,
  Word: 2,
  DWord: 3,
  QWord: 4,
} as const;
export type AccessSize = (typeof AccessSize)[keyof typeof AccessSize];

export interface GenericAddress {
  space: AddressSpace;
  bitWidth: number;
  bitOffset: number;
  accessSize: AccessSize;
  address: number | bigint;
}

/** Writes a 12-byte Generic Address Structure at `offset`. */
export function writeGas(w: ByteWriter, offset: number, gas: GenericAddress): void {
  w.u8(offset, gas.space).u8(offset + 1, gas.bitWidth).u8(offset + 2, gas.bitOffset).u8(offset + 3, gas.accessSize);
  w.u64(offset + 4, gas.address);
}

/** An I/O port register of `bytes` bytes, accessed at that width (the FADT's registers). */
export function ioPortGas(port: number, bytes: 1 | 2 | 4): GenericAddress {
  const accessSize = bytes === 1 ? AccessSize.Byte : bytes === 2 ? AccessSize.Word : AccessSize.DWord;
  return { space: AddressSpace.SystemIO, bitWidth: 8 * bytes, bitOffset: 0, accessSize, address: port };
}
