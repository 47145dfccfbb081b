// Moving bytes between a request's guest buffers (views of guest RAM) and a file descriptor, or out of
// them into a small header: the helpers the device backends share. File I/O goes straight into and
// out of guest RAM (readv/writev on the views): no copies.
import { readvSync, writevSync } from 'node:fs';

/** Total bytes of `buffers`. */
export function byteLength(buffers: readonly Uint8Array[]): number {
  let total = 0;
  for (const b of buffers) total += b.byteLength;
  return total;
}

/** The first `length` bytes of `buffers` into a new array, or null if they hold fewer. */
export function gather(buffers: readonly Uint8Array[], length: number): Uint8Array | null {
  const out = new Uint8Array(length);
  let filled = 0;
  for (const b of buffers) {
    if (filled === length) break;
    const take = Math.min(length - filled, b.byteLength);
    out.set(b.subarray(0, take), filled);
    filled += take;
  }
  return filled === length ? out : null;
}

/** `buffers` with their first `skip` bytes dropped (views, no copy). */
export function skipBytes(buffers: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = skip;
  for (const b of buffers) {
    if (left >= b.byteLength) {
      left -= b.byteLength;
      continue;
    }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}

/** `buffers` without their last `drop` bytes (views, no copy). */
export function dropLastBytes(buffers: readonly Uint8Array[], drop: number): Uint8Array[] {
  const out = [...buffers];
  let left = drop;
  while (left > 0 && out.length > 0) {
    const last = out.pop()!;
    if (last.byteLength > left) {
      out.push(last.subarray(0, last.byteLength - left));
      left = 0;
    } else {
      left -= last.byteLength;
    }
  }
  return out;
}

/** The last byte of `buffers` as a one-byte view, or null if they are empty. */
export function lastByte(buffers: readonly Uint8Array[]): Uint8Array | null {
  const last = buffers[buffers.length - 1];
  return last ? last.subarray(last.byteLength - 1) : null;
}

/**
 * Reads into all of `buffers` from `fd` at `position` (null: the fd's own position, for devices such
 * as /dev/urandom), retrying short reads. Stops at end of file; returns the bytes read.
 */
export function readInto(fd: number, buffers: readonly Uint8Array[], position: number | null): number {
  let pending = buffers.filter((b) => b.byteLength > 0);
  let total = 0;
  while (pending.length > 0) {
    const n = position === null ? readvSync(fd, pending) : readvSync(fd, pending, position + total);
    if (n === 0) break;
    total += n;
    pending = skipBytes(pending, n);
  }
  return total;
}

/** Writes all of `buffers` to `fd` at `position`, retrying short writes. */
export function writeFrom(fd: number, buffers: readonly Uint8Array[], position: number): number {
  let pending = buffers.filter((b) => b.byteLength > 0);
  let total = 0;
  while (pending.length > 0) {
    const n = writevSync(fd, pending, position + total);
    if (n === 0) throw new Error('write made no progress');
    total += n;
    pending = skipBytes(pending, n);
  }
  return total;
}

/** Copies `bytes` into the start of `buffers`; returns how many fit. */
export function scatter(buffers: readonly Uint8Array[], bytes: Uint8Array): number {
  let done = 0;
  for (const b of buffers) {
    if (done === bytes.length) break;
    const take = Math.min(b.byteLength, bytes.length - done);
    b.set(bytes.subarray(done, done + take));
    done += take;
  }
  return done;
}

/** Copies `bytes` into `buffers` from byte `offset` on; returns how many fit. */
export function writeAt(buffers: readonly Uint8Array[], offset: number, bytes: Uint8Array): number {
  return scatter(skipBytes(buffers, offset), bytes);
}
