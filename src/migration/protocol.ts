// Cloud Hypervisor's live-migration wire format (vm-migration's protocol): little-endian 16-byte
// headers. A request is command u16, six bytes of command headers, length u64; a response is status
// u16, six bytes of padding, length u64. Start carries the protocol version in its first two header
// bytes; Memory's payload is a table of {gpa u64, length u64} ranges (length = 16·N), and the raw
// bytes of each range follow it, not counted in length. Pure: no sockets, no KVM.
import { MigrationError } from './errors.js';

export const HEADER_BYTES = 16;
export const MIGRATION_PROTOCOL_VERSION = 1;

export const Command = { Invalid: 0, Start: 1, Config: 2, State: 3, Memory: 4, Complete: 5, Abandon: 6, MemoryFd: 7 } as const;
export type CommandCode = (typeof Command)[keyof typeof Command];
export const Status = { Invalid: 0, Ok: 1, Error: 2 } as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

const COMMAND_NAMES = Object.fromEntries(Object.entries(Command).map(([name, code]) => [code, name])) as Record<number, string>;
export const commandName = (code: number): string => COMMAND_NAMES[code] ?? `unknown command ${code}`;

/** The largest Config or State document a receiver reads: far above any real one, far below harm. */
export const MAX_JSON_BYTES = 16 << 20;
/** The most ranges one Memory command may carry (its table is then 16 MiB). */
export const MAX_MEMORY_RANGES = 1 << 20;

export interface Request {
  command: number;
  /** the six command header bytes */
  headers: Uint8Array;
  length: bigint;
}

export interface Response {
  status: number;
  length: bigint;
}

export interface MemoryRange {
  gpa: number;
  length: number;
}

export function encodeRequest(command: CommandCode, length: number, headers: Uint8Array = new Uint8Array(6)): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  bytes.writeUInt16LE(command, 0);
  bytes.set(headers.subarray(0, 6), 2);
  bytes.writeBigUInt64LE(BigInt(length), 8);
  return bytes;
}

export function encodeStart(version = MIGRATION_PROTOCOL_VERSION): Buffer {
  const headers = new Uint8Array(6);
  new DataView(headers.buffer).setUint16(0, version, true);
  return encodeRequest(Command.Start, 0, headers);
}

export function encodeResponse(status: StatusCode, length = 0): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  bytes.writeUInt16LE(status, 0);
  bytes.writeBigUInt64LE(BigInt(length), 8);
  return bytes;
}

export function decodeRequest(bytes: Uint8Array): Request {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  return { command: view.readUInt16LE(0), headers: Uint8Array.from(view.subarray(2, 8)), length: view.readBigUInt64LE(8) };
}

export function decodeResponse(bytes: Uint8Array): Response {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  return { status: view.readUInt16LE(0), length: view.readBigUInt64LE(8) };
}

/** The protocol version a Start request carries. */
export const startVersion = (request: Request): number => request.headers[0] | (request.headers[1] << 8);

/** A payload length the reader may allocate for: at most `max` bytes, else the peer is refused. */
export function boundedLength(request: Request, max: number, what: string): number {
  if (request.length > BigInt(max)) throw new MigrationError(`${what}: ${request.length} bytes, more than the ${max} this receiver takes`);
  return Number(request.length);
}

export function encodeRanges(ranges: readonly MemoryRange[]): Buffer {
  const bytes = Buffer.alloc(ranges.length * 16);
  ranges.forEach((range, i) => {
    bytes.writeBigUInt64LE(BigInt(range.gpa), i * 16);
    bytes.writeBigUInt64LE(BigInt(range.length), i * 16 + 8);
  });
  return bytes;
}

/**
 * A Memory command's table, checked: each range must lie inside `accept` (guest RAM), so a peer can
 * neither write outside RAM nor announce more bytes than RAM holds.
 */
export function decodeRanges(table: Uint8Array, accept: (range: MemoryRange) => boolean): MemoryRange[] {
  if (table.length % 16 !== 0) throw new MigrationError(`Memory: a range table of ${table.length} bytes is not a multiple of 16`);
  const view = Buffer.from(table.buffer, table.byteOffset, table.length);
  const ranges: MemoryRange[] = [];
  for (let offset = 0; offset < table.length; offset += 16) {
    const gpa = view.readBigUInt64LE(offset);
    const length = view.readBigUInt64LE(offset + 8);
    const range = { gpa: Number(gpa), length: Number(length) };
    if (gpa > BigInt(Number.MAX_SAFE_INTEGER) || length > BigInt(Number.MAX_SAFE_INTEGER) || !accept(range)) {
      throw new MigrationError(`Memory: range ${offset / 16} [0x${gpa.toString(16)}, +0x${length.toString(16)}) is not inside guest RAM`);
    }
    ranges.push(range);
  }
  return ranges;
}
