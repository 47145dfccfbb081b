// The serial terminal's stdin side against a fake VMM: when it reads, raw mode on and off, the escape
// keys, backpressure. Serial: raw mode adds a process 'exit' listener the tests count.
// (test/kvm/serial-input.test.ts runs it on a real pseudo-terminal.)
import test from 'ava';
import { PassThrough } from 'node:stream';
import { BehaviorSubject, ReplaySubject } from 'rxjs';
import type { VmState, VmmExit } from '../../../src/api/vmm.js';
import type { VmmEvent } from '../../../src/vmm/events.js';
import { VmmError } from '../../../src/errors.js';
import { attachSerialTerminal, type TerminalInput, type TerminalVmm } from '../../../src/cli/terminal.js';

class FakeVmm {
  readonly events = new ReplaySubject<VmmEvent>(16);
  readonly state = new BehaviorSubject<VmState>('NotCreated');
  readonly events$ = this.events.asObservable();
  readonly state$ = this.state.asObservable();
  readonly written: string[] = [];
  readonly calls: string[] = [];
  serialMode = 'Tty';
  /** when set, writeSerial waits for it */
  gate: Promise<void> | null = null;
  private resolveExit!: (exit: VmmExit) => void;
  readonly exited = new Promise<VmmExit>((resolve) => (this.resolveExit = resolve));

  get vmState(): VmState {
    return this.state.value;
  }
  info() {
    if (this.state.value === 'NotCreated') throw new VmmError('not-found', 'no VM is created');
    return { config: { serial: { mode: this.serialMode } } };
  }
  async writeSerial(bytes: Uint8Array): Promise<void> {
    if (this.state.value !== 'Running' && this.state.value !== 'Paused') throw new VmmError('wrong-state', 'no VM is running');
    await this.gate;
    this.written.push(Buffer.from(bytes).toString('latin1'));
  }
  async shutdown(): Promise<VmmExit> {
    this.calls.push('shutdown');
    return this.exited;
  }
  async powerButton(): Promise<void> {
    this.calls.push('power-button');
  }
  /** What Vmm does on vm.boot: the booting event, then Running. */
  boot(): void {
    if (this.state.value === 'NotCreated') this.state.next('Created');
    this.events.next({ timestamp: { secs: 0, nanos: 0 }, source: 'vm', event: 'booting', properties: null });
    this.state.next('Running');
  }
  exit(): void {
    this.state.next('NotCreated');
    this.resolveExit({ code: 0, reason: 'api' });
  }
}

/** A stream standing in for stdin; with `tty` it records raw-mode switches. */
function fakeStdin(tty: boolean): PassThrough & TerminalInput & { rawModes: boolean[] } {
  const input = new PassThrough() as PassThrough & TerminalInput & { rawModes: boolean[] };
  input.rawModes = [];
  if (tty) {
    input.isTTY = true;
    input.setRawMode = (raw: boolean) => input.rawModes.push(raw);
  }
  return input;
}

function attach(vmm: FakeVmm, input: TerminalInput) {
  const messages = new PassThrough();
  let shown = '';
  messages.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  const logs: string[] = [];
  const terminal = attachSerialTerminal(vmm as unknown as TerminalVmm, { input, messages, log: (m) => logs.push(m) });
  return { terminal, logs, shown: () => shown };
}

const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

test.serial('a pipe is read only while a VM with serial Tty runs, and forwarded byte for byte', async (t) => {
  const vmm = new FakeVmm();
  const input = fakeStdin(false);
  const { terminal } = attach(vmm, input);
  input.write('typed early ');
  await turn();
  t.deepEqual(vmm.written, [], 'nothing read before the VM boots: it waits in the pipe');
  vmm.boot();
  await turn();
  input.write('\x01x raw bytes');
  await turn();
  t.is(vmm.written.join(''), 'typed early \x01x raw bytes', 'no escape keys on a pipe');
  t.deepEqual(vmm.calls, []);
  t.deepEqual(input.rawModes, []);
  terminal.detach();
});

test.serial('the end of a pipe just stops the input', async (t) => {
  const vmm = new FakeVmm();
  const input = fakeStdin(false);
  const { logs } = attach(vmm, input);
  vmm.boot();
  input.end('last');
  await turn();
  t.deepEqual(vmm.written, ['last']);
  t.true(logs.includes('serial input: stdin ended'));
  t.is(vmm.vmState, 'Running');
  t.deepEqual(vmm.calls, []);
});

test.serial('reading pauses until the guest has taken the bytes already read', async (t) => {
  const vmm = new FakeVmm();
  const input = fakeStdin(false);
  attach(vmm, input);
  vmm.boot();
  let open!: () => void;
  vmm.gate = new Promise((resolve) => (open = resolve));
  input.write('one');
  await turn();
  input.write('two');
  await turn();
  t.deepEqual(vmm.written, []);
  t.true(input.isPaused());
  vmm.gate = null;
  open();
  await turn();
  t.deepEqual(vmm.written, ['one', 'two']);
});

test.serial('a terminal is raw from boot until the VM stops, and again for the next boot', async (t) => {
  const vmm = new FakeVmm();
  const input = fakeStdin(true);
  const exitHooks = process.listenerCount('exit');
  attach(vmm, input);
  t.deepEqual(input.rawModes, []);
  vmm.boot();
  t.deepEqual(input.rawModes, [true]);
  t.is(process.listenerCount('exit'), exitHooks + 1, 'restored on process exit too');
  vmm.state.next('Paused');
  vmm.state.next('Running');
  t.deepEqual(input.rawModes, [true], 'pause and resume keep it raw');
  vmm.state.next('Shutdown');
  t.deepEqual(input.rawModes, [true, false]);
  t.is(process.listenerCount('exit'), exitHooks);
  vmm.boot();
  vmm.exit();
  await turn();
  t.deepEqual(input.rawModes, [true, false, true, false]);
  t.is(process.listenerCount('exit'), exitHooks);
  t.is(input.listenerCount('data'), 0, 'detached when the VMM exits');
});

test.serial('Ctrl-A x shuts the VMM down, Ctrl-A p presses the power button, Ctrl-A Ctrl-A sends Ctrl-A', async (t) => {
  const vmm = new FakeVmm();
  const input = fakeStdin(true);
  const { shown } = attach(vmm, input);
  vmm.boot();
  input.write('ab\x01\x01c\x01p');
  await turn();
  t.is(vmm.written.join(''), 'ab\x01c');
  t.deepEqual(vmm.calls, ['power-button']);
  input.write('\x01h');
  await turn();
  t.regex(shown(), /escape keys:[\s\S]*Ctrl-A x/);
  input.write('\x01x');
  await turn();
  t.deepEqual(vmm.calls, ['power-button', 'shutdown']);
  t.regex(shown(), /Ctrl-A x: shutting down/);
});

test.serial('a VM without serial Tty leaves stdin alone', async (t) => {
  const vmm = new FakeVmm();
  vmm.serialMode = 'Null';
  const input = fakeStdin(true);
  attach(vmm, input);
  vmm.boot();
  input.write('x');
  await turn();
  t.deepEqual(input.rawModes, []);
  t.is(input.listenerCount('data'), 0);
  t.deepEqual(vmm.written, []);
});

test.serial('only boots after attaching count: a replayed booting event does not switch the terminal', (t) => {
  const vmm = new FakeVmm();
  vmm.boot();
  vmm.state.next('Shutdown');
  const input = fakeStdin(true);
  attach(vmm, input);
  t.deepEqual(input.rawModes, []);
});

test.serial('attaching while a Tty VM runs switches to raw at once', (t) => {
  const vmm = new FakeVmm();
  vmm.boot();
  const input = fakeStdin(true);
  const { terminal } = attach(vmm, input);
  t.deepEqual(input.rawModes, [true]);
  terminal.detach();
  t.deepEqual(input.rawModes, [true, false]);
});
