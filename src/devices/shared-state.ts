// Device registers that several threads use (every vCPU worker, and the main thread for host input)
// live in a SharedArrayBuffer. Word 0 is a lock; the rest are the device's own Int32 words. Critical
// sections are a few register updates long, so the lock spins rather than sleeping (the main thread
// must never block).

export class SharedState {
  static readonly LOCK = 0;
  readonly words: Int32Array;

  /** `words` counts the device's own words; one more is added for the lock. */
  static create(words: number): SharedState {
    return new SharedState(new SharedArrayBuffer((words + 1) * 4));
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  lock(): void {
    while (Atomics.compareExchange(this.words, SharedState.LOCK, 0, 1) !== 0) {
      // another thread holds it for a few instructions
    }
  }

  unlock(): void {
    Atomics.store(this.words, SharedState.LOCK, 0);
  }

  withLock<T>(fn: () => T): T {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }
}
