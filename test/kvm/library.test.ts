// The embedding API on real KVM: the same three ends of a VM as the CLI, seen through typed streams.
import test from 'ava';
import { firstValueFrom, filter, skip, take, toArray } from 'rxjs';
import { Vmm, VmmError, eventName, type VmState } from '../../src/index.js';
import { guestPath, waitFor } from '../helpers/project.js';
import { kvmTest, kvmSerialTest } from '../helpers/kvm-test.js';

const config = (guest: string, extra: Record<string, unknown> = {}) => ({
  payload: { kernel: guestPath(guest) },
  memory: { size: 32 << 20 },
  serial: { mode: 'Null' },
  ...extra,
});

/** Collects the serial output as text. */
function serialText(vmm: Vmm): () => string {
  let text = '';
  vmm.serial$.subscribe((bytes) => (text += Buffer.from(bytes).toString('latin1')));
  return () => text;
}

const until = (condition: () => boolean): Promise<void> => waitFor(condition, 10_000, 'the guest');

kvmTest('guest poweroff: exited resolves 0 and the events and states come in order', async (t) => {
  const vmm = new Vmm();
  const states: VmState[] = [];
  vmm.state$.subscribe((s) => states.push(s));
  const names = firstValueFrom(vmm.events$.pipe(toArray()));
  const serial = serialText(vmm);
  const guestExit = firstValueFrom(vmm.guestExit$);
  await vmm.createVm(config('poweroff'));
  await vmm.boot();
  t.deepEqual(await vmm.exited, { code: 0, reason: 'guest-shutdown' });
  t.is((await guestExit).reason, 'guest-shutdown');
  t.regex(serial(), /nodevmm guest: poweroff/);
  const events = (await names).map(eventName);
  t.deepEqual(events, ['vmm/starting', 'vm/booting', 'cpu_manager/create_vcpu', 'vm/booted', 'vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
  t.deepEqual(states, ['NotCreated', 'Created', 'Running', 'Shutdown', 'NotCreated']);
});

kvmTest('noShutdown: the VM stops, the VMM stays, and the VM boots again fresh', async (t) => {
  const vmm = new Vmm({ noShutdown: true });
  const serial = serialText(vmm);
  await vmm.createVm(config('poweroff'));
  const stopped = firstValueFrom(vmm.state$.pipe(filter((s) => s === 'Shutdown')));
  await vmm.boot();
  await stopped;
  t.is(vmm.info().state, 'Shutdown');
  // state$ replays the current state (Shutdown): wait for the next Shutdown after Running
  const again = firstValueFrom(vmm.state$.pipe(skip(1), filter((s) => s === 'Shutdown'), take(1)));
  await vmm.boot();
  await again;
  await until(() => serial().split('nodevmm guest: poweroff').length === 3);
  t.is(vmm.counters().lifecycle.boots, 2);
  t.is(vmm.counters().lifecycle.guestShutdowns, 2);
  t.deepEqual(await vmm.shutdown(), { code: 0, reason: 'api' });
});

for (const guest of ['acpi-reset', 'i8042-reset', 'cmos-reset', 'triple-fault'] as const) {
  kvmTest(`${guest}: reset$ carries the reason, the guest runs again, the VMM stays`, async (t) => {
    const vmm = new Vmm();
    const serial = serialText(vmm);
    const reset = firstValueFrom(vmm.reset$);
    const rebooted = firstValueFrom(vmm.events$.pipe(filter((e) => e.event === 'rebooted')));
    await vmm.createVm(config(guest));
    await vmm.boot();
    t.is((await reset).reason, guest);
    t.deepEqual((await rebooted).properties, { reason: guest });
    await until(() => serial().split(`nodevmm guest: ${guest}`).length >= 3);
    t.is(vmm.vmState, 'Running');
    t.true(vmm.counters().lifecycle.reboots >= 1);
    t.deepEqual(await vmm.shutdown(), { code: 0, reason: 'api' });
  });
}

kvmTest('fatal: fatal$ says where, and the VMM ends with 1 even with noShutdown', async (t) => {
  const vmm = new Vmm({ noShutdown: true });
  const fatal = firstValueFrom(vmm.fatal$);
  await vmm.createVm(config('no-ram'));
  await vmm.boot();
  const event = await fatal;
  t.is(event.detail.exitReason, 'internal_error');
  t.is(event.detail.rip, '0xd0000000');
  const exit = await vmm.exited;
  t.is(exit.code, 1);
  t.is(exit.reason, 'fatal');
  t.regex(exit.error ?? '', /KVM internal error/);
});

kvmSerialTest('a spinning 2-vCPU guest stops within 1 s; exit counts are per vCPU', async (t) => {
  const vmm = new Vmm();
  await vmm.createVm(config('spin', { cpus: { boot_vcpus: 2 } }));
  await vmm.boot();
  await new Promise((r) => setTimeout(r, 200));
  const counters = vmm.counters();
  t.is(counters.vcpus.length, 2);
  t.true((counters.vcpus[0].io ?? 0) >= 'nodevmm guest: spin\n'.length, JSON.stringify(counters));
  const started = Date.now();
  const exit = await vmm.shutdown();
  t.true(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  t.deepEqual(exit, { code: 0, reason: 'api' });
});

test('invalid configs are refused at createVm, naming the field', async (t) => {
  const vmm = new Vmm();
  const cases: Array<[unknown, RegExp]> = [
    [{ payload: { kernel: '/nonexistent/vmlinux' } }, /kernel \/nonexistent\/vmlinux does not exist/],
    [{ payload: {} }, /payload\.kernel is required/],
    [{ ...config('hello'), cpus: { boot_vcpus: 0 } }, /cpus\.boot_vcpus must be between 1 and/],
    [{ ...config('hello'), memory: { size: 2 ** 50 } }, /memory\.size/],
    [{ ...config('hello'), disks: [{ path: '/tmp/nodevmm-no-such-image' }] }, /disks\[0\]\.path \/tmp\/nodevmm-no-such-image does not exist/],
    [{ ...config('hello'), net: [{ mac: '52:54:00:00:00:01' }] }, /net\[0\] needs a tap \(a name\) or fds/],
    [{ ...config('hello'), fs: [{ tag: 'x', socket: '/tmp/v' }] }, /fs is not supported/],
    [{ ...config('hello'), frobs: 1 }, /unknown VmConfig field: frobs/],
    ['not an object', /must be a JSON object/],
  ];
  for (const [bad, message] of cases) {
    const error = await t.throwsAsync(vmm.createVm(bad), { instanceOf: VmmError });
    t.is(error!.kind, 'invalid-config');
    t.regex(error!.message, message);
  }
  t.is(vmm.vmState, 'NotCreated', 'nothing half-created');
  t.deepEqual(await vmm.shutdown(), { code: 0, reason: 'api' });
});

test('wrong-state requests are refused with their kind, not a crash', async (t) => {
  const vmm = new Vmm();
  t.is((await t.throwsAsync(vmm.boot(), { instanceOf: VmmError }))!.kind, 'not-found');
  await vmm.createVm(config('hello'));
  t.is((await t.throwsAsync(vmm.createVm(config('hello')), { instanceOf: VmmError }))!.kind, 'already-created');
  for (const request of [() => vmm.shutdownVm(), () => vmm.reboot(), () => vmm.pause(), () => vmm.resume()]) {
    t.is((await t.throwsAsync(request(), { instanceOf: VmmError }))!.kind, 'wrong-state');
  }
  await vmm.deleteVm();
  t.is(vmm.vmState, 'NotCreated');
  await vmm.shutdown();
});
