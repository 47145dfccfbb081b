// One migration connection as a sequence of exact reads and flushed writes over a socket. Reads fill a
// caller's buffer (guest RAM itself, for Memory) straight from the socket's chunks; the socket is paused
// while enough is buffered, so a fast peer cannot make the reader hold more than a bound. Every wait has
// an idle limit and ends early on close() or the connection's loss: nothing hangs for ever.
import { connect as connectSocket, type Socket } from 'node:net';
import { MigrationError } from './errors.js';
import { describeEndpoint, type MigrationEndpoint } from './url.js';
import { HEADER_BYTES, decodeRequest, decodeResponse, encodeResponse, type Request, type Response, type StatusCode } from './protocol.js';

/** No progress for this long on an open connection ends the migration. */
export const IDLE_TIMEOUT_MS = 60_000;
const HIGH_WATER = 8 << 20;

export class MigrationChannel {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly idleMs = IDLE_TIMEOUT_MS,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered >= HIGH_WATER) socket.pause();
      this.notify();
    });
    socket.on('end', () => this.fail(new MigrationError('the peer closed the connection')));
    socket.on('error', (error) => this.fail(new MigrationError(`connection: ${error.message}`, { cause: error })));
    socket.on('close', () => this.fail(new MigrationError('the connection closed')));
  }

  /** Reads exactly `target.length` bytes into `target`. */
  async readInto(target: Uint8Array): Promise<void> {
    let filled = 0;
    while (filled < target.length) {
      if (this.buffered === 0) await this.waitForData();
      const chunk = this.chunks[0];
      const take = Math.min(chunk.length, target.length - filled);
      target.set(chunk.subarray(0, take), filled);
      filled += take;
      this.buffered -= take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    if (this.buffered < HIGH_WATER && this.socket.isPaused()) this.socket.resume();
  }

  async readExactly(length: number): Promise<Buffer> {
    const bytes = Buffer.alloc(length);
    await this.readInto(bytes);
    return bytes;
  }

  async readRequest(): Promise<Request> {
    return decodeRequest(await this.readExactly(HEADER_BYTES));
  }

  async readResponse(): Promise<Response> {
    return decodeResponse(await this.readExactly(HEADER_BYTES));
  }

  /** Writes `bytes` and resolves once the socket has taken them (so the caller may reuse them). */
  write(bytes: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (error) => (error ? reject(new MigrationError(`connection: ${error.message}`, { cause: error })) : resolve()));
    });
  }

  /**
   * Writes every part in order, waiting for the socket to drain whenever it is full; resolves once the
   * last has been taken. `abort` is checked between parts.
   */
  async writeAll(parts: readonly Uint8Array[], abort?: AbortSignal): Promise<void> {
    // Every write is awaited, and handled from the start: a peer that goes away fails each pending
    // write (EPIPE), and one left without a handler would end the process.
    const writes: Promise<void>[] = [];
    for (const part of parts) {
      abort?.throwIfAborted();
      if (this.failure) throw this.failure;
      const written = this.write(part);
      written.catch(() => {});
      writes.push(written);
      if (this.socket.writableNeedDrain) await Promise.race([this.drained(), written]);
    }
    await Promise.all(writes);
  }

  respond(status: StatusCode, payload?: Uint8Array): Promise<void> {
    const header = encodeResponse(status, payload?.length ?? 0);
    return this.write(payload ? Buffer.concat([header, payload]) : header);
  }

  /** Ends the connection; waits in progress reject with `reason`. */
  close(reason = 'the migration ended'): void {
    this.fail(new MigrationError(reason));
    this.socket.destroy();
  }

  /** Lets pending writes go out, then closes. */
  async end(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.end(resolve));
    this.close();
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onDrain);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => settle();
      const timer = setTimeout(() => settle(new MigrationError(`the peer took no data for ${this.idleMs / 1000} s`)), this.idleMs);
      this.socket.on('drain', onDrain);
      this.socket.on('close', onDrain);
    });
  }

  private waitForData(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new MigrationError(`no data from the peer for ${this.idleMs / 1000} s`)), this.idleMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        if (this.buffered > 0) resolve();
        else reject(this.failure ?? new MigrationError('the connection closed'));
      };
    });
  }

  private notify(): void {
    this.wake?.();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.notify();
  }
}

/** Connects to a migration destination; a refusal or silence is a MigrationError naming it. */
export function connectChannel(endpoint: MigrationEndpoint, timeoutMs = 10_000): Promise<MigrationChannel> {
  return new Promise((resolve, reject) => {
    const socket = endpoint.kind === 'unix' ? connectSocket({ path: endpoint.path }) : connectSocket({ host: endpoint.host, port: endpoint.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new MigrationError(`cannot connect to ${describeEndpoint(endpoint)}: no answer in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay?.(true);
      resolve(new MigrationChannel(socket));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new MigrationError(`cannot connect to ${describeEndpoint(endpoint)} (${error.code ?? error.message}): is the destination receiving?`, { cause: error }));
    });
  });
}
