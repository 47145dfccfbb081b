// A full filesystem under the VMM's files: a snapshot onto it fails with a clear error, leaves nothing
// that restore would take, and the VM goes on as if nothing happened; an event file on it stops taking
// events, which the VMM counts (vm.counters) and reports once, while the VM keeps running. The full
// filesystem is a small tmpfs filled to the brim (mount needs root: CI and the box run as root).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { guestPath, waitFor } from '../helpers/project.js';
import { guestConfig, startApiVmm } from '../helpers/api-vmm.js';

const COUNT = /count ([0-9a-f]{8})\n/g;
const counts = (text: string): number[] => [...text.matchAll(COUNT)].map((m) => parseInt(m[1], 16));

/** A 1 MiB tmpfs with all but `freeBytes` taken by a filler file; unmounted when the test ends. */
function fullFilesystem(t: ExecutionContext, freeBytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`this test mounts a small tmpfs and needs root: ${(error as Error).message}`);
  }
  t.teardown(() => execFileSync('umount', ['-l', dir]));
  writeFileSync(join(dir, 'filler'), Buffer.alloc((1 << 20) - freeBytes));
  return dir;
}

kvmSerialTest('a snapshot onto a full filesystem: a 4xx naming ENOSPC, no snapshot left to restore, and the VM resumes counting', async (t) => {
  const full = fullFilesystem(t, 8192);
  const vmm = await startApiVmm();
  try {
    t.is((await vmm.call('PUT', 'vm.create', guestConfig(guestPath('counter')))).status, 204);
    t.is((await vmm.call('PUT', 'vm.boot')).status, 204);
    await waitFor(() => counts(vmm.stdout()).length >= 5, 10_000, 'five counts');
    t.is((await vmm.call('PUT', 'vm.pause')).status, 204);
    const target = join(full, 'snap');
    const reply = await vmm.call('PUT', 'vm.snapshot', { destination_url: `file://${target}` });
    t.true(reply.status >= 400 && reply.status < 500, `${reply.status} ${reply.text}`);
    t.regex(reply.text, /ENOSPC/);
    t.deepEqual(readdirSync(target), [], 'no file, partial or whole, is left in the snapshot directory');

    const restore = await startApiVmm();
    try {
      const refused = await restore.call('PUT', 'vm.restore', { source_url: `file://${target}` });
      t.is(refused.status, 400, refused.text);
      t.regex(refused.text, /does not exist/);
    } finally {
      await restore.stop();
    }

    t.is(((await vmm.call('GET', 'vm.info')).json as { state: string }).state, 'Paused', 'the VM is unharmed, still paused');
    const before = counts(vmm.stdout()).length;
    t.is((await vmm.call('PUT', 'vm.resume')).status, 204);
    await waitFor(() => counts(vmm.stdout()).length >= before + 5, 10_000, 'five more counts');
    const all = counts(vmm.stdout());
    t.true(all.every((n, i) => n === i + 1), 'the count goes on unbroken');
  } finally {
    await vmm.stop();
  }
});

kvmSerialTest('an event file on a full filesystem: the VM keeps rebooting, the lost events are counted and reported once', async (t) => {
  const full = fullFilesystem(t, 0);
  const vmm = await startApiVmm(['--event-monitor', `path=${join(full, 'events')}`]);
  try {
    t.is((await vmm.call('PUT', 'vm.create', { payload: { kernel: guestPath('acpi-reset') }, memory: { size: 32 << 20 }, serial: { mode: 'Null' } })).status, 204);
    t.is((await vmm.call('PUT', 'vm.boot')).status, 204);
    const counters = async () => (await vmm.call('GET', 'vm.counters')).json as { lifecycle: { reboots: number }; event_monitor: { lost_events: number } };
    await waitFor(async () => (await counters()).lifecycle.reboots >= 20, 30_000, 'twenty resets');
    const lost = (await counters()).event_monitor.lost_events;
    // every event since vmm/starting: at least a vm/rebooting and vm/rebooted per reset
    t.true(lost >= 40, `lost events counted: ${lost}`);
    t.is((await vmm.call('GET', 'vmm.ping')).status, 200);
  } finally {
    await vmm.stop();
  }
  const reports = vmm.stderr().match(/event monitor/gi) ?? [];
  t.is(reports.length, 1, `reported once: ${vmm.stderr()}`);
  t.regex(vmm.stderr(), /ENOSPC/);
});
