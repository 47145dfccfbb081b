// Serial mode Socket: the guest's serial port on a Unix socket server. Every connected client gets
// the guest's output from the moment it connects; what any client sends goes to the guest. The socket
// file is made like the API socket (owner-only, a stale file replaced, a live socket or a non-socket
// refused, removed when the VMM ends) by the same code.
import { createServer, type Server, type Socket } from 'node:net';
import { listenOnSocket, type BoundSocket } from './listen-socket.js';
import { forwardChunk } from './serial-input.js';

export interface SerialSocketOptions {
  /** host → guest; the client is paused until its bytes are taken (backpressure) */
  input(bytes: Uint8Array): Promise<void>;
  log?: (message: string) => void;
}

// A client that reads slower than the guest writes loses output past this much backlog rather than
// holding the VMM's memory (the guest never waits for a reader).
const MAX_CLIENT_BACKLOG = 1 << 20;

export class SerialSocketServer {
  private readonly clients = new Set<Socket>();
  private readonly server: Server;
  private bound: BoundSocket | null = null;
  private droppedBytes = 0;

  /** Listens on `path`; rejects with an 'invalid-config' VmmError naming the path when it cannot. */
  static async open(path: string, options: SerialSocketOptions): Promise<SerialSocketServer> {
    const socket = new SerialSocketServer(options);
    socket.bound = await listenOnSocket(socket.server, { path }, 'serial socket');
    socket.server.on('error', (error) => options.log?.(`serial socket ${path}: ${error.message}`));
    return socket;
  }

  private constructor(private readonly options: SerialSocketOptions) {
    this.server = createServer((client) => this.accept(client));
  }

  /** Output bytes that slow clients did not get. */
  get dropped(): number {
    return this.droppedBytes;
  }

  /** Guest → every connected client. Never blocks. */
  write(bytes: Uint8Array): void {
    for (const client of this.clients) {
      if (client.writableLength > MAX_CLIENT_BACKLOG) this.droppedBytes += bytes.length;
      else client.write(bytes);
    }
  }

  /** Disconnects the clients and removes the socket file at once. */
  close(): void {
    this.bound?.release();
    this.bound = null;
    for (const client of this.clients) client.destroy();
    this.clients.clear();
    this.server.close();
  }

  private accept(client: Socket): void {
    this.clients.add(client);
    client.on('close', () => this.clients.delete(client));
    client.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) =>
      forwardChunk(client, chunk, this.options.input, (error) => this.options.log?.(`serial socket: input dropped: ${error.message}`)),
    );
  }
}
