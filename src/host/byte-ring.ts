// Bytes from vCPU workers to the main thread (serial TX, the debug console) through shared memory:
// a producer never blocks and never waits for the reader. Several workers may produce (a short spin
// lock); one consumer drains it. Waking the main thread for every byte would cost the vCPU a
// cross-thread wake-up per byte (measured ~100 µs on a busy 2-core host, docs/BENCHMARKS.md), and
// polling would wake an idle VMM 200 times a second. So the consumer sleeps while the ring is idle
// and says so in a word; the first byte after that wakes it (one notify per burst), and while bytes
// keep coming it lingers, draining every LINGER_MS, or at once when a producer finds the ring half
// full. When the ring is full the bytes are dropped and counted, so a stalled host never stalls the
// guest.

const LOCK = 0;
const WRITTEN = 1; // total bytes ever written (wraps at 2^32)
const READ = 2; // total bytes ever read
const DROPPED = 3;
const SLEEPING = 4; // 1 while the consumer waits with nothing pending: the next byte must wake it
const HEADER_WORDS = 5;

export class ByteRing {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly mask: number;

  /** `capacity` must be a power of two. */
  static create(capacity = 1 << 16): ByteRing {
    if (capacity & (capacity - 1)) throw new RangeError('ByteRing capacity must be a power of two');
    return new ByteRing(new SharedArrayBuffer(HEADER_WORDS * 4 + capacity));
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.bytes = new Uint8Array(buffer, HEADER_WORDS * 4);
    this.mask = this.bytes.length - 1;
  }

  get dropped(): number {
    return Atomics.load(this.header, DROPPED);
  }

  /** Producer side: append one byte, or count it as dropped if the ring is full. */
  write(byte: number): void {
    const h = this.header;
    while (Atomics.compareExchange(h, LOCK, 0, 1) !== 0) {
      // another producer is appending a byte
    }
    const written = Atomics.load(h, WRITTEN);
    const pending = (written - Atomics.load(h, READ)) | 0;
    if (pending > this.mask) {
      Atomics.add(h, DROPPED, 1);
    } else {
      this.bytes[written & this.mask] = byte;
      Atomics.store(h, WRITTEN, (written + 1) | 0);
      // The first byte for a sleeping consumer wakes it; half full wakes a lingering one early, so a
      // burst is not dropped.
      if (Atomics.load(h, SLEEPING) === 1 && Atomics.compareExchange(h, SLEEPING, 1, 0) === 1) Atomics.notify(h, WRITTEN);
      else if (pending + 1 === (this.mask + 1) >>> 1) Atomics.notify(h, WRITTEN);
    }
    Atomics.store(h, LOCK, 0);
  }

  /** Consumer side: take everything written so far (a copy), or null if nothing is pending. */
  drain(): Uint8Array | null {
    const h = this.header;
    const read = Atomics.load(h, READ);
    const written = Atomics.load(h, WRITTEN);
    const pending = (written - read) | 0;
    if (pending === 0) return null;
    const out = new Uint8Array(pending);
    for (let i = 0; i < pending; i++) out[i] = this.bytes[(read + i) & this.mask];
    Atomics.store(h, READ, written);
    return out;
  }

  /** bytes written and not yet drained */
  get pending(): number {
    return (Atomics.load(this.header, WRITTEN) - Atomics.load(this.header, READ)) | 0;
  }

  /**
   * Consumer side: resolves when bytes may be there to drain. With bytes pending it returns at once;
   * after a drain (`lingerMs` > 0) it waits at most that long, or until the ring is half full; idle
   * (`lingerMs` = 0) it sleeps until the next byte, or `wake()`.
   */
  async waitForBytes(lingerMs: number): Promise<void> {
    const h = this.header;
    const written = Atomics.load(h, WRITTEN);
    if (lingerMs > 0) {
      const result = Atomics.waitAsync(h, WRITTEN, written, lingerMs);
      if (result.async) await result.value;
      return;
    }
    Atomics.store(h, SLEEPING, 1);
    // A byte that came before the flag was set would not wake us: look again before sleeping.
    if (this.pending > 0 || Atomics.load(h, WRITTEN) !== written) {
      Atomics.store(h, SLEEPING, 0);
      return;
    }
    const result = Atomics.waitAsync(h, WRITTEN, written);
    if (result.async) await result.value;
    Atomics.store(h, SLEEPING, 0);
  }

  /** Ends a consumer's wait (the pump stops). */
  wake(): void {
    Atomics.notify(this.header, WRITTEN);
  }
}

/** How long a byte may wait in a ring while bytes keep coming. */
export const LINGER_MS = 5;

/**
 * Drains a ring on the main thread until `stop()`: woken by the first byte after an idle spell, then
 * every LINGER_MS while bytes keep coming (at once when the ring is half full), asleep again once a
 * round finds nothing. Each chunk goes to `onBytes`; `stop()` takes what is left.
 */
export function pumpRing(ring: ByteRing, onBytes: (bytes: Uint8Array) => void): { stop(): void; flush(): void } {
  let running = true;
  const flush = (): boolean => {
    const chunk = ring.drain();
    if (chunk) onBytes(chunk);
    return chunk !== null;
  };
  void (async () => {
    let lingerMs = 0;
    while (running) {
      await ring.waitForBytes(lingerMs);
      if (!running) break;
      lingerMs = flush() ? LINGER_MS : 0;
    }
  })();
  return {
    stop() {
      running = false;
      ring.wake();
      flush();
    },
    flush: () => void flush(),
  };
}
