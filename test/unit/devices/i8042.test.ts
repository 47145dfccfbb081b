import test from 'ava';
import { I8042, I8042Command as Cmd } from '../../../src/devices/i8042.js';
import { PioBus } from '../../../src/devices/bus.js';
import { Pio } from '../../../src/devices/addresses.js';
import { FakeLifecycle } from './helpers/fakes.js';

const STATUS_OBF = 0x01;
const STATUS_IBF = 0x02;

function setup() {
  const lifecycle = new FakeLifecycle();
  const i8042 = new I8042({ lifecycle });
  const bus = new PioBus();
  bus.register(Pio.I8042_START, Pio.I8042_LENGTH, i8042);
  const status = (): number => bus.read(0x64, 1);
  const command = (cmd: number): void => bus.write(0x64, 1, cmd);
  const data = (): number => bus.read(0x60, 1);
  const sendData = (value: number): void => bus.write(0x60, 1, value);
  return { lifecycle, i8042, bus, status, command, data, sendData };
}

/** Linux's i8042_command(): wait for IBF clear, write, then wait for OBF and read each reply byte. */
function linuxCommand(s: ReturnType<typeof setup>, cmd: number, out: number[] = [], replies = 0): number[] | 'timeout' {
  const wait = (ready: () => boolean): boolean => {
    for (let i = 0; i < 100; i++) if (ready()) return true;
    return false;
  };
  if (!wait(() => (s.status() & STATUS_IBF) === 0)) return 'timeout';
  s.command(cmd);
  for (const byte of out) {
    if (!wait(() => (s.status() & STATUS_IBF) === 0)) return 'timeout';
    s.sendData(byte);
  }
  const got: number[] = [];
  for (let i = 0; i < replies; i++) {
    if (!wait(() => (s.status() & STATUS_OBF) !== 0)) return 'timeout';
    got.push(s.data());
  }
  return got;
}

test('command 0xFE at 0x64 resets the machine', (t) => {
  const s = setup();
  t.is(s.status() & STATUS_IBF, 0, 'Linux waits for IBF clear before writing');
  s.command(Cmd.RESET_CPU);
  t.deepEqual(s.lifecycle.events, ['reset:i8042-reset']);
});

test('other commands and data bytes do not reset', (t) => {
  const s = setup();
  for (const cmd of [0xaa, 0xab, 0x20, 0xad, 0xae, 0xa7, 0xa8, 0xd0, 0xff, 0xf0, 0xfd]) s.command(cmd);
  s.sendData(0xfe);
  s.command(Cmd.WRITE_OUTPUT_PORT);
  s.sendData(0x00); // reset line low in the output port: not a reset request here
  t.deepEqual(s.lifecycle.events, []);
});

test('port 0x61 reads bit 5 set and keeps its low four bits', (t) => {
  const s = setup();
  t.is(s.bus.read(0x61, 1), 0x20);
  s.bus.write(0x61, 1, 0x03);
  t.is(s.bus.read(0x61, 1), 0x23);
  s.bus.write(0x61, 1, 0xff);
  t.is(s.bus.read(0x61, 1), 0x2f);
});

test('Linux probe: flush, self-test, interface test, command byte round trip', (t) => {
  const s = setup();
  // i8042_flush(): read while OBF is set; must end
  let flushed = 0;
  while ((s.status() & STATUS_OBF) !== 0 && flushed < 16) {
    s.data();
    flushed++;
  }
  t.true(flushed < 16);
  t.deepEqual(linuxCommand(s, Cmd.SELF_TEST, [], 1), [0x55]);
  t.deepEqual(linuxCommand(s, Cmd.KBD_TEST, [], 1), [0x00]);
  const [ctr] = linuxCommand(s, Cmd.READ_CTR, [], 1) as number[];
  t.is(ctr & 0x04, 0x04, 'system flag set');
  t.deepEqual(linuxCommand(s, Cmd.WRITE_CTR, [0x47]), []);
  t.deepEqual(linuxCommand(s, Cmd.READ_CTR, [], 1), [0x47]);
  t.is(s.status() & STATUS_OBF, 0, 'reading the reply empties the output buffer');
});

test('port enable/disable commands show in the command byte', (t) => {
  const s = setup();
  linuxCommand(s, Cmd.WRITE_CTR, [0x00]);
  linuxCommand(s, Cmd.AUX_DISABLE);
  t.deepEqual(linuxCommand(s, Cmd.READ_CTR, [], 1), [0x20]);
  linuxCommand(s, Cmd.KBD_DISABLE);
  t.deepEqual(linuxCommand(s, Cmd.READ_CTR, [], 1), [0x30]);
  linuxCommand(s, Cmd.AUX_ENABLE);
  t.deepEqual(linuxCommand(s, Cmd.READ_CTR, [], 1), [0x10]);
  linuxCommand(s, Cmd.KBD_ENABLE);
  t.deepEqual(linuxCommand(s, Cmd.READ_CTR, [], 1), [0x00]);
});

test('output port write and read back', (t) => {
  const s = setup();
  t.deepEqual(linuxCommand(s, Cmd.READ_OUTPUT_PORT, [], 1), [0x03]);
  linuxCommand(s, Cmd.WRITE_OUTPUT_PORT, [0xdd]);
  t.deepEqual(linuxCommand(s, Cmd.READ_OUTPUT_PORT, [], 1), [0xdd]);
});

test('no AUX port: the loop test gets no reply and the interface test fails', (t) => {
  const s = setup();
  t.is(linuxCommand(s, Cmd.WRITE_AUX_OUTPUT, [0x5a], 1), 'timeout');
  t.deepEqual(linuxCommand(s, Cmd.AUX_TEST, [], 1), [0x01]);
});

test('status bit 3 tells whether the last write was a command', (t) => {
  const s = setup();
  s.command(Cmd.KBD_ENABLE);
  t.is(s.status() & 0x08, 0x08);
  s.sendData(0xf4); // to the (absent) keyboard: dropped
  t.is(s.status() & 0x08, 0);
  t.is(s.status() & STATUS_OBF, 0, 'no keyboard to answer');
});

test('two instances share the output buffer', (t) => {
  const a = setup();
  const b = new I8042({ lifecycle: new FakeLifecycle() }, a.i8042.state);
  a.command(Cmd.SELF_TEST);
  t.is(b.read(4, 1) & STATUS_OBF, STATUS_OBF);
  t.is(b.read(0, 1), 0x55);
  t.is(a.status() & STATUS_OBF, 0);
});
