// Guest RAM to and from a file on a piscina thread (src/snapshot/ram-copy-worker.ts). piscina is
// loaded on first use; one thread is enough: the disk, not the CPU, sets the pace. It is shared by every
// VMM in the process and ends after a second idle, so no VMM closes it.
import type { Piscina } from 'piscina';
import type { RamRegion } from '../boot/memory-layout.js';
import type { RamHandle } from '../vm/machine.js';
import type { RamCopyTask } from './ram-copy-worker.js';

let pool: Piscina | null = null;

async function workers(): Promise<Piscina> {
  if (!pool) {
    const { Piscina: Pool } = await import('piscina');
    pool ??= new Pool({ filename: new URL('./ram-copy-worker.js', import.meta.url).href, minThreads: 0, maxThreads: 1, idleTimeout: 1000 });
  }
  return pool;
}

function run(task: RamCopyTask): Promise<string> {
  return workers().then((threads) => threads.run(task) as Promise<string>);
}

const ranges = (regions: readonly RamRegion[]) => regions.map((r) => ({ hostOffset: r.hostOffset, size: r.size }));

/** Writes the regions' bytes, concatenated, to `path`; resolves with their sha256. */
export function saveRam(ram: RamHandle, regions: readonly RamRegion[], path: string): Promise<string> {
  return run({ op: 'save', ram, ranges: ranges(regions), path });
}

/** Reads `path` into the regions, in order; resolves with the sha256 of what it read. */
export function loadRam(ram: RamHandle, regions: readonly RamRegion[], path: string): Promise<string> {
  return run({ op: 'load', ram, ranges: ranges(regions), path });
}
