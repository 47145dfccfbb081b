// The event monitor with the readers a management layer brings: a FIFO opened after the VMM started
// (libvirt), a slow reader, a reader that goes away, none at all. It must never block and never lose an
// event without saying so.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventMonitor } from '../../../src/api/event-monitor.js';
import type { VmmEvent } from '../../../src/vmm/events.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-events-'));
let n = 0;
const stamp = (): VmmEvent['timestamp'] => ({ secs: 0, nanos: 0 });
const event = (name: string): VmmEvent => ({ timestamp: stamp(), source: 'vm', event: name, properties: null });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fifo(): string {
  const path = join(tmp, `fifo-${n++}`);
  execFileSync('mkfifo', [path]);
  return path;
}

/** A FIFO reader that opens without waiting for a writer and collects events as they come. */
function openReader(path: string): { socket: Socket; events(): Array<{ event: string; properties: Record<string, string> | null }>; ended: Promise<void> } {
  const socket = new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()));
  return {
    socket,
    ended,
    events: () =>
      text
        .split(/\n\n+/)
        .filter((chunk) => chunk.trim() !== '' && chunk.trim().endsWith('}'))
        .map((chunk) => JSON.parse(chunk)),
  };
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('a FIFO nobody reads yet: writes return at once, and the reader that comes later gets every event in order', async (t) => {
  const path = fifo();
  const monitor = new EventMonitor({ path }, stamp, undefined, { readerPollMs: 10 });
  const started = process.hrtime.bigint();
  for (let i = 0; i < 5; i++) monitor.write(event(`e${i}`));
  t.true(Number(process.hrtime.bigint() - started) / 1e6 < 50, 'write() does not wait for a reader');
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  await sleep(150);
  clearInterval(ticker);
  // A writer blocked in open(2) on a FIFO without reader would stop the loop for good (0 ticks); a
  // loaded machine only slows the ticks, so a few are proof enough.
  t.true(ticks >= 3, `the event loop keeps running while the FIFO has no reader (${ticks} ticks)`);
  t.is(monitor.pendingCount, 5);

  const reader = openReader(path);
  await until(() => reader.events().length === 5, '5 events');
  t.deepEqual(reader.events().map((e) => e.event), ['e0', 'e1', 'e2', 'e3', 'e4']);
  await monitor.close();
  await reader.ended;
  t.is(monitor.lostCount, 0);
});

test('a slow reader: the pipe fills up, nothing blocks, nothing is lost', async (t) => {
  const path = fifo();
  const reader = openReader(path);
  reader.socket.pause();
  const monitor = new EventMonitor({ path }, stamp, undefined, { readerPollMs: 10 });
  const count = 2000; // ~300 KB: several times a pipe's 64 KiB
  const started = Date.now();
  for (let i = 0; i < count; i++) monitor.write(event(`e${i}`));
  t.true(Date.now() - started < 500, 'queueing is cheap');
  await sleep(200);
  t.true(monitor.pendingCount > 0, 'the full pipe holds the rest back');
  reader.socket.resume();
  await until(() => reader.events().length === count, `${count} events`, 15_000);
  t.deepEqual(reader.events().map((e) => e.event), Array.from({ length: count }, (_, i) => `e${i}`));
  t.is(monitor.lostCount, 0);
  await monitor.close();
});

test('a reader that goes away: the FIFO is reopened and the next reader gets the events written meanwhile', async (t) => {
  const path = fifo();
  const monitor = new EventMonitor({ path }, stamp, undefined, { readerPollMs: 10 });
  const first = openReader(path);
  for (let i = 0; i < 3; i++) monitor.write(event(`a${i}`));
  await until(() => first.events().length === 3, 'the first reader');
  first.socket.destroy();
  await sleep(20);
  for (let i = 0; i < 3; i++) monitor.write(event(`b${i}`));
  await sleep(100); // the writer meets EPIPE and waits for a new reader
  const second = openReader(path);
  await until(() => second.events().length === 3, 'the second reader');
  t.deepEqual(second.events().map((e) => e.event), ['b0', 'b1', 'b2']);
  t.is(monitor.lostCount, 0);
  await monitor.close();
});

test('past the bound the oldest pending events are dropped, counted, and the loss is written in the stream', async (t) => {
  const path = fifo();
  const monitor = new EventMonitor({ path }, stamp, undefined, { maxPending: 10, readerPollMs: 10 });
  for (let i = 0; i < 25; i++) monitor.write(event(`e${i}`));
  t.is(monitor.lostCount, 15);
  t.is(monitor.pendingCount, 10);
  const reader = openReader(path);
  await until(() => reader.events().length === 11, 'the loss report and 10 events');
  const got = reader.events();
  t.is(got[0].event, 'events-lost');
  t.deepEqual(got[0].properties, { count: '15' });
  t.deepEqual(got.slice(1).map((e) => e.event), Array.from({ length: 10 }, (_, i) => `e${i + 15}`));
  await monitor.close();
});

test('a file target appends; an fd target is written as is', async (t) => {
  const file = join(tmp, `events-${n++}.json`);
  const byPath = new EventMonitor({ path: file }, stamp);
  byPath.write(event('one'));
  byPath.write(event('two'));
  await byPath.close();
  const again = new EventMonitor({ path: file }, stamp);
  again.write(event('three'));
  await again.close();
  const names = readFileSync(file, 'utf8').split(/\n\n+/).filter((c) => c.trim()).map((c) => JSON.parse(c).event);
  t.deepEqual(names, ['one', 'two', 'three']);

  const fdFile = join(tmp, `events-${n++}.json`);
  const fd = openSync(fdFile, 'w');
  const byFd = new EventMonitor({ fd }, stamp);
  byFd.write(event('x'));
  await byFd.close();
  closeSync(fd);
  t.regex(readFileSync(fdFile, 'utf8'), /"event": "x"/);
});

test('a target that fails for good: the failure is reported once and every event after it is counted', async (t) => {
  // An inherited pipe whose reader is gone cannot be reopened: EPIPE is final.
  const path = fifo();
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  closeSync(readFd);
  const errors: Error[] = [];
  const monitor = new EventMonitor({ fd: writeFd }, stamp, (e) => errors.push(e));
  monitor.write(event('lost-1'));
  await until(() => errors.length === 1, 'the error report');
  monitor.write(event('lost-2'));
  monitor.write(event('lost-3'));
  t.is(monitor.lostCount, 3);
  t.regex(errors[0].message, /EPIPE|broken pipe/i);
  t.is(errors.length, 1);
  await monitor.close();
  closeSync(writeFd);
});

test('close() with no reader returns within its timeout and counts what was never delivered', async (t) => {
  const path = fifo();
  const monitor = new EventMonitor({ path }, stamp, undefined, { readerPollMs: 10 });
  monitor.write(event('never-read'));
  const started = Date.now();
  await monitor.close(200);
  t.true(Date.now() - started < 1000);
  t.is(monitor.lostCount, 1);
});
