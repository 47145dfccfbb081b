import test from 'ava';
import { EscapeKeys, escapeKeysHelp, type TerminalAction } from '../../../src/cli/escape-keys.js';

/** Feeds each string as one read and describes the actions: input as text, commands by name. */
function run(...reads: string[]): string[] {
  const keys = new EscapeKeys();
  return reads.flatMap((read) =>
    keys.feed(Buffer.from(read, 'latin1')).map((a: TerminalAction) => (a.kind === 'input' ? Buffer.from(a.bytes).toString('latin1') : `<${a.kind}>`)),
  );
}

test('plain keys are guest input, in one piece per read', (t) => {
  t.deepEqual(run('ls -l\r', '\x03'), ['ls -l\r', '\x03']);
});

test('Ctrl-A x quits; what came before it is still input', (t) => {
  t.deepEqual(run('abc\x01xdef'), ['abc', '<quit>', 'def']);
  t.deepEqual(run('\x01X'), ['<quit>']);
});

test('Ctrl-A Ctrl-A sends one Ctrl-A', (t) => {
  t.deepEqual(run('a\x01\x01b'), ['a', '\x01b']);
  t.deepEqual(run('\x01\x01\x01\x01'), ['\x01', '\x01']);
});

test('an escape split across two reads still works', (t) => {
  t.deepEqual(run('abc\x01', 'x'), ['abc', '<quit>']);
  t.deepEqual(run('\x01', '\x01', 'z'), ['\x01', 'z']);
});

test('Ctrl-A p presses the power button, Ctrl-A h and Ctrl-A ? print help; other keys after Ctrl-A are dropped', (t) => {
  t.deepEqual(run('\x01p'), ['<power-button>']);
  t.deepEqual(run('\x01h\x01?'), ['<help>', '<help>']);
  t.deepEqual(run('a\x01zb'), ['a', 'b']);
});

test('the help lists every escape key', (t) => {
  const help = escapeKeysHelp();
  for (const keys of ['Ctrl-A x', 'Ctrl-A p', 'Ctrl-A h', 'Ctrl-A Ctrl-A']) t.true(help.includes(keys), keys);
});
