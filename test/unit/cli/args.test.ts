import test from 'ava';
import { parseArgs, parseSize, UsageError } from '../../../src/cli/args.js';

test('Cloud Hypervisor style flags, both --flag value and --flag=value', (t) => {
  const o = parseArgs(['--kernel', 'k.elf', '--cpus', 'boot=2', '--memory=size=64M', '--serial', 'file=/tmp/s.log', '--no-shutdown', '-v', '--event-monitor', 'path=/tmp/e', '--api-socket', '/tmp/api.sock']);
  t.is(o.kernel, 'k.elf');
  t.is(o.cpus, 2);
  t.is(o.memoryBytes, 64 << 20);
  t.deepEqual(o.serial, { mode: 'File', file: '/tmp/s.log' });
  t.true(o.noShutdown);
  t.is(o.verbose, 1);
  t.deepEqual(o.eventMonitor, { path: '/tmp/e' });
  t.deepEqual(o.apiSocket, { path: '/tmp/api.sock' });
  t.deepEqual(parseArgs(['--api-socket', 'fd=3', '--kernel', 'k']).apiSocket, { fd: 3 });
  t.deepEqual(parseArgs(['--kernel', 'k', '-vv']).verbose, 2);
  t.deepEqual(parseArgs(['--kernel', 'k', '--serial', 'PTY']).serial, { mode: 'Pty' });
  t.is(parseArgs(['--kernel', 'k', '--memory', '64M']).memoryBytes, 64 << 20, 'a bare size is size=');
});

test('sizes: bytes, K, M, G; anything else is a usage error naming the flag', (t) => {
  t.is(parseSize('4096', '--memory'), 4096);
  t.is(parseSize('512K', '--memory'), 512 << 10);
  t.is(parseSize('256M', '--memory'), 256 << 20);
  t.is(parseSize('2G', '--memory'), 2 * 2 ** 30);
  t.is(parseSize('1GiB', '--memory'), 2 ** 30);
  const error = t.throws(() => parseSize('lots', '--memory size'), { instanceOf: UsageError });
  t.regex(error!.message, /--memory size: invalid size 'lots'/);
});

test('bad flags are usage errors that say what is wrong', (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--cpus', 'boot=0'], /at least 1/],
    [['--cpus', 'boot=two'], /whole number/],
    [['--cpus', 'boot=2,max=4'], /max must equal boot/],
    [['--cpus', 'cores=2'], /unknown parameter 'cores'/],
    [['--serial', 'ptty'], /invalid mode 'ptty' \(expected tty, null, off, pty, file=PATH or socket=PATH\)/],
    [['--event-monitor', 'fd=x'], /fd must be a number/],
    [['--frobnicate'], /unknown option --frobnicate/],
    [['stray'], /unexpected argument 'stray'/],
    [['--no-shutdown=yes'], /takes no value/],
    [['--cmdline', 'console=ttyS0'], /need --kernel/],
    [['--quirks', 'sometimes'], /expected auto or off/],
  ];
  for (const [argv, message] of cases) {
    const error = t.throws(() => parseArgs(argv), { instanceOf: UsageError }, argv.join(' '));
    t.regex(error!.message, message, argv.join(' '));
  }
});

test("--disk in Cloud Hypervisor's form: several disks after one flag, or the flag repeated; --rng", (t) => {
  const o = parseArgs(['--kernel', 'k', '--disk', 'path=a.img', 'path=b.img,readonly=on,id=data', '--rng', '--disk=path=c.img,serial=S1,queue_size=64']);
  t.deepEqual(o.disks, [{ path: 'a.img' }, { path: 'b.img', readonly: true, id: 'data' }, { path: 'c.img', serial: 'S1', queue_size: 64 }]);
  t.deepEqual(o.rng, { src: '/dev/urandom' });
  t.deepEqual(parseArgs(['--kernel', 'k', '--rng', 'src=/dev/random']).rng, { src: '/dev/random' });
  t.throws(() => parseArgs(['--kernel', 'k', '--disk']), { instanceOf: UsageError, message: /--disk needs a value/ });
  t.throws(() => parseArgs(['--kernel', 'k', '--disk', 'readonly=on']), { instanceOf: UsageError, message: /expected path=IMAGE/ });
  t.throws(() => parseArgs(['--kernel', 'k', '--disk', 'path=a,direct=on']), { instanceOf: UsageError, message: /unknown parameter 'direct'/ });
  t.throws(() => parseArgs(['--kernel', 'k', '--disk', 'path=a,readonly=maybe']), { instanceOf: UsageError, message: /readonly must be on or off/ });
  t.throws(() => parseArgs(['--disk', 'path=a']), { instanceOf: UsageError, message: /need --kernel/ });
  t.throws(() => parseArgs(['--restore', 'source_url=file:///s', '--rng']), { instanceOf: UsageError, message: /--restore takes the VM config/ });
});
