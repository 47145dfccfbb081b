// virtio-console's backend over stand-in fds: output goes out whole or its rest is dropped and
// counted (never waited for), input fills receive buffers, an empty input leaves the request in the
// ring, and an input at its end stops being a source.
import test from 'ava';
import { ConsoleDevice, consoleDeviceInfo, CONSOLE_RX_QUEUE, CONSOLE_TX_QUEUE } from '../../../../src/devices/virtio/console.js';
import type { FdIo } from '../../../../src/devices/virtio/backend.js';
import { DeviceType } from '../../../../src/devices/virtio/constants.js';

function fakeFds(input: Array<Uint8Array | 'eof'>, room = Infinity) {
  const written: number[] = [];
  const io: FdIo = {
    readv: (_fd, buffers) => {
      const next = input.shift();
      if (next === undefined) return -1;
      if (next === 'eof') return 0;
      buffers[0].set(next);
      return next.length;
    },
    writev: (_fd, buffers) => {
      const bytes = buffers.flatMap((b) => [...b]);
      const take = Math.min(bytes.length, room - written.length);
      if (take === 0) return -11; // EAGAIN
      written.push(...bytes.slice(0, take));
      return take;
    },
  };
  return { io, written };
}

const text = (s: string) => new TextEncoder().encode(s);

test('one port, two queues, no multiport', (t) => {
  const info = consoleDeviceInfo();
  t.is(info.type, DeviceType.CONSOLE);
  t.is(info.queueSizes.length, 2);
});

test('guest output reaches the output fd; what the fd cannot take is dropped and counted', (t) => {
  const fds = fakeFds([], 5);
  const device = new ConsoleDevice({ output: 1, input: null }, fds.io);
  t.is(device.handle(CONSOLE_TX_QUEUE, { head: 0, readable: [text('hel'), text('lo, world')], writable: [] }), 0);
  t.is(new TextDecoder().decode(Uint8Array.from(fds.written)), 'hello');
  t.is(device.dropped, 7);
  t.deepEqual(device.sources, []);
  const nowhere = new ConsoleDevice({ output: null, input: null }, fds.io);
  t.is(nowhere.handle(CONSOLE_TX_QUEUE, { head: 0, readable: [text('x')], writable: [] }), 0, 'mode Null: taken and discarded');
});

test('typed input fills a receive buffer; none waiting gives null; at its end the input stops being a source', (t) => {
  const device = new ConsoleDevice({ output: null, input: 7 }, fakeFds([text('ls\r'), 'eof']).io);
  t.deepEqual(device.sources, [{ fd: 7, queue: CONSOLE_RX_QUEUE }]);
  const buffer = new Uint8Array(64);
  t.is(device.handle(CONSOLE_RX_QUEUE, { head: 0, readable: [], writable: [buffer] }), 3);
  t.is(new TextDecoder().decode(buffer.subarray(0, 3)), 'ls\r');
  t.is(device.handle(CONSOLE_RX_QUEUE, { head: 1, readable: [], writable: [buffer] }), null, 'end of input');
  t.deepEqual(device.sources, [], 'not watched any more');
  t.is(device.handle(CONSOLE_RX_QUEUE, { head: 1, readable: [], writable: [buffer] }), null);
});
