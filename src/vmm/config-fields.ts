// Validators for the fields of a VM config: each failure is VmmError('invalid-config') naming the field.
import { accessSync, constants, statSync } from 'node:fs';
import { VmmError } from '../errors.js';

export const invalid = (message: string): VmmError => new VmmError('invalid-config', message);

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Fields of a sub-object other than the ones nodevmm implements: accepted when absent or at Cloud
 * Hypervisor's default (clients generated from its schema send those), refused by name otherwise.
 */
export function checkOtherFields(object: Record<string, unknown>, name: string, supported: readonly string[], defaults: Record<string, unknown> = {}): void {
  for (const [field, value] of Object.entries(object)) {
    if (supported.includes(field) || value === undefined || value === null) continue;
    if (field in defaults && defaults[field] === value) continue;
    throw invalid(`${name}.${field} is not supported by nodevmm yet`);
  }
}

export function integerField(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(`${name} must be an integer`);
  if (value < min || value > max) throw invalid(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function booleanField(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw invalid(`${name} must be true or false`);
  return value;
}

/** A virtqueue's size (Cloud Hypervisor's queue_size): a power of 2 from 2 to 32768, `fallback` if absent. */
export function queueSizeField(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const size = integerField(value, name, 2, 32768);
  if ((size & (size - 1)) !== 0) throw invalid(`${name} must be a power of 2, got ${size}`);
  return size;
}

export function stringField(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${name} must be a string`);
  return value;
}


export function checkReadableFile(path: string, name: string): void {
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) throw invalid(`${name} ${path} is not a regular file`);
  } catch (error) {
    if (error instanceof VmmError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw invalid(code === 'ENOENT' ? `${name} ${path} does not exist` : `${name} ${path} cannot be read (${code})`);
  }
}

