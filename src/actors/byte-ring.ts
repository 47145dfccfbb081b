// Bytes from vCPU workers to the main thread (serial TX, the debug console) through shared memory:
// a producer never blocks and never waits for the reader. Several workers may produce (a short spin
// lock); one consumer drains it every few milliseconds, and at once when it is half full. Waking the
// main thread for every byte would cost the vCPU a cross-thread wake-up per byte (measured ~100 µs on
// a busy 2-core host, docs/BENCHMARKS.md); a bounded delay costs nothing. When the ring is full the
// bytes are dropped and counted, so a stalled host never stalls the guest.

const LOCK = 0;
const WRITTEN = 1; // total bytes ever written (wraps at 2^32)
const READ = 2; // total bytes ever read
const DROPPED = 3;
const HEADER_WORDS = 4;

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
      // Half full: wake the reader now rather than at its next round, so a burst is not dropped.
      if (pending + 1 === (this.mask + 1) >>> 1) Atomics.notify(h, WRITTEN);
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

  /** Consumer side: resolves when a producer reports the ring half full (or the pump stops). */
  async waitForHalfFull(): Promise<void> {
    const h = this.header;
    const written = Atomics.load(h, WRITTEN);
    if (((written - Atomics.load(h, READ)) | 0) >= (this.mask + 1) >>> 1) return;
    const result = Atomics.waitAsync(h, WRITTEN, written);
    if (result.async) await result.value;
  }

}

/** How long a byte may wait in a ring before the main thread takes it. */
export const DRAIN_INTERVAL_MS = 5;

/**
 * Drains a ring on the main thread until `stop()`: every DRAIN_INTERVAL_MS, and at once when a producer
 * finds it half full. Each chunk goes to `onBytes`; `stop()` takes what is left.
 */
export function pumpRing(ring: ByteRing, onBytes: (bytes: Uint8Array) => void): { stop(): void; flush(): void } {
  let running = true;
  const flush = (): void => {
    const chunk = ring.drain();
    if (chunk) onBytes(chunk);
  };
  const timer = setInterval(flush, DRAIN_INTERVAL_MS);
  timer.unref();
  void (async () => {
    // Below half full the producers stay quiet and the timer takes the bytes.
    while (running) {
      await ring.waitForHalfFull();
      if (running) flush();
    }
  })();
  return {
    stop() {
      running = false;
      clearInterval(timer);
      flush();
      // Wake the pending waitAsync so the loop ends and nothing keeps the event loop alive.
      Atomics.notify(new Int32Array(ring.buffer, 0, HEADER_WORDS), WRITTEN);
    },
    flush,
  };
}
