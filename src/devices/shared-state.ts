// Device registers that several threads use (every vCPU worker, and the main thread for host input)
// live in a SharedArrayBuffer. Word 0 is a lock; the rest are the device's own Int32 words.
//
// The lock is a futex-style mutex with three states (0 free, 1 held, 2 held with waiters). Critical
// sections are a few register updates long, so a contender spins a bounded number of times first; if
// the holder was descheduled (a busy 2-core host), it sleeps on the word instead of burning the core.
// Unlock wakes only when someone announced it is waiting (state 2), so the uncontended path is one
// compare-exchange and one exchange, no system call. The main thread must never block: it uses
// tryLock()/runAsync() (Atomics.waitAsync) instead of lock().

const FREE = 0;
const HELD = 1;
const CONTENDED = 2;
/** compare-exchanges before sleeping: far longer than any critical section, far shorter than a timeslice */
const SPINS = 200;

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

  /** Takes the lock, sleeping on the futex if spinning did not get it. For worker threads. */
  lock(): void {
    const w = this.words;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.compareExchange(w, SharedState.LOCK, FREE, HELD) === FREE) return;
    }
    // Announce a waiter; whoever sees FREE come back from the exchange owns the lock (as CONTENDED,
    // which costs one spurious notify at most).
    while (Atomics.exchange(w, SharedState.LOCK, CONTENDED) !== FREE) {
      Atomics.wait(w, SharedState.LOCK, CONTENDED);
    }
  }

  /** Takes the lock if it is free; never waits. */
  tryLock(): boolean {
    return Atomics.compareExchange(this.words, SharedState.LOCK, FREE, HELD) === FREE;
  }

  unlock(): void {
    if (Atomics.exchange(this.words, SharedState.LOCK, FREE) === CONTENDED) {
      Atomics.notify(this.words, SharedState.LOCK, 1);
    }
  }

  /** True while some thread holds the lock (tests, assertions). */
  get locked(): boolean {
    return Atomics.load(this.words, SharedState.LOCK) !== FREE;
  }

  /**
   * Runs `fn` under the lock without ever blocking the calling thread: waits with Atomics.waitAsync.
   * For the main thread (host serial input, the power button).
   */
  async runAsync<T>(fn: () => T): Promise<T> {
    const w = this.words;
    if (!this.tryLock()) {
      while (Atomics.exchange(w, SharedState.LOCK, CONTENDED) !== FREE) {
        const result = Atomics.waitAsync(w, SharedState.LOCK, CONTENDED);
        if (result.async) await result.value;
      }
    }
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }
}
