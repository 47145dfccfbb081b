// Helpers for JSON-able machine state: bigints as hex strings, byte blobs as base64, and a decoder
// that names the field it rejects, so a restore never hands an ioctl a wrong-size buffer.

export class StateFormatError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'StateFormatError';
  }
}

export { hex } from '../util/units.js';

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function field(obj: unknown, name: string, path: string): unknown {
  if (typeof obj !== 'object' || obj === null) throw new StateFormatError(path, 'expected an object');
  const value = (obj as Record<string, unknown>)[name];
  if (value === undefined) throw new StateFormatError(`${path}.${name}`, 'missing');
  return value;
}

/** A decimal or 0x-hex string (or a safe integer) as a 64-bit unsigned bigint. */
export function u64(value: unknown, path: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value !== 'string' || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(value)) throw new StateFormatError(path, 'expected a decimal or 0x-hex string');
  const v = BigInt(value);
  if (v >= 1n << 64n) throw new StateFormatError(path, 'does not fit 64 bits');
  return v;
}

export function uint(value: unknown, path: string, max = 0xffffffff): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new StateFormatError(path, `expected an integer 0..${max}`);
  }
  return value;
}

/** Base64 of exactly `size` bytes. */
export function blob(value: unknown, size: number, path: string): Uint8Array<ArrayBuffer> {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new StateFormatError(path, 'expected base64');
  const bytes = Uint8Array.from(Buffer.from(value, 'base64'));
  if (bytes.length !== size) throw new StateFormatError(path, `expected ${size} bytes, got ${bytes.length}`);
  return bytes;
}

export function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new StateFormatError(path, 'expected an array');
  return value;
}

export function checkVersion(state: unknown, version: number, what: string): void {
  const v = field(state, 'version', what);
  if (v !== version) throw new StateFormatError(`${what}.version`, `expected ${version}, got ${JSON.stringify(v)}`);
}
