// The pool turns a vCPU worker that dies, or a run loop that throws, into the supervisor's fatal input;
// it grows between builds (a migration's destination starts a worker before it knows the VM's size).
import test from 'ava';
import { VcpuPool, type PoolHooks } from '../../../src/actors/vcpu-pool.js';
import type { VcpuStop } from '../../../src/actors/lifecycle.js';
import type { VcpuSpec } from '../../../src/vm/vcpu-spec.js';

const FAILING_WORKER = new URL('../../fixtures/failing-vcpu-worker.js', import.meta.url);

function recorder(): PoolHooks & { stops: Array<[number, number, VcpuStop]>; deaths: Array<[number, string]> } {
  const stops: Array<[number, number, VcpuStop]> = [];
  const deaths: Array<[number, string]> = [];
  return { stops, deaths, onStop: (id, generation, stop) => stops.push([id, generation, stop]), onWorkerDeath: (id, error) => deaths.push([id, error.message]) };
}

const specs = (n: number): VcpuSpec[] => Array.from({ length: n }, (_, vcpuId) => ({ vcpuId }) as VcpuSpec);

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
}

test.serial('a run loop that throws (a native error) is a fatal stop naming the vCPU and the error', async (t) => {
  process.env.NODEVMM_TEST_FAILURE = 'throw';
  const hooks = recorder();
  const pool = new VcpuPool(2, hooks, FAILING_WORKER);
  await pool.start();
  await pool.attach(specs(2));
  pool.run(7);
  await until(() => hooks.stops.length === 2);
  t.is(hooks.stops.length, 2);
  for (const [id, generation, stop] of hooks.stops) {
    t.is(generation, 7);
    t.is(stop.kind, 'fatal');
    if (stop.kind === 'fatal') t.is(stop.detail.message, `vCPU ${id}: KVM_RUN: EFAULT (Bad address)`);
  }
  await pool.close();
  t.deepEqual(hooks.deaths, [], 'closing the pool is not a death');
});

test.serial('a worker thread that exits is reported as dead', async (t) => {
  process.env.NODEVMM_TEST_FAILURE = 'exit';
  const hooks = recorder();
  const pool = new VcpuPool(1, hooks, FAILING_WORKER);
  await pool.start();
  void pool.attach(specs(1)).catch(() => {});
  await until(() => hooks.deaths.length === 1);
  t.deepEqual(hooks.deaths, [[0, 'vCPU 0 worker exited with code 3']]);
  await pool.close();
});

test.serial('a pool grows between builds: more workers, one control word each, all answering; not while a build runs', async (t) => {
  process.env.NODEVMM_TEST_FAILURE = 'throw';
  const hooks = recorder();
  const pool = new VcpuPool(1, hooks, FAILING_WORKER);
  await pool.start();
  await pool.ready();
  const before = pool.control;
  pool.grow(3);
  t.is(pool.size, 3);
  t.is(pool.control.byteLength, 12);
  t.not(pool.control, before, 'a new build gets new control words');
  await pool.ready();
  await pool.attach(specs(3));
  pool.grow(2);
  t.is(pool.size, 3, 'growing to fewer is nothing');
  pool.run(1);
  t.throws(() => pool.grow(4), { message: /cannot grow while a build is attached/ });
  await until(() => hooks.stops.length === 3);
  await pool.close();
  t.deepEqual(hooks.deaths, []);
});
