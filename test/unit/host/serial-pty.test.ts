// Serial mode Pty's host side, without a guest: a real pseudo-terminal from the addon, a client on its
// slave path like `screen` would be, and a writer that never waits for a reader.
import test from 'ava';
import { closeSync, constants, existsSync, openSync, readSync, writeSync } from 'node:fs';
import { SerialPty } from '../../../src/host/serial-pty.js';

const noInput = async (): Promise<void> => {};

/** Reads what is there now from a non-blocking fd. */
function readAvailable(fd: number): string {
  const buffer = Buffer.alloc(1 << 16);
  let text = '';
  for (;;) {
    try {
      const n = readSync(fd, buffer);
      if (n === 0) return text;
      text += buffer.subarray(0, n).toString('latin1');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw error;
    }
  }
}

/** Reads until `length` bytes came or `ms` passed: the pty hands bytes on through a kernel work queue. */
async function readUntil(fd: number, length: number, ms = 2000): Promise<string> {
  const deadline = Date.now() + ms;
  let text = readAvailable(fd);
  while (text.length < length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    text += readAvailable(fd);
  }
  return text;
}

const openClient = (path: string): number => openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);

test('output reaches a client on the slave byte for byte (raw mode: no \\n → \\r\\n), and its keys come back as input', async (t) => {
  const typed: string[] = [];
  const pty = SerialPty.open({ input: async (bytes) => void typed.push(Buffer.from(bytes).toString('latin1')) });
  try {
    t.regex(pty.path, /^\/dev\/pts\/\d+$/);
    const client = openClient(pty.path);
    const output = 'boot\nline two\n\x00\xff';
    pty.write(Buffer.from(output, 'latin1'));
    t.is(await readUntil(client, output.length), output);
    writeSync(client, 'ls\r\x03');
    const deadline = Date.now() + 2000;
    while (typed.join('') !== 'ls\r\x03' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    t.is(typed.join(''), 'ls\r\x03', 'Ctrl-C and CR pass as bytes, no echo, no signal');
    closeSync(client);
    t.is(pty.dropped, 0);
  } finally {
    await pty.close();
  }
});

test('with nobody reading, writes never block: what the pty cannot hold is dropped and counted', async (t) => {
  const pty = SerialPty.open({ input: noInput });
  try {
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    // a write that waited for a reader would hang here, and the test with it
    for (let i = 0; i < 64; i++) pty.write(chunk);
    t.true(pty.dropped > 0 && pty.dropped < 64 * chunk.length, `dropped ${pty.dropped}`);
    // a client attaching later still gets what the pty held, then new output
    const client = openClient(pty.path);
    const accepted = 64 * chunk.length - pty.dropped;
    const held = await readUntil(client, accepted);
    t.is(held.length, accepted, 'every byte the pty accepted reaches the client');
    pty.write(Buffer.from('after'));
    t.is(await readUntil(client, 5), 'after');
    closeSync(client);
  } finally {
    await pty.close();
  }
});

test('close hangs up: the terminal goes away and a second close is harmless', async (t) => {
  const pty = SerialPty.open({ input: noInput });
  const path = pty.path;
  t.true(existsSync(path));
  await pty.close();
  await pty.close();
  t.false(existsSync(path), `${path} is gone`);
  t.notThrows(() => pty.write(Buffer.from('late')));
});

test('close waits for an attached reader to take the last output before it hangs up', async (t) => {
  const pty = SerialPty.open({ input: noInput });
  const client = openClient(pty.path);
  pty.write(Buffer.from('reboot: Power down\n'));
  const closing = pty.close();
  const text = await readUntil(client, 19);
  await closing;
  closeSync(client);
  t.is(text, 'reboot: Power down\n');
});
