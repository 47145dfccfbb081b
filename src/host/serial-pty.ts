// Serial mode Pty: the guest's serial port on a new pseudo-terminal, as QEMU's `-serial pty` and Cloud
// Hypervisor's Pty mode do. A user attaches with `screen PATH` (or minicom, or a libvirt console);
// what they type goes to the guest. The VMM holds the slave side open too, so the master never reads
// EIO while nobody is attached, and writes to the master without waiting: output that no reader takes
// (the pty's own buffer full) is dropped and counted, and the guest never waits for a reader.
import { closeSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { native } from '../kvm/native.js';
import { forwardChunk } from './serial-input.js';

export interface SerialPtyOptions {
  /** host → guest; the pty is not read again until these bytes are taken (backpressure) */
  input(bytes: Uint8Array): Promise<void>;
  log?: (message: string) => void;
}

const CLOSE_GRACE_MS = 500;
const CLOSE_POLL_MS = 10;

export class SerialPty {
  private droppedBytes = 0;
  private closed = false;

  /** Makes a new pty; throws an Error naming the failing call (posix_openpt, …) when it cannot. */
  static open(options: SerialPtyOptions): SerialPty {
    const { master, slave, path } = native().openPty();
    return new SerialPty(master, slave, path, options);
  }

  private readonly reader: ReadStream;

  private constructor(
    private readonly master: number,
    private readonly slave: number,
    /** the slave's path, e.g. /dev/pts/3: what a user opens */
    readonly path: string,
    private readonly options: SerialPtyOptions,
  ) {
    // libuv reads a pty master through its TTY handle; its writes to a master would block, so they
    // go through writeSync on the non-blocking fd instead.
    this.reader = new ReadStream(master);
    this.reader.on('error', (error) => options.log?.(`serial pty ${path}: ${error.message}`));
    this.reader.on('data', (chunk: Buffer) =>
      forwardChunk(this.reader, chunk, options.input, (error) => options.log?.(`serial pty: input dropped: ${error.message}`), () => !this.closed),
    );
  }

  /** Output bytes no reader took. */
  get dropped(): number {
    return this.droppedBytes;
  }

  /** Guest → pty. Never blocks. */
  write(bytes: Uint8Array): void {
    if (this.closed) return;
    let written = 0;
    try {
      written = writeSync(this.master, bytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') this.options.log?.(`serial pty ${this.path}: ${(error as Error).message}`);
    }
    this.droppedBytes += bytes.length - written;
  }

  /**
   * Closes both sides: an attached client sees the terminal hang up. A hangup discards what the client
   * has not read yet, so the guest's last words (written just before a poweroff) would be lost: wait
   * up to CLOSE_GRACE_MS for the pty's input queue to empty first. Nobody reading means the full wait.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = Date.now() + CLOSE_GRACE_MS;
    do {
      // the kernel moves written bytes into the queue from a work queue: give it a moment first
      await new Promise((resolve) => setTimeout(resolve, CLOSE_POLL_MS));
    } while (native().ptyUnread(this.slave) > 0 && Date.now() < deadline);
    this.reader.destroy(); // closes the master fd
    closeSync(this.slave);
  }
}
