// A piscina task: copy guest RAM between its memfd and a file, hashing as it goes, off the main
// thread (hundreds of MB would stall the API and the event stream there). The memfd is mapped here
// by its fd, as the vCPU workers map it, so no byte crosses a thread boundary.
//
// Only what the guest wrote moves: a save writes the non-zero pages at their offsets into a file of
// the full size (the rest is holes), a load reads only the file's data extents into fresh (zero)
// RAM. The checksum covers the non-zero pages with their offsets (format.ts), so a sparse file, the
// same file copied without holes, and RAM all hash alike.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { native, type NativeGuestMemory } from '../kvm/native.js';

export interface RamRange {
  /** offset of the range in the memfd */
  hostOffset: number;
  size: number;
}

export interface RamCopyTask {
  op: 'save' | 'load';
  ram: { fd: number; size: number };
  /** the ranges, in file order: the file is them concatenated */
  ranges: RamRange[];
  path: string;
}

/** Returns the sha256 (hex) of the RAM's non-zero pages, in file order (format.ts). */
export default function copyRam(task: RamCopyTask): string {
  const memory = new (native().GuestMemory)(task.ram.size, task.ram.fd);
  const file = openSync(task.path, task.op === 'save' ? 'w' : 'r', 0o600);
  try {
    for (const range of task.ranges) {
      if (range.hostOffset < 0 || range.hostOffset + range.size > memory.size) throw new RangeError('RAM range outside guest memory');
    }
    const total = task.ranges.reduce((sum, range) => sum + range.size, 0);
    if (task.op === 'save') ftruncateSync(file, total);
    const hash = createHash('sha256');
    forEachRange(task.ranges, (range, fileOffset) => {
      if (task.op === 'load') memory.loadFileData(file, fileOffset, range.hostOffset, range.size);
      forEachWrittenRun(memory, range, fileOffset, hash, (bytes, at) => task.op === 'save' && writeAll(file, bytes, at));
    });
    if (task.op === 'save') fsyncSync(file);
    return hash.digest('hex');
  } finally {
    closeSync(file);
    memory.close();
  }
}

function forEachRange(ranges: readonly RamRange[], each: (range: RamRange, fileOffset: number) => void): void {
  let fileOffset = 0;
  for (const range of ranges) {
    each(range, fileOffset);
    fileOffset += range.size;
  }
}

/** Hashes each run of non-zero pages of `range` (as its file offset, length, bytes) and hands it on. */
function forEachWrittenRun(memory: NativeGuestMemory, range: RamRange, fileOffset: number, hash: Hash, each: (bytes: Uint8Array, at: number) => void): void {
  const runs = memory.nonZeroRuns(range.hostOffset, range.size);
  const header = Buffer.alloc(16);
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const at = fileOffset + (runs[i] - range.hostOffset);
    const bytes = new Uint8Array(memory.buffer, runs[i], runs[i + 1]);
    header.writeBigUInt64LE(BigInt(at), 0);
    header.writeBigUInt64LE(BigInt(bytes.length), 8);
    hash.update(header).update(bytes);
    each(bytes, at);
  }
}

function writeAll(file: number, bytes: Uint8Array, at: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(file, bytes, done, bytes.length - done, at + done);
}
