// The three ways a VM ends, through the `nodevmm` runner on real KVM (LIFECYCLE.md §1).
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { eventNames, guestPath, readEvents, runVmm, startVmm, waitFor } from '../helpers/project.js';
import { kvmSerialTest, kvmTest } from '../helpers/kvm-test.js';
import { scaled } from '../helpers/timing.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-cli-'));
let n = 0;
const eventsFile = (): string => join(tmp, `events-${n++}.json`);

kvmTest('guest poweroff without --no-shutdown: exit 0, events vm/shutdown, vm/deleted, vmm/shutdown', async (t) => {
  const events = eventsFile();
  const run = await runVmm(['--kernel', guestPath('poweroff'), '--event-monitor', `path=${events}`]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /nodevmm guest: poweroff/);
  const names = eventNames(events);
  t.deepEqual(names.slice(-3), ['vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
  t.is(names[0], 'vmm/starting');
  const all = readEvents(events);
  t.is(all.find((e) => e.event === 'shutdown' && e.source === 'vm')?.properties?.reason, 'guest-shutdown');
  t.is(all.at(-1)?.properties?.reason, 'guest-shutdown');
});

kvmTest('guest poweroff with --no-shutdown: the VMM stays alive and only vm/shutdown is written', async (t) => {
  const events = eventsFile();
  const vmm = startVmm(['--kernel', guestPath('poweroff'), '--no-shutdown', '--event-monitor', `path=${events}`]);
  await vmm.waitForOutput('nodevmm guest: poweroff');
  await waitFor(() => eventNames(events).includes('vm/shutdown'), 10_000, 'vm/shutdown');
  await new Promise((r) => setTimeout(r, 700));
  t.is(vmm.child.exitCode, null, 'the VMM process must still run');
  const names = eventNames(events);
  t.is(names.at(-1), 'vm/shutdown');
  t.false(names.includes('vm/deleted'));
  t.false(names.includes('vmm/shutdown'));
  vmm.child.kill('SIGTERM');
  const exit = await vmm.exited;
  t.is(exit.code, 0);
  t.is(readEvents(events).at(-1)?.properties?.reason, 'signal');
});

for (const [guest, reason] of [
  ['acpi-reset', 'acpi-reset'],
  ['i8042-reset', 'i8042-reset'],
  ['cmos-reset', 'cmos-reset'],
  ['triple-fault', 'triple-fault'],
] as const) {
  kvmTest(`${guest}: the guest runs again, vm/rebooting and vm/rebooted, the VMM stays alive`, async (t) => {
    const events = eventsFile();
    const vmm = startVmm(['--kernel', guestPath(guest), '--event-monitor', `path=${events}`, '--memory', 'size=32M']);
    await vmm.waitForOutput(`nodevmm guest: ${guest}`, 2);
    await waitFor(() => eventNames(events).includes('vm/rebooted'), 10_000, 'vm/rebooted');
    t.is(vmm.child.exitCode, null, 'a reset never ends the VMM');
    const all = readEvents(events);
    const rebooting = all.find((e) => e.event === 'rebooting');
    t.is(rebooting?.properties?.reason, reason);
    t.false(eventNames(events).includes('vm/shutdown'));
    vmm.child.kill('SIGTERM');
    t.is((await vmm.exited).code, 0, vmm.stderr());
  });
}

for (const flags of [[], ['--no-shutdown']]) {
  kvmTest(`fatal exit (jump to memory without RAM) ${flags.join(' ') || 'without flags'}: exit 1 with the reason`, async (t) => {
    const events = eventsFile();
    const run = await runVmm(['--kernel', guestPath('no-ram'), ...flags, '--event-monitor', `path=${events}`]);
    t.is(run.code, 1, run.stderr);
    t.regex(run.stdout, /nodevmm guest: no-ram/);
    t.regex(run.stderr, /fatal: vCPU 0: KVM internal error/);
    const last = readEvents(events).at(-1);
    t.is(last?.event, 'shutdown');
    t.is(last?.source, 'vmm');
    t.is(last?.properties?.reason, 'fatal');
    t.regex(last?.properties?.error ?? '', /internal error/);
  });
}

// Test-only injection (src/actors/vcpu-worker.ts): vCPU 0's run throws, or its thread ends, while
// vCPU 1 spins in the guest. Either is fatal, --no-shutdown or not.
for (const [fault, reason] of [['throw', /vCPU 0: injected fault/], ['exit', /vCPU 0 worker died: .*exited with code 70/]] as const) {
  kvmSerialTest(`a vCPU worker that ${fault === 'throw' ? 'throws' : 'dies'} while another vCPU spins: exit 1 with the reason in vmm/shutdown, even with --no-shutdown`, async (t) => {
    const events = eventsFile();
    const vmm = startVmm(['--kernel', guestPath('spin'), '--cpus', 'boot=2', '--no-shutdown', '--event-monitor', `path=${events}`], {
      env: { ...process.env, NODEVMM_TEST_INJECT_VCPU_FAULT: fault },
    });
    const timer = setTimeout(() => vmm.child.kill('SIGKILL'), scaled(60_000));
    const { code } = await vmm.exited;
    clearTimeout(timer);
    t.is(code, 1, vmm.stderr());
    t.regex(vmm.stderr(), reason);
    const last = readEvents(events).at(-1);
    t.is(`${last?.source}/${last?.event}`, 'vmm/shutdown');
    t.is(last?.properties?.reason, 'fatal');
    t.regex(last?.properties?.error ?? '', reason);
  });
}

kvmSerialTest('a spinning 2-vCPU guest stops on SIGTERM within 1 s, exit 0', async (t) => {
  const vmm = startVmm(['--kernel', guestPath('spin'), '--cpus', 'boot=2', '-v']);
  await vmm.waitForOutput('nodevmm guest: spin');
  await new Promise((r) => setTimeout(r, 300));
  const sent = Date.now();
  vmm.child.kill('SIGTERM');
  const exit = await vmm.exited;
  const took = Date.now() - sent;
  t.is(exit.code, 0, vmm.stderr());
  t.true(took < scaled(1000), `stopped in ${took} ms (bound ${scaled(1000)} ms)`);
});

kvmSerialTest('SIGINT is an orderly stop too', async (t) => {
  const vmm = startVmm(['--kernel', guestPath('spin')]);
  await vmm.waitForOutput('nodevmm guest: spin');
  vmm.child.kill('SIGINT');
  t.is((await vmm.exited).code, 0, vmm.stderr());
});

test('bad input exits 2 with a message that names the problem', async (t) => {
  const garbage = join(tmp, 'random.bin');
  writeFileSync(garbage, randomBytes(4096));
  const cases: Array<[string[], RegExp]> = [
    [['--kernel', join(tmp, 'does-not-exist.elf')], /kernel .*does-not-exist\.elf does not exist/],
    [['--kernel', garbage], /kernel .*random\.bin: .*not a PVH ELF or a bzImage/i],
    [['--kernel', guestPath('hello'), '--memory', 'size=lots'], /--memory size: invalid size 'lots'/],
    [['--kernel', guestPath('hello'), '--cpus', 'boot=0'], /--cpus: boot must be at least 1/],
    [['--kernel', guestPath('hello'), '--bogus'], /unknown option --bogus/],
    [['--kernel'], /--kernel needs a value/],
    [['--kernel', guestPath('hello'), '--serial', 'loud'], /--serial: invalid mode 'loud'/],
    [['--kernel', guestPath('hello'), '--memory', 'size=1M'], /memory\.size: .*below the minimum/],
    [[], /nothing to do/],
  ];
  for (const [args, message] of cases) {
    const run = await runVmm(args);
    t.is(run.code, 2, `${args.join(' ')} → ${run.stderr}`);
    t.regex(run.stderr, message, args.join(' '));
  }
});

test('--help and --version exit 0', async (t) => {
  const help = await runVmm(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /--no-shutdown/);
  const version = await runVmm(['--version']);
  t.is(version.code, 0);
  t.regex(version.stdout, /^nodevmm \d+\.\d+\.\d+/);
});
