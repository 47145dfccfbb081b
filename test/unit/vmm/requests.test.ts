// LIFECYCLE.md §2's table, cell by cell, against the VMM's request table.
import test from 'ava';
import { stepFor, type VmRequest } from '../../../src/vmm/requests.js';
import type { VmState } from '../../../src/vmm/types.js';
import { VmmError } from '../../../src/errors.js';

// The spec's rows, with the step each accepted cell takes; a string starting with '!' is the error kind.
const SPEC: Record<VmState, Record<Exclude<VmRequest, 'power-button' | 'snapshot' | 'restore' | 'send-migration' | 'receive-migration' | 'add-net'>, string>> = {
  NotCreated: { boot: '!not-found', shutdown: '!not-found', reboot: '!not-found', pause: '!not-found', resume: '!not-found', delete: 'nothing', create: 'store-config' },
  Created: { boot: 'boot-fresh', shutdown: '!wrong-state', reboot: '!wrong-state', pause: '!wrong-state', resume: '!wrong-state', delete: 'delete', create: '!already-created' },
  Running: { boot: '!wrong-state', shutdown: 'stop', reboot: 'rebuild', pause: 'pause', resume: '!wrong-state', delete: 'delete', create: '!already-created' },
  Paused: { boot: 'resume', shutdown: 'stop', reboot: 'rebuild', pause: '!wrong-state', resume: 'resume', delete: 'delete', create: '!already-created' },
  Shutdown: { boot: 'boot-fresh', shutdown: '!wrong-state', reboot: '!wrong-state', pause: '!wrong-state', resume: '!wrong-state', delete: 'delete', create: '!already-created' },
};

function outcome(request: VmRequest, state: VmState): string {
  try {
    return stepFor(request, state);
  } catch (error) {
    if (!(error instanceof VmmError)) throw error;
    return `!${error.kind}`;
  }
}

for (const [state, row] of Object.entries(SPEC) as Array<[VmState, Record<string, string>]>) {
  test(`§2 row ${state}`, (t) => {
    for (const [request, expected] of Object.entries(row)) t.is(outcome(request as VmRequest, state), expected, `${request} in ${state}`);
  });
}

test('a snapshot needs a paused VM and a restore a VMM without one; the errors say so', (t) => {
  const states: VmState[] = ['NotCreated', 'Created', 'Running', 'Paused', 'Shutdown'];
  t.deepEqual(states.map((state) => outcome('snapshot', state)), ['!not-found', '!wrong-state', '!wrong-state', 'snapshot', '!wrong-state']);
  t.deepEqual(states.map((state) => outcome('restore', state)), ['restore', '!already-created', '!already-created', '!already-created', '!already-created']);
  t.is(t.throws(() => stepFor('snapshot', 'Running'))?.message, 'cannot snapshot the VM in state Running: it must be Paused (vm.pause first)');
  t.regex(t.throws(() => stepFor('restore', 'Paused'))?.message ?? '', /restore needs a VMM without one/);
});

test('a migration sends a running or paused VM, and is received by a VMM without one', (t) => {
  const states: VmState[] = ['NotCreated', 'Created', 'Running', 'Paused', 'Shutdown'];
  t.deepEqual(states.map((state) => outcome('send-migration', state)), ['!not-found', '!wrong-state', 'send-migration', 'send-migration', '!wrong-state']);
  t.deepEqual(states.map((state) => outcome('receive-migration', state)), ['receive-migration', '!already-created', '!already-created', '!already-created', '!already-created']);
  t.is(t.throws(() => stepFor('send-migration', 'Shutdown'))?.message, 'cannot migrate the VM in state Shutdown');
});

test('vm.add-net joins a VM that is not running; a running or paused one says there is no hotplug', (t) => {
  const states: VmState[] = ['NotCreated', 'Created', 'Running', 'Paused', 'Shutdown'];
  t.deepEqual(states.map((state) => outcome('add-net', state)), ['!not-found', 'add-device', '!wrong-state', '!wrong-state', 'add-device']);
  t.regex(t.throws(() => stepFor('add-net', 'Running'))?.message ?? '', /no hotplug/);
});

test('the power button works on a running VM only, and errors name the request and the state', (t) => {
  t.is(stepFor('power-button', 'Running'), 'press-power-button');
  const error = t.throws(() => stepFor('power-button', 'Paused'), { instanceOf: VmmError });
  t.is(error?.message, 'cannot press the power button of the VM in state Paused');
  t.is(t.throws(() => stepFor('pause', 'NotCreated'))?.message, 'no VM is created; cannot pause it');
});
