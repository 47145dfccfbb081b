// Host → guest serial bytes. A UART takes at most 16 bytes (its receive FIFO) at a time, so writes
// queue here and are fed in order as the guest reads and FIFO space frees up: nothing is dropped and
// the main thread never blocks (it sleeps on Atomics.waitAsync through the UART's waitForRxSpace).
//
// A queue belongs to one VM build. When that build ends (shutdown, any reboot, VMM exit) the bytes
// the UART has not taken are discarded and their writes reject: input typed for one boot is not
// replayed into the next boot's firmware or early kernel. Bytes the UART did take are the guest's;
// a guest that resets its FIFO (as Linux's driver does at startup) discards them, as on hardware.
import { VmmError } from '../errors.js';

/** The host side of a UART's receiver (Serial8250 is one). */
export interface UartReceiver {
  /** queues as many bytes as fit, resolves how many; never blocks the calling thread */
  receiveAsync(bytes: Uint8Array): Promise<number>;
  /** resolves true when room may have appeared, false on timeout; never blocks */
  waitForRxSpace(timeoutMs?: number): Promise<boolean>;
}

interface PendingWrite {
  bytes: Uint8Array;
  offset: number;
  resolve(): void;
  reject(error: Error): void;
}

// Waits are sliced so a waiter on a discarded VM build's shared state expires soon after it ends.
const WAIT_SLICE_MS = 1000;

export class SerialInputQueue {
  private readonly pending: PendingWrite[] = [];
  private closedBy: Error | null = null;
  private pumping = false;
  private wakeOnClose: (() => void) | null = null;

  constructor(private readonly uart: UartReceiver) {}

  /** Bytes written but not yet taken by the UART. */
  get queuedBytes(): number {
    return this.pending.reduce((sum, write) => sum + write.bytes.length - write.offset, 0);
  }

  /** Queues `bytes` (copied); resolves once the UART has taken the last of them. */
  write(bytes: Uint8Array): Promise<void> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    if (bytes.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      // a copy (Buffer's slice() would share memory): the caller may reuse its buffer
      this.pending.push({ bytes: new Uint8Array(bytes), offset: 0, resolve, reject });
      void this.pump();
    });
  }

  /** Discards what the UART has not taken; pending and later writes reject with `reason`. */
  close(reason: Error): void {
    if (this.closedBy) return;
    this.closedBy = reason;
    for (const write of this.pending.splice(0)) write.reject(reason);
    this.wakeOnClose?.();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    const closed = new Promise<boolean>((resolve) => (this.wakeOnClose = () => resolve(false)));
    try {
      while (!this.closedBy && this.pending.length > 0) {
        const head = this.pending[0];
        head.offset += await this.uart.receiveAsync(head.bytes.subarray(head.offset));
        if (head.offset === head.bytes.length) {
          this.pending.shift();
          head.resolve();
          continue;
        }
        await Promise.race([this.uart.waitForRxSpace(WAIT_SLICE_MS), closed]);
      }
    } catch (error) {
      this.close(new VmmError('internal', `serial input failed: ${(error as Error).message}`, { cause: error }));
    } finally {
      this.pumping = false;
      this.wakeOnClose = null;
    }
  }
}

/**
 * Hands one chunk a host-side reader got (a socket client, a pty) to the guest's serial input, with the
 * reader paused until the UART has taken it: a fast sender then waits in the kernel, not in memory.
 * `mayResume` says whether to read on afterwards (false once the reader is closed).
 */
export function forwardChunk(
  reader: { pause(): unknown; resume(): unknown },
  chunk: Uint8Array,
  input: (bytes: Uint8Array) => Promise<void>,
  onDropped: (error: Error) => void,
  mayResume: () => boolean = () => true,
): void {
  reader.pause();
  input(chunk)
    .catch(onDropped)
    .finally(() => {
      if (mayResume()) reader.resume();
    });
}

/**
 * The VMM's serial input across VM builds: `attach` the running build's UART (null when it has none),
 * `detach` when the build ends. Writes with nothing attached reject with a 'wrong-state' VmmError.
 */
export class SerialInput {
  private queue: SerialInputQueue | null = null;
  private unavailable = 'no VM is running';

  attach(uart: UartReceiver | null): void {
    this.detach();
    if (uart) this.queue = new SerialInputQueue(uart);
    else this.unavailable = 'the VM has no serial port (serial mode Off)';
  }

  detach(): void {
    this.queue?.close(new VmmError('wrong-state', 'the VM stopped before its serial port took these bytes'));
    this.queue = null;
    this.unavailable = 'no VM is running';
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.queue) return Promise.reject(new VmmError('wrong-state', `cannot write to the serial port: ${this.unavailable}`));
    return this.queue.write(bytes);
  }
}
