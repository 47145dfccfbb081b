// A piscina task: extract the vmlinux from a bzImage off the main thread (tens of MB of decompression).
// Returns the vmlinux (moved, not copied) or the reason it could not.
import { readFile } from 'node:fs/promises';
import { move } from 'piscina';
import { extractVmlinux } from '../boot/extract-vmlinux.js';

export default async function extract({ path }: { path: string }): Promise<Uint8Array | { reason: string; format?: string }> {
  const result = extractVmlinux(new Uint8Array(await readFile(path)));
  if (!result.ok) return { reason: result.reason };
  return move(result.vmlinux) as unknown as Uint8Array;
}
