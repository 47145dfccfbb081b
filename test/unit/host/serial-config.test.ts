// The serial modes a VmConfig may ask for: Socket and Pty are served for the serial port, not the console.
import test from 'ava';
import { parseVmConfig } from '../../../src/vmm/config.js';
import { guestPath } from '../../helpers/project.js';

const withSerial = (serial: unknown, console?: unknown) => ({ payload: { kernel: guestPath('serial-echo') }, serial, ...(console ? { console } : {}) });

test('serial mode Socket with a path is accepted', (t) => {
  t.deepEqual(parseVmConfig(withSerial({ mode: 'Socket', socket: '/tmp/vm.serial' })).serial, { mode: 'Socket', socket: '/tmp/vm.serial' });
});

test('serial mode Socket needs its path', (t) => {
  t.throws(() => parseVmConfig(withSerial({ mode: 'Socket' })), { message: 'serial.socket is required with mode Socket' });
});

test("serial mode Pty is accepted; a path given with it is vm.info's report coming back, and dropped", (t) => {
  t.deepEqual(parseVmConfig(withSerial({ mode: 'Pty' })).serial, { mode: 'Pty' });
  t.deepEqual(parseVmConfig(withSerial({ mode: 'Pty', file: '/dev/pts/9' })).serial, { mode: 'Pty' });
});

test('the virtio console takes Off, Null, Tty, Pty and File; not Socket, and not Tty beside a Tty serial port', (t) => {
  for (const mode of ['Off', 'Null', 'Tty', 'Pty'] as const) t.is(parseVmConfig(withSerial({ mode: 'Null' }, { mode })).console.mode, mode);
  t.deepEqual(parseVmConfig(withSerial({ mode: 'Null' }, { mode: 'File', file: '/tmp/c' })).console, { mode: 'File', file: '/tmp/c' });
  t.deepEqual(parseVmConfig(withSerial({ mode: 'Null' }, { mode: 'Pty', file: '/dev/pts/9' })).console, { mode: 'Pty' }, "a Pty's reported path is dropped");
  t.throws(() => parseVmConfig(withSerial({ mode: 'Null' }, { mode: 'Socket', socket: '/tmp/c' })), { message: 'console.mode Socket: the virtio console has no socket mode (the serial port has)' });
  t.throws(() => parseVmConfig(withSerial({ mode: 'Tty' }, { mode: 'Tty' })), { message: /serial and console cannot both be Tty/ });
  t.is(parseVmConfig(withSerial({ mode: 'Null' })).console.mode, 'Off', 'no console unless asked for');
});

test("Cloud Hypervisor's defaults for fields nodevmm lacks are accepted; anything else is refused by name", (t) => {
  const base = withSerial({ mode: 'Null' });
  t.notThrows(() => parseVmConfig({ ...base, cpus: { boot_vcpus: 1, max_vcpus: 1, kvm_hyperv: false, nested: true } }));
  t.notThrows(() => parseVmConfig({ ...base, memory: { size: 64 << 20, thp: true, shared: false, mergeable: false, hugepages: false } }));
  t.throws(() => parseVmConfig({ ...base, cpus: { boot_vcpus: 2, topology: { threads_per_core: 1 } } }), { message: 'cpus.topology is not supported by nodevmm yet' });
  t.throws(() => parseVmConfig({ ...base, memory: { size: 64 << 20, hugepages: true } }), { message: 'memory.hugepages is not supported by nodevmm yet' });
  t.throws(() => parseVmConfig({ ...base, serial: { mode: 'Null', iommu: true } }), { message: 'serial.iommu is not supported by nodevmm yet' });
  t.throws(() => parseVmConfig({ ...base, payload: { ...(base as { payload: object }).payload, firmware: '/x' } }), { message: 'payload.firmware is not supported by nodevmm yet' });
});
