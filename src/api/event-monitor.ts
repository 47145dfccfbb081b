// The event monitor (--event-monitor path=FILE|fd=N): one JSON object per event in Cloud Hypervisor's
// layout. Writing never blocks the VMM: events queue in memory and a single writer drains them.
// - A FIFO nobody has opened yet (libvirt opens it after starting the VMM) is polled for a reader
//   with non-blocking opens, so no thread waits in open(2) and an idle process can still exit.
// - A full pipe (a slow reader) is retried later: it only delays events.
// - A FIFO whose reader goes away is reopened for the next reader; the event that failed is kept.
// Events are never lost silently: past a bound the oldest pending ones are dropped, counted, and the
// loss is written as a `vmm/events-lost` event; a target that fails for good counts every event after.
import { open } from 'node:fs/promises';
import { constants, openSync, closeSync, statSync, write as writeFd } from 'node:fs';
import { promisify } from 'node:util';
import { formatEvent, type VmmEvent } from '../vmm/events.js';

export type EventMonitorTarget = { path: string } | { fd: number };

export interface EventMonitorOptions {
  /** events held while the reader is slow or absent; past this the oldest are dropped (and counted) */
  maxPending?: number;
  /** how often a FIFO without a reader is tried again (ms) */
  readerPollMs?: number;
}

interface Sink {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/** The reader of a FIFO went away: reopen and retry rather than give up. */
class ReaderGone extends Error {}

const writeToFd = promisify(writeFd);
const DEFAULT_MAX_PENDING = 10_000;
const DEFAULT_READER_POLL_MS = 50;
const FULL_PIPE_RETRY_MS = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

export class EventMonitor {
  private readonly pending: string[] = [];
  private readonly maxPending: number;
  private readonly readerPollMs: number;
  /** dropped events not yet reported in the stream */
  private unreported = 0;
  private lostTotal = 0;
  private draining: Promise<void> | null = null;
  private sink: Sink | null = null;
  private failed: Error | null = null;
  private closed = false;

  constructor(
    private readonly target: EventMonitorTarget,
    private readonly stamp: () => VmmEvent['timestamp'],
    private readonly onError: (e: Error) => void = () => {},
    options: EventMonitorOptions = {},
  ) {
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.readerPollMs = options.readerPollMs ?? DEFAULT_READER_POLL_MS;
  }

  /** Queues an event; returns at once. */
  write(event: VmmEvent): void {
    if (this.failed || this.closed) {
      this.lose(1);
      return;
    }
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.lose(1);
    }
    this.pending.push(formatEvent(event));
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  /** Events lost in all (dropped past the bound, or after the target failed for good). */
  get lostCount(): number {
    return this.lostTotal;
  }

  /** Events waiting for the reader. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Waits until everything queued is written, or `timeoutMs` passes (a FIFO nobody reads). */
  async flush(timeoutMs = 1000): Promise<boolean> {
    const done = (async () => {
      while (this.draining) await this.draining;
      return true;
    })();
    // A ref'd timer: the writer's own retries are unref'd, and the process must live until this ends.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
  }

  /** Flushes (bounded by `timeoutMs`), then stops: a reader that never came gets nothing more. */
  async close(timeoutMs = 1000): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
    if (this.pending.length > 0) this.lose(this.pending.splice(0).length);
    await this.sink?.close().catch(() => {});
    this.sink = null;
  }

  private lose(count: number): void {
    this.unreported += count;
    this.lostTotal += count;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 && !this.closed && !this.failed) {
      // Out of the queue while in flight, so the bound never drops an event being written.
      let inFlight: string | null = null;
      try {
        this.sink ??= await this.open();
        if (!this.sink) return; // closed while waiting for a reader
        if (this.unreported > 0) {
          const count = this.unreported;
          await this.sink.write(
            formatEvent({ timestamp: this.stamp(), source: 'vmm', event: 'events-lost', properties: { count: String(count) } }),
          );
          this.unreported -= count;
        }
        inFlight = this.pending.shift() ?? null;
        if (inFlight !== null) await this.sink.write(inFlight);
      } catch (error) {
        const sink = this.sink;
        this.sink = null;
        await sink?.close().catch(() => {});
        if (error instanceof ReaderGone) {
          if (inFlight !== null) this.pending.unshift(inFlight); // the next open waits for a new reader
          continue;
        }
        this.failed = error as Error;
        const count = this.pending.splice(0).length + (inFlight !== null ? 1 : 0);
        this.lose(count);
        this.onError(new Error(`${(error as Error).message}; ${count} pending events lost, later events are counted as lost`));
      }
    }
  }

  /** Opens the target; resolves null if the monitor closed while a FIFO waited for its reader. */
  private async open(): Promise<Sink | null> {
    if ('fd' in this.target) return fdSink(this.target.fd, false);
    const path = this.target.path;
    if (isFifo(path)) {
      // O_NONBLOCK: the open fails with ENXIO while no reader has the FIFO open, instead of blocking.
      for (;;) {
        if (this.closed) return null;
        try {
          return fdSink(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK), true);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
        }
        await sleep(this.readerPollMs);
      }
    }
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
    return {
      write: async (text) => {
        await handle.write(text);
      },
      close: () => handle.close(),
    };
  }
}

function isFifo(path: string): boolean {
  try {
    return statSync(path).isFIFO();
  } catch {
    return false; // does not exist yet: a regular file will be created
  }
}

/**
 * A sink over an open fd, written with plain writes (never a second libuv stream over an fd that may
 * already have one, like stdout). A full non-blocking pipe (EAGAIN) is retried after a pause. `owned`:
 * the monitor opened this FIFO, so a vanished reader (EPIPE) means "reopen", not "fail".
 */
function fdSink(fd: number, owned: boolean): Sink {
  return {
    write: async (text) => {
      // An event is far smaller than PIPE_BUF, so a write to a pipe is all or nothing: after EPIPE
      // or EAGAIN this event was not written, and is written again later.
      let bytes = Buffer.from(text);
      while (bytes.length > 0) {
        try {
          const { bytesWritten } = await writeToFd(fd, bytes);
          bytes = bytes.subarray(bytesWritten);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') await sleep(FULL_PIPE_RETRY_MS);
          else if (code === 'EPIPE' && owned) throw new ReaderGone(`the event monitor's reader went away`);
          else throw error;
        }
      }
    },
    close: async () => {
      if (owned) closeSync(fd);
    },
  };
}
