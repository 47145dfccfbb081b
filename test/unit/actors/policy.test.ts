// The lifecycle policy with RxJS marbles: pure functions of (event, options), no KVM.
import test from 'ava';
import { TestScheduler } from 'rxjs/testing';
import { Subject } from 'rxjs';
import { decide, absorbDecided, holdWhileBusy, lifecyclePolicy } from '../../../src/actors/policy.js';
import type { LifecycleEvent } from '../../../src/actors/lifecycle.js';
import { Supervisor } from '../../../src/actors/supervisor.js';

const guestExit = (generation = 1): LifecycleEvent => ({ kind: 'guest-exit', reason: 'guest-shutdown', generation });
const reset = (reason: 'acpi-reset' | 'i8042-reset' | 'cmos-reset' | 'triple-fault', generation = 1): LifecycleEvent => ({ kind: 'reset', reason, generation });
const fatal = (generation = 1): LifecycleEvent => ({ kind: 'fatal', reason: 'fatal', generation, detail: { message: 'boom' } });

function scheduler(t: { deepEqual(a: unknown, b: unknown): void }): TestScheduler {
  return new TestScheduler((actual, expected) => t.deepEqual(actual, expected));
}

test('decide: guest exit ends the VMM with 0 without the flag, stops only the VM with it', (t) => {
  t.deepEqual(decide(guestExit(), { noShutdown: false }), { type: 'exit-vmm', exitCode: 0, event: guestExit() });
  t.deepEqual(decide(guestExit(), { noShutdown: true }), { type: 'stop-vm', event: guestExit() });
});

test('decide: every reset reason reboots, with or without the flag', (t) => {
  for (const reason of ['acpi-reset', 'i8042-reset', 'cmos-reset', 'triple-fault'] as const) {
    for (const noShutdown of [false, true]) t.is(decide(reset(reason), { noShutdown }).type, 'reboot');
  }
});

test('decide: fatal exits 1 whatever --no-shutdown says', (t) => {
  for (const noShutdown of [false, true]) {
    const action = decide(fatal(), { noShutdown });
    t.is(action.type, 'fatal-exit');
    t.is((action as { exitCode: number }).exitCode, 1);
  }
});

test('absorbDecided: Linux’s ACPI reset followed by the i8042 reset is one reboot', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    const a = reset('acpi-reset', 1);
    const b = reset('i8042-reset', 1);
    const c = reset('cmos-reset', 2);
    const events = cold('-a-b--c-', { a, b, c });
    expectObservable(events.pipe(absorbDecided())).toBe('-a----c-', { a, c });
  });
});

test('absorbDecided: one guest exit per VM build, fatal always passes', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    const g1 = guestExit(1);
    const g1again = guestExit(1);
    const f1 = fatal(1);
    const events = cold('-a-b-f-', { a: g1, b: g1again, f: f1 });
    expectObservable(events.pipe(absorbDecided())).toBe('-a---f-', { a: g1, f: f1 });
  });
});

test('holdWhileBusy: a guest exit during a snapshot waits for its end, then follows its path', (t) => {
  scheduler(t).run(({ cold, hot, expectObservable }) => {
    const busy = hot('t----f--', { t: true, f: false });
    const g = guestExit(1);
    const events = cold('--g------', { g });
    expectObservable(events.pipe(holdWhileBusy(busy))).toBe('-----g--', { g });
  });
});

test('holdWhileBusy: fatal is never held; held events keep their order', (t) => {
  scheduler(t).run(({ cold, hot, expectObservable }) => {
    const busy = hot('t-------f-', { t: true, f: false });
    const r = reset('acpi-reset', 1);
    const g = guestExit(2);
    const x = fatal(1);
    const events = cold('-r-x-g----', { r, x, g });
    expectObservable(events.pipe(holdWhileBusy(busy))).toBe('---x----(rg)', { r, g, x });
  });
});

test('lifecyclePolicy: a stream of exits becomes actions, duplicates absorbed', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    const events = cold('-a-b-c-d-', { a: reset('acpi-reset', 1), b: reset('i8042-reset', 1), c: guestExit(2), d: guestExit(2) });
    expectObservable(events.pipe(lifecyclePolicy({ noShutdown: true }))).toBe('-a---c---', {
      a: { type: 'reboot', event: reset('acpi-reset', 1) },
      c: { type: 'stop-vm', event: guestExit(2) },
    });
  });
});

test('Supervisor routes each kind onto its own stream and decides by policy', (t) => {
  const supervisor = new Supervisor({ noShutdown: false });
  const seen: string[] = [];
  supervisor.guestExit$.subscribe((e) => seen.push(`guest-exit:${e.reason}`));
  supervisor.reset$.subscribe((e) => seen.push(`reset:${e.reason}`));
  supervisor.fatal$.subscribe((e) => seen.push(`fatal:${e.detail.message}`));
  const actions: string[] = [];
  supervisor.actions$.subscribe((a) => actions.push(a.type));
  supervisor.post(reset('triple-fault', 1));
  supervisor.post(guestExit(2));
  supervisor.post(fatal(3));
  t.deepEqual(seen, ['reset:triple-fault', 'guest-exit:guest-shutdown', 'fatal:boom']);
  t.deepEqual(actions, ['reboot', 'exit-vmm', 'fatal-exit']);
});

test('Supervisor holds a guest exit while busy and replays it after', (t) => {
  const supervisor = new Supervisor({ noShutdown: true });
  const actions: string[] = [];
  supervisor.actions$.subscribe((a) => actions.push(a.type));
  supervisor.setBusy(true);
  supervisor.post(guestExit(1));
  t.deepEqual(actions, []);
  supervisor.setBusy(false);
  t.deepEqual(actions, ['stop-vm']);
});

test('Supervisor hands held events over instead of replaying them (a migration carries them away)', (t) => {
  const supervisor = new Supervisor({ noShutdown: true });
  const actions: string[] = [];
  supervisor.actions$.subscribe((a) => actions.push(a.type));
  supervisor.setBusy(true);
  supervisor.post(guestExit(1));
  supervisor.post(reset('acpi-reset', 1));
  supervisor.post(fatal(1));
  t.deepEqual(actions, ['fatal-exit'], 'fatal is never held');
  t.deepEqual(supervisor.handOverHeld().map((e) => e.kind), ['guest-exit', 'reset']);
  supervisor.setBusy(false);
  t.deepEqual(actions, ['fatal-exit'], 'handed-over events are not replayed');
  supervisor.post(guestExit(2));
  t.deepEqual(actions, ['fatal-exit', 'stop-vm'], 'after the hand-over events flow again');
});

test('absorbDecided: 10 000 reboots pass one event each, and a stale build’s late event is absorbed', (t) => {
  const passed: LifecycleEvent[] = [];
  const input = new Subject<LifecycleEvent>();
  input.pipe(absorbDecided()).subscribe((event) => passed.push(event));
  for (let generation = 1; generation <= 10_000; generation++) {
    input.next({ kind: 'reset', reason: 'acpi-reset', generation, vcpu: 0 });
    input.next({ kind: 'reset', reason: 'i8042-reset', generation, vcpu: 0 });
  }
  input.next({ kind: 'reset', reason: 'cmos-reset', generation: 17, vcpu: 1 });
  t.is(passed.length, 10_000);
  t.true(passed.every((event, i) => event.generation === i + 1 && event.reason === 'acpi-reset'));
});
