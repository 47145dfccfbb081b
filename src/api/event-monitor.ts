// The event monitor (--event-monitor path=FILE|fd=N): one JSON object per event in Cloud Hypervisor's
// layout. Writing never blocks the VMM: events queue in memory and a single writer drains them, so a
// FIFO nobody has opened yet, or a slow reader, only delays them. Past a bound the oldest pending
// events are dropped, counted, and the loss itself is reported as an event.
import { open } from 'node:fs/promises';
import { constants, write as writeFd } from 'node:fs';
import { promisify } from 'node:util';
import { formatEvent, type VmmEvent } from './events.js';

interface Sink {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

const writeToFd = promisify(writeFd);

export type EventMonitorTarget = { path: string } | { fd: number };

const MAX_PENDING = 10_000;

export class EventMonitor {
  private readonly pending: string[] = [];
  private lost = 0;
  private draining: Promise<void> | null = null;
  private sink: Promise<Sink> | null = null;
  private failed: Error | null = null;

  constructor(
    private readonly target: EventMonitorTarget,
    private readonly stamp: () => VmmEvent['timestamp'],
    private readonly onError: (e: Error) => void = () => {},
  ) {}

  /** Queues an event; returns at once. */
  write(event: VmmEvent): void {
    if (this.failed) return;
    if (this.pending.length >= MAX_PENDING) {
      this.pending.shift();
      this.lost++;
    }
    this.pending.push(formatEvent(event));
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  /** Events dropped because the reader fell more than MAX_PENDING behind. */
  get lostCount(): number {
    return this.lost;
  }

  /** Waits until everything queued is written, or `timeoutMs` passes (a FIFO nobody reads). */
  async flush(timeoutMs = 1000): Promise<boolean> {
    const done = (async () => {
      while (this.draining) await this.draining;
      return true;
    })();
    return Promise.race([done, new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
  }

  async close(timeoutMs = 1000): Promise<void> {
    await this.flush(timeoutMs);
    // A FIFO whose reader never came leaves the open pending; don't wait for it.
    const sink = await Promise.race([this.sink, new Promise<null>((r) => setTimeout(() => r(null), 10).unref())]);
    await sink?.close().catch(() => {});
  }

  private async open(): Promise<Sink> {
    if ('fd' in this.target) {
      const fd = this.target.fd;
      return {
        write: async (text) => {
          let bytes = Buffer.from(text);
          while (bytes.length > 0) {
            const { bytesWritten } = await writeToFd(fd, bytes);
            bytes = bytes.subarray(bytesWritten);
          }
        },
        close: async () => {},
      };
    }
    // O_APPEND|O_CREAT for a file; a FIFO's open waits here (in the thread pool) for its reader.
    const handle = await open(this.target.path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
    return {
      write: async (text) => {
        await handle.write(text);
      },
      close: () => handle.close(),
    };
  }

  private async drain(): Promise<void> {
    try {
      this.sink ??= this.open();
      const sink = await this.sink;
      while (this.pending.length > 0) {
        if (this.lost > 0) {
          const count = this.lost;
          this.lost = 0;
          await sink.write(
            formatEvent({ timestamp: this.stamp(), source: 'vmm', event: 'events-lost', properties: { count: String(count) } }),
          );
        }
        await sink.write(this.pending.shift()!);
      }
    } catch (error) {
      this.failed = error as Error;
      this.pending.length = 0;
      this.onError(error as Error);
    }
  }
}
