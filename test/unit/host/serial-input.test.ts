// Host → guest serial input: the queue that feeds a 16-byte FIFO without dropping, reordering or blocking.
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Serial8250, UartRegister as R } from '../../../src/devices/serial8250.js';
import { SerialInput, SerialInputQueue, type UartReceiver } from '../../../src/host/serial-input.js';
import { VmmError } from '../../../src/errors.js';
import { ByteCollector, FakeIrq } from '../devices/helpers/fakes.js';

const LSR_DR = 0x01;

/** A 16550A with its FIFO on, and a guest side that reads it on demand. */
function uartWithFifo() {
  const uart = new Serial8250({ irq: new FakeIrq(), output: new ByteCollector() });
  uart.write(R.FCR, 1, 0x01);
  const guestReads = (max = Infinity): number[] => {
    const got: number[] = [];
    while (got.length < max && (uart.read(R.LSR, 1) & LSR_DR) !== 0) got.push(uart.read(R.RBR, 1));
    return got;
  };
  return { uart, guestReads };
}

const text = (bytes: number[]): string => String.fromCharCode(...bytes);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a write larger than the FIFO is fed as the guest reads, complete and in order', async (t) => {
  const { uart, guestReads } = uartWithFifo();
  const queue = new SerialInputQueue(uart);
  const data = Uint8Array.from({ length: 10_240 }, (_, i) => (i * 31) & 0xff);
  let done = false;
  const written = queue.write(data).then(() => (done = true));
  const received: number[] = [];
  while (received.length < data.length) {
    await tick();
    received.push(...guestReads(5)); // a slow guest: a few bytes at a time
  }
  await written;
  t.true(done);
  t.deepEqual(received, [...data]);
  t.is(queue.queuedBytes, 0);
});

test('the write resolves only once the UART has taken its last byte', async (t) => {
  const { uart, guestReads } = uartWithFifo();
  const queue = new SerialInputQueue(uart);
  let done = false;
  const written = queue.write(new Uint8Array(20).fill(0x41)).then(() => (done = true));
  await tick();
  t.false(done, '4 bytes still wait for FIFO space');
  t.is(queue.queuedBytes, 4);
  guestReads(4);
  await written;
  t.is(queue.queuedBytes, 0);
});

test('successive writes keep their order, and the caller may reuse its buffer at once', async (t) => {
  const { uart, guestReads } = uartWithFifo();
  const queue = new SerialInputQueue(uart);
  const buffer = Buffer.from('first-chunk-of-input|');
  const writes = [queue.write(buffer)];
  buffer.fill(0x2e); // the queue copied it
  writes.push(queue.write(Buffer.from('second|')), queue.write(Buffer.from('third')));
  const received: number[] = [];
  while (received.length < 33) {
    await tick();
    received.push(...guestReads());
  }
  await Promise.all(writes);
  t.is(text(received), 'first-chunk-of-input|second|third');
});

test('close discards what the UART has not taken and rejects pending and later writes', async (t) => {
  const { uart, guestReads } = uartWithFifo();
  const queue = new SerialInputQueue(uart);
  const pending = queue.write(new Uint8Array(40).fill(0x42));
  const reason = new VmmError('wrong-state', 'the VM stopped');
  queue.close(reason);
  await t.throwsAsync(pending, { is: reason });
  await t.throwsAsync(queue.write(Uint8Array.of(1)), { is: reason });
  t.is(guestReads().length, 16, 'only what the FIFO held before the close');
  t.is(queue.queuedBytes, 0);
});

test('a UART that accepts nothing (loopback) holds the bytes until it accepts again', async (t) => {
  const { uart, guestReads } = uartWithFifo();
  uart.write(R.MCR, 1, 0x10); // loopback: cut off from the line
  const queue = new SerialInputQueue(uart);
  const written = queue.write(Buffer.from('held'));
  await tick();
  t.is(queue.queuedBytes, 4);
  uart.write(R.MCR, 1, 0x00);
  await written;
  t.is(text(guestReads()), 'held');
});

test('a UART failing on receive closes the queue with an internal error', async (t) => {
  const broken: UartReceiver = {
    receiveAsync: async () => {
      throw new Error('KVM_IRQ_LINE: bad file descriptor');
    },
    waitForRxSpace: async () => true,
  };
  const queue = new SerialInputQueue(broken);
  const error = await t.throwsAsync(queue.write(Uint8Array.of(1)), { instanceOf: VmmError });
  t.is(error?.kind, 'internal');
  t.regex(error?.message ?? '', /serial input failed: KVM_IRQ_LINE/);
});

test('a guest in another thread receives everything the main thread queues, in order', async (t) => {
  const { uart } = uartWithFifo();
  const queue = new SerialInputQueue(uart);
  const count = 4000;
  const data = Uint8Array.from({ length: count }, (_, i) => (i * 13) & 0xff);
  const worker = new Worker(new URL('../devices/fixtures/device-worker.js', import.meta.url), {
    workerData: { kind: 'serial-reader', buffer: uart.state.buffer, count },
  });
  const received = new Promise<number[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // In pieces, as a terminal or socket would deliver them.
  await Promise.all([0, 1000, 2500].map((start, i, starts) => queue.write(data.subarray(start, starts[i + 1] ?? count))));
  t.deepEqual(await received, [...data]);
  await worker.terminate();
});

test('SerialInput: writes reject until a UART is attached, and after the VM build ends', async (t) => {
  const { uart, guestReads } = uartWithFifo();
  const input = new SerialInput();
  const none = await t.throwsAsync(input.write(Uint8Array.of(1)), { instanceOf: VmmError });
  t.is(none?.kind, 'wrong-state');
  t.regex(none?.message ?? '', /no VM is running/);

  input.attach(null);
  await t.throwsAsync(input.write(Uint8Array.of(1)), { message: /no serial port \(serial mode Off\)/ });

  input.attach(uart);
  await input.write(Buffer.from('ok'));
  t.is(text(guestReads()), 'ok');
  const pending = input.write(new Uint8Array(32));
  input.detach();
  const stopped = await t.throwsAsync(pending, { instanceOf: VmmError });
  t.is(stopped?.kind, 'wrong-state');
  t.regex(stopped?.message ?? '', /VM stopped before its serial port took these bytes/);
  await t.throwsAsync(input.write(Uint8Array.of(1)), { message: /no VM is running/ });
});
