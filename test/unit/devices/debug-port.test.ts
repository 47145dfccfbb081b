import test from 'ava';
import { Worker } from 'node:worker_threads';
import { DebugConsole, PostCodePort } from '../../../src/devices/debug-port.js';
import { PioBus } from '../../../src/devices/bus.js';
import { Pio } from '../../../src/devices/addresses.js';
import { ByteCollector } from './helpers/fakes.js';

test('port 0x80 counts writes and keeps the last code', (t) => {
  const post = new PostCodePort();
  const bus = new PioBus();
  bus.register(Pio.POST_CODE, 1, post);
  t.is(post.count, 0);
  for (const code of [0x10, 0x20, 0x00, 0x00, 0xab]) bus.write(0x80, 1, code);
  t.is(post.count, 5);
  t.is(post.lastCode, 0xab);
  t.is(bus.read(0x80, 1), 0xab, 'reads return the latched code');
});

test('instances over one state share the count', (t) => {
  const a = new PostCodePort();
  const b = new PostCodePort({}, a.state.buffer);
  a.write(0, 1, 1);
  b.write(0, 1, 2);
  t.is(a.count, 2);
  t.is(a.lastCode, 2);
});

test('concurrent writers in two threads lose no count', async (t) => {
  const post = new PostCodePort();
  const count = 200_000;
  const worker = new Worker(new URL('./fixtures/device-worker.js', import.meta.url), {
    workerData: { kind: 'post-writer', buffer: post.state.buffer, count },
  });
  const done = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  for (let i = 0; i < count; i++) post.write(0, 1, 0x55);
  await done;
  t.is(post.count, 2 * count);
  await worker.terminate();
});

test('0xE9 and 0x402 send each byte to the debug log; reads return 0xE9', (t) => {
  const log = new ByteCollector();
  const debug = new DebugConsole({ log });
  const bus = new PioBus();
  bus.register(Pio.DEBUG_CONSOLE_BOCHS, 1, debug);
  bus.register(Pio.DEBUG_CONSOLE_QEMU, 1, debug);
  for (const c of 'ok') bus.write(0xe9, 1, c.charCodeAt(0));
  bus.write(0x402, 1, 0x21);
  bus.write(0x402, 2, 0x0a0a); // a word write: the port is a byte wide
  t.is(log.text, 'ok!\n');
  t.is(bus.read(0xe9, 1), 0xe9);
  t.is(bus.read(0x402, 1), 0xe9);
});
