// Host → guest serial input on real KVM, with the serial-echo guest (guests/serial-echo.S): it sleeps
// in `hlt` until IRQ 4, echoes lowercase letters uppercased, and powers off on `q` saying how many
// serial interrupts woke it. Through the library (writeSerial), the CLI's stdin (a pipe, and a real
// terminal under util-linux's `script`), and --serial socket=PATH.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { Vmm, VmmError } from '../../src/index.js';
import { ApiClient } from '../../src/api/remote-client.js';
import { NODEVMM_BIN, guestPath, startVmm, waitFor } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';
import { scaled } from '../helpers/timing.js';

const READY = 'echo ready (q quits)';
const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-serial-'));
let n = 0;

/** 10 KiB of lowercase letters (never `q`) and newlines, and the echo the guest must give back. */
function bigInput(): { input: Buffer; echo: string } {
  const input = Buffer.alloc(10 * 1024);
  for (let i = 0; i < input.length; i++) input[i] = i % 64 === 63 ? 0x0a : 0x61 + ((i * 7) % 16);
  return { input, echo: input.toString('latin1').toUpperCase() };
}

function serialText(vmm: Vmm): () => string {
  let text = '';
  vmm.serial$.subscribe((bytes) => (text += Buffer.from(bytes).toString('latin1')));
  return () => text;
}

const echoConfig = (serial: Record<string, unknown> = { mode: 'Null' }) => ({
  payload: { kernel: guestPath('serial-echo') },
  memory: { size: 32 << 20 },
  serial,
});

/** The number the guest prints at `q`: serial interrupts that woke it from hlt. */
function interruptCount(output: string): number {
  const match = /bye after 0x([0-9a-f]{8}) serial interrupts/.exec(output);
  return match ? parseInt(match[1], 16) : -1;
}

kvmTest('library: writeSerial reaches the guest through IRQ 4 and the echo comes back on serial$', async (t) => {
  const vmm = new Vmm();
  const serial = serialText(vmm);
  await vmm.createVm(echoConfig());
  await vmm.boot();
  await waitFor(() => serial().includes(READY), 20_000, 'the guest to be ready');
  await vmm.writeSerial(Buffer.from('hello, guest\n'));
  await waitFor(() => serial().includes('HELLO, GUEST\n'), 10_000, 'the echo');
  await vmm.writeSerial(Buffer.from('q'));
  t.deepEqual(await vmm.exited, { code: 0, reason: 'guest-shutdown' });
  t.true(interruptCount(serial()) >= 1, serial());
});

kvmTest('library: 10 KiB through the 16-byte FIFO arrive complete and in order', async (t) => {
  const vmm = new Vmm();
  const serial = serialText(vmm);
  await vmm.createVm(echoConfig());
  await vmm.boot();
  // the whole line: serial output arrives in batches, and the echo is counted from the end of it
  await waitFor(() => serial().includes(READY + '\n'), 20_000, 'the guest to be ready');
  const { input, echo } = bigInput();
  const start = serial().length;
  await vmm.writeSerial(input);
  await waitFor(() => serial().length - start >= echo.length, 60_000, 'the whole echo');
  t.is(serial().slice(start, start + echo.length), echo);
  t.is(vmm.counters().serial.droppedBytes, 0);
  await vmm.writeSerial(Buffer.from('q'));
  t.is((await vmm.exited).code, 0);
});

kvmTest('library: writeSerial rejects without a running VM, without a serial port, and for a VM that stopped', async (t) => {
  const vmm = new Vmm({ noShutdown: true });
  const serial = serialText(vmm);
  const before = await t.throwsAsync(vmm.writeSerial(Buffer.from('x')), { instanceOf: VmmError });
  t.is(before?.kind, 'wrong-state');

  await vmm.createVm(echoConfig());
  await vmm.boot();
  await waitFor(() => serial().includes(READY), 20_000, 'the guest to be ready');
  // Paused, the guest reads nothing: the FIFO takes 16 bytes and the rest waits in the queue.
  await vmm.pause();
  const pending = vmm.writeSerial(Buffer.alloc(100, 0x61));
  await vmm.reboot();
  const stopped = await t.throwsAsync(pending, { instanceOf: VmmError });
  t.regex(stopped?.message ?? '', /VM stopped before its serial port took these bytes/);
  await waitFor(() => serial().split(READY).length === 3, 20_000, 'the rebooted guest to be ready');
  const start = serial().length;
  await vmm.writeSerial(Buffer.from('z'));
  await waitFor(() => serial().length > start, 10_000, 'the echo after the reboot');
  t.is(serial().slice(start), 'Z', 'nothing queued for the old VM build reaches the new one');

  await vmm.shutdownVm();
  await t.throwsAsync(vmm.writeSerial(Buffer.from('x')), { message: /no VM is running/ });
  await vmm.deleteVm();
  await vmm.createVm(echoConfig({ mode: 'Off' }));
  await vmm.boot();
  await t.throwsAsync(vmm.writeSerial(Buffer.from('x')), { message: /no serial port \(serial mode Off\)/ });
  t.is((await vmm.shutdown()).code, 0);
});

kvmTest('CLI --serial tty with a pipe on stdin: its bytes reach the guest, q powers off, exit 0', async (t) => {
  const vmm = startVmm(['--kernel', guestPath('serial-echo'), '--memory', 'size=32M', '--serial', 'tty'], { stdin: 'pipe' });
  await vmm.waitForOutput(READY);
  vmm.child.stdin!.write('piped in\n');
  await vmm.waitForOutput('PIPED IN\n');
  vmm.child.stdin!.write('\x01x stays input: no escape keys on a pipe\n');
  await vmm.waitForOutput('\x01X STAYS INPUT: NO ESCAPE KEYS ON A PIPE\n');
  vmm.child.stdin!.end('q');
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());
  t.true(interruptCount(vmm.stdout()) >= 2, vmm.stdout());
});

kvmTest('CLI: the end of stdin stops the input and the VM keeps running', async (t) => {
  const vmm = startVmm(['--kernel', guestPath('serial-echo'), '--memory', 'size=32M', '-v'], { stdin: 'pipe' });
  await vmm.waitForOutput(READY);
  vmm.child.stdin!.end('last words\n');
  await vmm.waitForOutput('LAST WORDS\n');
  await waitFor(() => vmm.stderr().includes('serial input: stdin ended'), 10_000, 'the end of stdin');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(vmm.child.exitCode, null);
  vmm.child.kill('SIGTERM');
  t.is((await vmm.exited).code, 0);
});

/** A client of the serial socket collecting what it receives. */
async function serialClient(path: string): Promise<{ socket: Socket; text(): string }> {
  const socket = connect({ path });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  return { socket, text: () => text };
}

/**
 * Waits until the guest echoes: a client may connect after the guest said it was ready, and bytes sent
 * before the guest set up its UART are lost when it resets the FIFO, as on hardware.
 */
async function untilEchoing(client: { socket: Socket; text(): string }): Promise<void> {
  const deadline = Date.now() + scaled(20_000);
  while (!client.text().includes('!')) {
    if (Date.now() > deadline) throw new Error(`the guest never echoed; got: ${client.text()}`);
    client.socket.write('!');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

kvmTest('CLI --serial socket=PATH: owner-only socket, echo to every client, later clients see later output, removed at exit', async (t) => {
  const path = join(tmp, `serial-${n++}.sock`);
  const vmm = startVmm(['--kernel', guestPath('serial-echo'), '--memory', 'size=32M', '--serial', `socket=${path}`]);
  await waitFor(() => existsSync(path), 20_000, 'the serial socket');
  t.true(statSync(path).isSocket());
  t.is(statSync(path).mode & 0o777, 0o600);

  const first = await serialClient(path);
  await untilEchoing(first);
  const second = await serialClient(path);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const firstStart = first.text().length;
  first.socket.write('from the first client\n');
  await waitFor(() => second.text().includes('FROM THE FIRST CLIENT\n'), 10_000, 'the echo on the second client');
  t.false(second.text().includes(READY), 'a later client does not get earlier output');
  second.socket.write('from the second\n');
  await waitFor(() => first.text().includes('FROM THE SECOND\n'), 10_000, 'the echo on the first client');
  t.is(first.text().slice(firstStart), 'FROM THE FIRST CLIENT\nFROM THE SECOND\n');

  const { input, echo } = bigInput();
  const start = first.text().length;
  second.socket.write(input);
  await waitFor(() => first.text().length - start >= echo.length, 60_000, '10 KiB echoed');
  t.is(first.text().slice(start, start + echo.length), echo, '10 KiB complete and in order');

  second.socket.write('q');
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());
  t.true(first.text().includes('serial interrupts'));
  t.false(vmm.stdout().includes('nodevmm guest'), 'serial output goes to the socket, not stdout');
  t.false(existsSync(path), 'the socket file is removed at exit');
});

kvmTest('CLI --serial socket=PATH on a path that is not a socket: exit 2 naming it', async (t) => {
  const vmm = startVmm(['--kernel', guestPath('serial-echo'), '--serial', `socket=${NODEVMM_BIN}`]);
  const exit = await vmm.exited;
  t.is(exit.code, 2);
  t.regex(vmm.stderr(), /serial socket .*nodevmm\.js: the path exists and is not a socket/);
  t.true(existsSync(NODEVMM_BIN));
});

// ---- a real terminal: util-linux's `script` gives nodevmm a pseudo-terminal on stdin ----------------

const haveScript = spawnSync('script', ['--version']).status === 0;
const terminalTest = haveScript ? kvmTest : test.skip;

/** Runs `sh -c COMMAND` on a new pty; stdin writes are typed keys, stdout is the terminal's screen. */
function onTerminal(command: string) {
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString('latin1')));
  child.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString('latin1')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    type: (keys: string) => child.stdin.write(keys),
    screen: () => screen,
    waitFor: (text: string, ms = 20_000) => waitFor(() => screen.includes(text), ms, `'${text}' on the terminal:\n${screen}`),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

/** `stty -g` before and after the command: the terminal's settings must come back exactly. */
const framed = (nodevmmArgs: string): string =>
  `stty -g; ${process.execPath} ${NODEVMM_BIN} ${nodevmmArgs}; echo "rc=$?"; stty -g`;

function sttyBeforeAfter(screen: string): [string, string] {
  const lines = screen.split(/\r?\n/).filter((line) => /^[0-9a-f]+(:[0-9a-f]+){20,}/.test(line.trim()));
  return [lines[0]?.trim() ?? 'missing', lines.at(-1)?.trim() ?? 'missing'];
}

terminalTest('terminal: raw keys reach the guest without local echo, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A x quits with 0 and restores the terminal', async (t) => {
  const term = onTerminal(framed(`--kernel ${guestPath('serial-echo')} --memory size=32M`));
  try {
    await term.waitFor(READY);
    term.type('abc'); // no Enter: raw mode delivers each key at once
    await term.waitFor('ABC');
    t.false(term.screen().slice(term.screen().indexOf(READY)).includes('abc'), 'no local echo: only the guest echoes');
    term.type('d\x01\x01e');
    await term.waitFor('D\x01E');
    term.type('\x01x');
    await term.waitFor('rc=0');
    t.regex(term.screen(), /Ctrl-A x: shutting down/);
    t.false(term.screen().includes('bye after'), 'the VMM shut down, the guest did not power off');
    const [before, after] = sttyBeforeAfter(term.screen());
    t.is(after, before, 'terminal settings restored');
    t.is(await term.exited, 0);
  } finally {
    term.kill();
  }
});

terminalTest('terminal: restored after a fatal exit (exit 1) and after SIGTERM', async (t) => {
  const fatal = onTerminal(framed(`--kernel ${guestPath('no-ram')} --memory size=32M`));
  const api = join(tmp, `api-${n++}.sock`);
  const signalled = onTerminal(framed(`--kernel ${guestPath('serial-echo')} --memory size=32M --api-socket ${api} -v`));
  try {
    await fatal.waitFor('rc=1');
    const [before, after] = sttyBeforeAfter(fatal.screen());
    t.is(after, before, 'restored after the fatal exit');

    await signalled.waitFor(READY);
    process.kill((await new ApiClient(api).ping()).pid, 'SIGTERM');
    await signalled.waitFor('rc=0');
    t.regex(signalled.screen(), /SIGTERM: shutting down/);
    const [before2, after2] = sttyBeforeAfter(signalled.screen());
    t.is(after2, before2, 'restored after SIGTERM');
  } finally {
    fatal.kill();
    signalled.kill();
  }
});
