// The fd-passing connection (src/host/fd-passing-socket.ts) leaves nothing behind when it closes: a
// native reader that kept its callback after close held the connection, and itself, for ever (the
// reboot storm's VMM grew 120 MiB over 1 000 resets, one API connection per poll of vm.counters).
import test from 'ava';
import { createServer, connect, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readWithFdPassing, FdPassingSocket } from '../../../src/host/fd-passing-socket.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CONNECTIONS = 50;

test('closed connections are collected, readers and all', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'nodevmm-fdsock-')), 'echo.sock');
  const alive: WeakRef<FdPassingSocket>[] = [];
  const server: Server = createServer();
  server.on('connection', (socket: FdPassingSocket) => {
    alive.push(new WeakRef(socket));
    socket.on('data', (chunk: Buffer) => socket.end(chunk)); // echo once, then close
  });
  readWithFdPassing(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => server.close());

  for (let i = 0; i < CONNECTIONS; i++) {
    const echoed = await new Promise<string>((resolve, reject) => {
      const client = connect(path, () => client.write(`hello ${i}`));
      let text = '';
      client.on('data', (chunk: Buffer) => (text += chunk.toString()));
      client.on('close', () => resolve(text));
      client.on('error', reject);
    });
    t.is(echoed, `hello ${i}`);
  }
  t.is(alive.length, CONNECTIONS);
  for (let round = 0; round < 5 && alive.some((ref) => ref.deref() !== undefined); round++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
  }
  t.is(alive.filter((ref) => ref.deref() !== undefined).length, 0, 'connections still reachable after they closed');
});
