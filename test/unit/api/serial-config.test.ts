// The serial modes a VmConfig may ask for: Socket is served for the serial port, Pty is refused by name.
import test from 'ava';
import { parseVmConfig } from '../../../src/api/config.js';
import { guestPath } from '../../helpers/project.js';

const withSerial = (serial: unknown, console?: unknown) => ({ payload: { kernel: guestPath('serial-echo') }, serial, ...(console ? { console } : {}) });

test('serial mode Socket with a path is accepted', (t) => {
  t.deepEqual(parseVmConfig(withSerial({ mode: 'Socket', socket: '/tmp/vm.serial' })).serial, { mode: 'Socket', socket: '/tmp/vm.serial' });
});

test('serial mode Socket needs its path', (t) => {
  t.throws(() => parseVmConfig(withSerial({ mode: 'Socket' })), { message: 'serial.socket is required with mode Socket' });
});

test('Pty is refused by name, and the console has no Socket backend', (t) => {
  t.throws(() => parseVmConfig(withSerial({ mode: 'Pty' })), { message: 'serial.mode Pty is not supported yet' });
  t.throws(() => parseVmConfig(withSerial({ mode: 'Null' }, { mode: 'Socket', socket: '/tmp/c' })), { message: 'console.mode Socket is not supported yet' });
});
