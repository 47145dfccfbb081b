// A piscina task: copy guest RAM between its memfd and a file, hashing as it goes, off the main
// thread (hundreds of MB would stall the API and the event stream there). The memfd is mapped here
// by its fd, as the vCPU workers map it, so no byte crosses a thread boundary.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { native } from '../kvm/native.js';

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

const CHUNK = 4 << 20;

/** Returns the sha256 (hex) of the bytes copied, in file order. */
export default function copyRam(task: RamCopyTask): string {
  const memory = new (native().GuestMemory)(task.ram.size, task.ram.fd);
  const file = openSync(task.path, task.op === 'save' ? 'w' : 'r', 0o600);
  try {
    const bytes = new Uint8Array(memory.buffer);
    const hash = createHash('sha256');
    for (const range of task.ranges) {
      if (range.hostOffset < 0 || range.hostOffset + range.size > bytes.length) throw new RangeError('RAM range outside guest memory');
      for (let at = 0; at < range.size; ) {
        const view = bytes.subarray(range.hostOffset + at, range.hostOffset + Math.min(range.size, at + CHUNK));
        const done = task.op === 'save' ? writeSync(file, view) : readSync(file, view, 0, view.length, null);
        if (done === 0) throw new RangeError(`${task.path} ends early: ${at} of ${range.size} bytes of a RAM range`);
        hash.update(view.subarray(0, done));
        at += done;
      }
    }
    if (task.op === 'save') fsyncSync(file);
    return hash.digest('hex');
  } finally {
    closeSync(file);
    memory.close();
  }
}
