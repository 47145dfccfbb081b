import test from 'ava';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { ByteRing, LINGER_MS, pumpRing } from '../../../src/host/byte-ring.js';

const PRODUCER = new URL('../../fixtures/ring-producer.js', import.meta.url);
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function withProducer(ring: ByteRing, body: (produce: (count: number, first: number, gapMs?: number) => Promise<void>) => Promise<void>): Promise<void> {
  const worker = new Worker(PRODUCER, { workerData: { buffer: ring.buffer } });
  const produce = async (count: number, first: number, gapMs = 0): Promise<void> => {
    worker.postMessage({ count, first, gapMs });
    await once(worker, 'message');
  };
  try {
    await body(produce);
  } finally {
    await worker.terminate();
  }
}

test('an idle pump sleeps: no drain rounds while nothing is written, and the first byte wakes it', async (t) => {
  const ring = ByteRing.create(1 << 10);
  const drainRound = ring.drain.bind(ring);
  let rounds = 0;
  ring.drain = () => {
    rounds++;
    return drainRound();
  };
  const chunks: number[] = [];
  const pump = pumpRing(ring, (bytes) => chunks.push(...bytes));
  await withProducer(ring, async (produce) => {
    await delay(200);
    t.is(rounds, 0, 'an idle ring was polled');
    const started = Date.now();
    await produce(1, 42);
    while (chunks.length === 0 && Date.now() - started < 2000) await delay(1);
    t.deepEqual(chunks, [42]);
    // One round that took the byte, at most a lingering one or two after it, then asleep again.
    await delay(100);
    const afterBurst = rounds;
    t.true(afterBurst <= 3, `${afterBurst} rounds for one byte`);
    await delay(100);
    t.is(rounds, afterBurst, 'the pump went on polling after the burst');
  });
  pump.stop();
});

test('bytes from a steady producer arrive in order, none lost, each within a few lingers', async (t) => {
  const ring = ByteRing.create(1 << 12);
  const received: number[] = [];
  const pump = pumpRing(ring, (bytes) => received.push(...bytes));
  await withProducer(ring, async (produce) => {
    await produce(300, 0, 1);
    await produce(3000, 300 & 0xff, 0); // a burst that fits the ring
    const deadline = Date.now() + 2000;
    while (received.length < 3300 && Date.now() < deadline) await delay(LINGER_MS);
  });
  pump.stop();
  t.is(received.length, 3300);
  t.is(ring.dropped, 0);
  t.true(received.every((byte, i) => byte === (i & 0xff)), 'bytes out of order');
});

test('a full ring drops and counts bytes instead of blocking the producer', async (t) => {
  const ring = ByteRing.create(1 << 6);
  await withProducer(ring, (produce) => produce(100, 0));
  t.is(ring.pending, 64);
  t.is(ring.dropped, 36);
  const chunk = ring.drain();
  t.deepEqual([...chunk!], Array.from({ length: 64 }, (_, i) => i));
  t.is(ring.drain(), null);
});

test('stop() takes the bytes still in the ring', (t) => {
  const ring = ByteRing.create(1 << 6);
  const received: number[] = [];
  const pump = pumpRing(ring, (bytes) => received.push(...bytes));
  ring.write(7);
  ring.write(8);
  pump.stop();
  t.deepEqual(received, [7, 8]);
});
