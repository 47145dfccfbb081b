// The destination's socket: listens on unix:/PATH or tcp:HOST:PORT and hands over the first connection
// that says something. A connection that closes before its first byte (a port probe) is let go and the
// listener waits on; once a migration connection is taken, later ones are turned away.
import { createServer, type Server, type Socket } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import { VmmError } from '../errors.js';
import { MigrationChannel } from './channel.js';
import { describeEndpoint, type MigrationEndpoint } from './url.js';

export interface MigrationListener {
  /** the first connection that sends data */
  accept(): Promise<MigrationChannel>;
  close(): Promise<void>;
}

/** A unix socket path may be reused if what is there is a stale socket; anything else is refused. */
async function clearSocketPath(path: string): Promise<void> {
  const existing = await lstat(path).catch(() => null);
  if (!existing) return;
  if (!existing.isSocket()) throw new VmmError('invalid-config', `receiver_url: ${path} exists and is not a socket`);
  await unlink(path);
}

export async function listenForMigration(endpoint: MigrationEndpoint): Promise<MigrationListener> {
  if (endpoint.kind === 'unix') await clearSocketPath(endpoint.path);
  let taken = false;
  let deliver: ((channel: MigrationChannel) => void) | null = null;
  let ready: MigrationChannel | null = null;
  const server: Server = createServer((socket: Socket) => {
    if (taken) return void socket.destroy();
    const onFirstData = (chunk: Buffer) => {
      socket.off('close', onClose);
      if (taken) return void socket.destroy();
      taken = true;
      socket.pause();
      socket.unshift(chunk); // the channel reads it first
      const channel = new MigrationChannel(socket);
      socket.resume();
      if (deliver) deliver(channel);
      else ready = channel;
    };
    const onClose = () => socket.off('data', onFirstData);
    socket.once('data', onFirstData);
    socket.once('close', onClose);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new VmmError('invalid-config', `receiver_url: cannot listen on ${describeEndpoint(endpoint)} (${error.code ?? error.message})`, { cause: error })),
    );
    if (endpoint.kind === 'unix') server.listen(endpoint.path, resolve);
    else server.listen(endpoint.port, endpoint.host, resolve);
  });
  return {
    accept: () => (ready ? Promise.resolve(ready) : new Promise((resolve) => (deliver = resolve))),
    // Stops listening at once; server.close()'s callback would wait for the migration's own connection.
    close: async () => {
      if (server.listening) server.close();
      if (endpoint.kind === 'unix') await unlink(endpoint.path).catch(() => {});
    },
  };
}
