import test from 'ava';
import { Worker } from 'node:worker_threads';
import { SharedState } from '../../../src/devices/shared-state.js';

const WORKER = new URL('./fixtures/lock-worker.js', import.meta.url);

function runWorker(buffer: SharedArrayBuffer, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { buffer, count } });
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
}

test('worker threads contending for the lock lose no increment', async (t) => {
  t.timeout(60_000);
  const state = SharedState.create(2);
  const workers = 3;
  const count = 100_000;
  await Promise.all(Array.from({ length: workers }, () => runWorker(state.buffer, count)));
  t.is(state.words[1], workers * count);
  t.false(state.locked);
});

test('the main thread takes the lock with runAsync while workers contend, never blocking', async (t) => {
  t.timeout(60_000);
  const state = SharedState.create(2);
  const done = Promise.all([runWorker(state.buffer, 50_000), runWorker(state.buffer, 50_000)]);
  // Microtask-only turns would starve the event loop (and the workers' messages): yield now and then.
  const mainIncrements = 2000;
  for (let i = 0; i < mainIncrements; i++) {
    await state.runAsync(() => {
      state.words[1]++;
    });
    if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  t.is(state.words[1], 100_000 + mainIncrements);
});

test('tryLock fails while held, unlock frees, runAsync returns the value and unlocks on throw', async (t) => {
  const state = SharedState.create(1);
  t.true(state.tryLock());
  t.false(state.tryLock());
  t.true(state.locked);
  const later = state.runAsync(() => 42);
  state.unlock();
  t.is(await later, 42);
  t.false(state.locked);
  await t.throwsAsync(state.runAsync(() => {
    throw new Error('inside');
  }), { message: 'inside' });
  t.false(state.locked);
});

test('the uncontended lock never leaves the waiters state behind', (t) => {
  const state = SharedState.create(1);
  state.lock();
  t.is(Atomics.load(state.words, SharedState.LOCK), 1);
  state.unlock();
  t.is(Atomics.load(state.words, SharedState.LOCK), 0);
});
