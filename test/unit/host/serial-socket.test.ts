// Serial mode Socket without a VM: the socket file, output to every client, client input to the guest.
import test from 'ava';
import { connect, createServer, type Socket } from 'node:net';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialSocketServer } from '../../../src/host/serial-socket.js';
import { VmmError } from '../../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-serial-socket-'));
let n = 0;
const socketPath = (): string => join(tmp, `serial-${n++}.sock`);

/** A client that collects what it receives. */
async function client(path: string): Promise<{ socket: Socket; text(): string; waitFor(s: string): Promise<void> }> {
  const socket = connect({ path });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  const waiters = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    waiters.forEach((w) => w());
  });
  return {
    socket,
    text: () => received,
    waitFor: (s) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (received.includes(s)) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Resolves once the server has seen `count` connections (accept runs on the server's next turn). */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

test('the socket file is owner-only while open and gone after close', async (t) => {
  const path = socketPath();
  const server = await SerialSocketServer.open(path, { input: async () => {} });
  t.true(statSync(path).isSocket());
  t.is(statSync(path).mode & 0o777, 0o600);
  server.close();
  t.false(existsSync(path));
});

test('guest output reaches every connected client; a later client sees output from then on', async (t) => {
  const path = socketPath();
  const server = await SerialSocketServer.open(path, { input: async () => {} });
  const first = await client(path);
  await settle();
  server.write(Buffer.from('early\n'));
  await first.waitFor('early\n');
  const second = await client(path);
  await settle();
  server.write(Buffer.from('late\n'));
  await Promise.all([first.waitFor('late\n'), second.waitFor('late\n')]);
  t.is(first.text(), 'early\nlate\n');
  t.is(second.text(), 'late\n');
  server.close();
});

test('client bytes go to the guest in order, one chunk at a time', async (t) => {
  const path = socketPath();
  const got: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = await SerialSocketServer.open(path, {
    input: async (bytes) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5)); // a guest taking its time
      got.push(Buffer.from(bytes).toString('latin1'));
      inFlight--;
    },
  });
  const c = await client(path);
  const data = 'x'.repeat(200_000) + 'END';
  c.socket.write(data);
  const deadline = Date.now() + 10_000;
  while (!got.join('').endsWith('END') && Date.now() < deadline) await settle();
  t.is(got.join(''), data);
  t.is(maxInFlight, 1, 'the client is paused until its bytes are taken');
  server.close();
});

test('input that cannot be delivered (no VM) is dropped and logged; the client stays connected', async (t) => {
  const path = socketPath();
  const logs: string[] = [];
  const server = await SerialSocketServer.open(path, {
    input: () => Promise.reject(new VmmError('wrong-state', 'cannot write to the serial port: no VM is running')),
    log: (m) => logs.push(m),
  });
  const c = await client(path);
  c.socket.write('hello');
  await settle();
  t.regex(logs.join('\n'), /input dropped: cannot write to the serial port: no VM is running/);
  server.write(Buffer.from('still here'));
  await c.waitFor('still here');
  server.close();
});

test('close disconnects the clients', async (t) => {
  const path = socketPath();
  const server = await SerialSocketServer.open(path, { input: async () => {} });
  const c = await client(path);
  await settle();
  const closed = new Promise<void>((resolve) => c.socket.once('close', () => resolve()));
  server.close();
  await closed;
  t.true(c.socket.destroyed, 'the client socket was closed by the server');
});

test('a client that stops reading loses output past its backlog: the guest never waits for it', async (t) => {
  const path = socketPath();
  const server = await SerialSocketServer.open(path, { input: async () => {} });
  const slow = await client(path);
  slow.socket.pause();
  await settle();
  const chunk = Buffer.alloc(64 << 10, 0x2e);
  for (let i = 0; i < 64; i++) server.write(chunk); // 4 MiB at once
  t.true(server.dropped > 0);
  t.true(server.dropped < 4 << 20);
  server.close();
});

test('a path that is not a socket, or a socket another process serves, is refused', async (t) => {
  const file = join(tmp, 'plain-file');
  writeFileSync(file, 'keep me');
  const notSocket = await t.throwsAsync(SerialSocketServer.open(file, { input: async () => {} }), { instanceOf: VmmError });
  t.is(notSocket?.kind, 'invalid-config');
  t.regex(notSocket?.message ?? '', /serial socket .*plain-file: the path exists and is not a socket/);
  t.true(existsSync(file));

  const live = socketPath();
  const other = createServer();
  await new Promise<void>((resolve) => other.listen(live, resolve));
  await t.throwsAsync(SerialSocketServer.open(live, { input: async () => {} }), { message: /serial socket .*: in use by another process/ });
  await new Promise((resolve) => other.close(resolve));
});
