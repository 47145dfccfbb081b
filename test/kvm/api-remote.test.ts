// `nodevmm-remote` against a real nodevmm: every command, its output, and its exit status.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { guestPath } from '../helpers/project.js';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { guestConfig, runRemote, socketPath, startApiVmm, tmpFile } from '../helpers/api-vmm.js';

kvmSerialTest('every command drives the VM; output is readable JSON; the exit status follows the HTTP status', async (t) => {
  const vmm = await startApiVmm(['--no-shutdown']);
  const remote = (...args: string[]) => runRemote(['--api-socket', vmm.socket, ...args]);
  const config = tmpFile(`remote-config-${process.pid}.json`);
  writeFileSync(config, JSON.stringify(guestConfig(guestPath('spin'), { cpus: { boot_vcpus: 2, max_vcpus: 2 } })));
  try {
    const ping = await remote('ping');
    t.is(ping.code, 0, ping.stderr);
    t.like(JSON.parse(ping.stdout), { pid: vmm.child.pid, version: '0.1.0' });
    t.regex(ping.stdout, /\n {2}"pid"/, 'indented, one field a line');

    const noVm = await remote('info');
    t.is(noVm.code, 1);
    t.regex(noVm.stderr, /^nodevmm-remote: info: the VMM answered 404 Not Found: no VM is created/);

    t.is((await remote('create', config)).code, 0);
    const twice = await remote('create', config);
    t.is(twice.code, 1);
    t.regex(twice.stderr, /the VMM answered 409 Conflict: a VM is already created/);

    const boot = await remote('boot');
    t.is(boot.code, 0, boot.stderr);
    t.is(boot.stdout, '', 'a 204 prints nothing');
    await vmm.waitForOutput('nodevmm guest: spin');
    t.like(JSON.parse((await remote('info')).stdout), { state: 'Running', config: { cpus: { boot_vcpus: 2 } } });
    const counters = JSON.parse((await remote('counters')).stdout);
    t.deepEqual(Object.keys(counters).filter((k) => k.startsWith('vcpu')), ['vcpu0', 'vcpu1']);

    const steps: Array<[string, number, string]> = [
      ['boot', 1, 'Running'],
      ['pause', 0, 'Paused'],
      ['pause', 1, 'Paused'],
      ['resume', 0, 'Running'],
      ['power-button', 0, 'Running'],
      ['reboot', 0, 'Running'],
      ['shutdown', 0, 'Shutdown'],
      ['shutdown', 1, 'Shutdown'],
      ['delete', 0, ''],
    ];
    for (const [command, code, state] of steps) {
      const run = await remote(command);
      t.is(run.code, code, `${command}: ${run.stderr}`);
      if (code !== 0) t.regex(run.stderr, new RegExp(`^nodevmm-remote: ${command}: the VMM answered 409 Conflict: cannot`));
      if (state) t.is(JSON.parse((await remote('info')).stdout).state, state, `after ${command}`);
    }
    t.is((await remote('info')).code, 1, 'deleted');

    // create - reads the config from standard input; the VMM's validation message comes back.
    const bad = await runRemote(['--api-socket', vmm.socket, 'create', '-'], JSON.stringify({ payload: { kernel: '/nonexistent/k.elf' } }));
    t.is(bad.code, 1);
    t.regex(bad.stderr, /the VMM answered 400 Bad Request: kernel \/nonexistent\/k\.elf does not exist/);
    t.is((await runRemote(['--api-socket', vmm.socket, 'create', '-'], JSON.stringify(guestConfig(guestPath('hello'))))).code, 0);

    const down = await remote('shutdown-vmm');
    t.is(down.code, 0, down.stderr);
    t.is((await vmm.exited).code, 0);
  } finally {
    await vmm.stop();
  }
});

test('bad usage exits 2 and says what is wrong; a VMM that is not there exits 3', async (t) => {
  const socket = socketPath();
  const cases: Array<[string[], RegExp]> = [
    [[], /no command given/],
    [['--api-socket', socket], /no command given/],
    [['ping'], /--api-socket PATH is required/],
    [['--api-socket', socket, 'explode'], /unknown command 'explode'/],
    [['--api-socket', socket, 'create'], /create needs one FILE/],
    [['--api-socket', socket, 'boot', 'now'], /boot takes no arguments/],
    [['--api-socket', socket, 'create', tmpFile('missing.json')], /cannot read .*missing\.json: ENOENT/],
    [['--bogus', 'ping'], /unknown option --bogus/],
    [['--api-socket'], /--api-socket needs a path/],
  ];
  for (const [args, message] of cases) {
    const run = await runRemote(args);
    t.is(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    t.regex(run.stderr, message, args.join(' '));
  }
  const absent = await runRemote(['--api-socket', socket, 'ping']);
  t.is(absent.code, 3);
  t.regex(absent.stderr, /ping: no API socket at .* \(is nodevmm running with --api-socket\?\)/);
  const help = await runRemote(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /shutdown-vmm/);
  t.is((await runRemote([`--api-socket=path=${socket}`, 'ping'])).code, 3, 'the path=P and --flag=value forms are understood');
});
