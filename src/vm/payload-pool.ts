// Bounded CPU work of payload preparation runs on a piscina pool, never on the main thread (which
// serves the API and the event stream). Results are cached per file version, so a reset reuses them.
// piscina is loaded on first use (15 ms of start-up that a PVH guest never needs).
import { stat } from 'node:fs/promises';
import type { Piscina } from 'piscina';

export type ExtractedKernel = { vmlinux: Uint8Array; ms: number } | { reason: string };

const cache = new Map<string, Promise<ExtractedKernel>>();
let pool: Piscina | null = null;

async function workers(): Promise<Piscina> {
  if (!pool) {
    const { Piscina: Pool } = await import('piscina');
    pool ??= new Pool({
      filename: new URL('./payload-worker.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: 1000,
    });
  }
  return pool;
}

/** The vmlinux inside the bzImage at `path`, decompressed on the host (cached), or why not. */
export async function extractKernel(path: string): Promise<ExtractedKernel> {
  const info = await stat(path);
  const key = `${path}:${info.size}:${info.mtimeMs}`;
  let pending = cache.get(key);
  if (!pending) {
    const started = performance.now();
    pending = workers()
      .then((threads) => threads.run({ path }) as Promise<Uint8Array | { reason: string }>)
      .then((result) =>
        result instanceof Uint8Array ? { vmlinux: result, ms: Math.round(performance.now() - started) } : result,
      );
    cache.set(key, pending);
  }
  return pending;
}

let users = 0;

/** Each VMM holds the pool while it lives; the last one to go ends its threads. */
export function acquirePayloadPool(): () => Promise<void> {
  users++;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--users > 0 || !pool) return;
    const p = pool;
    pool = null;
    await p.destroy();
  };
}
