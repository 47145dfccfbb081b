// A connection of a Unix socket server, read with recvmsg so that descriptors a client passes
// (SCM_RIGHTS) are kept: Cloud Hypervisor's clients send tap fds with `vm.add-net` that way, and a
// read(2), which is how Node reads its sockets, makes the kernel close them. The net.Socket is never
// read (its server pauses it on connect); a native FdReader reads a dup of its fd and pushes the bytes
// here, and writes go through the net.Socket. To an HTTP server this is an ordinary connection.
import { Duplex } from 'node:stream';
import { closeSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { native, type NativeFdReader } from '../kvm/native.js';

/** Bytes taken per read. */
const READ_SIZE = 64 * 1024;
/** Descriptors a connection may hold unclaimed; a client that sends more is cut off. */
const MAX_PENDING_FDS = 64;

export class FdPassingSocket extends Duplex {
  private readonly reader: NativeFdReader;
  private pendingFds: number[] = [];
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly socket: Socket) {
    super({ allowHalfOpen: true }); // the HTTP server ends the writable side itself
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) throw new Error('FdPassingSocket: the socket has no descriptor');
    this.reader = new (native().FdReader)(fd, () => this.readAvailable());
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  /** The descriptors received so far and not yet taken; the caller owns them from now on. */
  takeFds(): number[] {
    const fds = this.pendingFds;
    this.pendingFds = [];
    return fds;
  }

  /** Closes the descriptors nobody took. */
  dropFds(): void {
    closeFds(this.takeFds());
  }

  /** As net.Socket's: 'timeout' after `ms` without bytes either way; 0 turns it off. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.idleMs = ms;
    if (onTimeout) this.once('timeout', onTimeout);
    this.touch();
    return this;
  }

  override _read(): void {
    this.reader.start();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.touch();
    this.socket.write(chunk, encoding, done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.socket.end(done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.reader.close();
    this.dropFds();
    this.socket.destroy();
    done(error);
  }

  private readAvailable(): void {
    try {
      for (;;) {
        const got = this.reader.receive(READ_SIZE);
        if (got === null) return;
        this.keepFds(got.fds);
        if (got.truncated) throw new Error(`a client passed more than ${MAX_PENDING_FDS} descriptors at once`);
        if (got.data.length === 0) {
          this.reader.stop();
          this.push(null);
          return;
        }
        this.touch();
        if (!this.push(got.data)) {
          this.reader.stop(); // _read starts it again when the reader wants more
          return;
        }
      }
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  private keepFds(fds: number[]): void {
    if (this.destroyed) {
      closeFds(fds);
      return;
    }
    this.pendingFds.push(...fds);
    if (this.pendingFds.length > MAX_PENDING_FDS) throw new Error(`a client left more than ${MAX_PENDING_FDS} descriptors unclaimed`);
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = this.idleMs > 0 && !this.destroyed ? setTimeout(() => this.emit('timeout'), this.idleMs) : null;
    this.idleTimer?.unref();
  }
}

/**
 * Makes `server` (an HTTP server, say) see each connection as an FdPassingSocket: its sockets are
 * paused from the start, so Node never reads them, and the server's own connection handling gets the
 * wrapper. Call before the server listens.
 */
export function readWithFdPassing(server: Server): void {
  const handlers = server.listeners('connection') as Array<(socket: unknown) => void>;
  server.removeAllListeners('connection');
  (server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
  server.on('connection', (socket: Socket) => {
    let wrapped: FdPassingSocket;
    try {
      wrapped = new FdPassingSocket(socket);
    } catch {
      socket.destroy(); // no descriptor: the connection is already gone
      return;
    }
    for (const handle of handlers) handle.call(server, wrapped);
  });
}

export function closeFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed: nothing to release
    }
  }
}
