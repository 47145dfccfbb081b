// A device's interrupt level is decided under its lock but driven (KVM_IRQ_LINE, a system call) after
// unlocking, so no thread waits on a lock for an ioctl. The decided level lives in a shared word;
// whoever changed it drives the line afterwards and re-reads the word, so when two threads race, the
// line still ends at the latest decided level.
import type { IrqLine } from './device.js';

/** No change to apply (updateLevel's answer when the level stayed). */
export const NO_CHANGE = -1;

/** Under the lock: records `level` (0/1) in `words[index]`; returns it if it changed, else NO_CHANGE. */
export function updateLevel(words: Int32Array, index: number, level: number): number {
  if (words[index] === level) return NO_CHANGE;
  Atomics.store(words, index, level);
  return level;
}

/** After unlocking: drives `irq` to `level` (from updateLevel) until the shared word agrees. */
export function applyLevel(irq: IrqLine, words: Int32Array, index: number, level: number): void {
  if (level === NO_CHANGE) return;
  for (let i = 0; i < 4; i++) {
    irq.set(level === 1);
    const now = Atomics.load(words, index);
    if (now === level) return;
    level = now;
  }
}
