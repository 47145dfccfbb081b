// virtio-mmio on real KVM, with the tiny guests: a guest that programs hostile queues gets
// DEVICE_NEEDS_RESET for each and a working device after a reset, and the VMM goes on (one log line
// per bad queue); a disk image is locked against a second VMM while one uses it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventNames, guestPath, readEvents, runVmm, startVmm, waitFor } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';
import { startApiVmm } from '../helpers/api-vmm.js';
import { stateOf } from '../helpers/migration-pair.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-virtio-'));
const CASES = ['loop', 'outside', 'ahead', 'indirect', 'size'];

kvmTest('hostile queues on the virtio-rng: each needs a reset, one log line each, then a good request works and the guest powers off', async (t) => {
  const events = join(tmp, 'hostile-events.json');
  const run = await runVmm(['-v', '--kernel', guestPath('virtio-hostile'), '--rng', '--event-monitor', `path=${events}`], 120_000);
  t.is(run.code, 0, run.stderr);
  t.notRegex(run.stdout, /FAIL/, run.stdout);
  for (const name of CASES) t.regex(run.stdout, new RegExp(`hostile ${name}: needs-reset`));
  t.regex(run.stdout, /valid: used 64/);
  const complaints = run.stderr.split('\n').filter((line) => /virtio _rng0: .*the device needs a reset/.test(line));
  t.is(complaints.length, CASES.length, run.stderr);
  const virtio = readEvents(events).filter((e) => e.source === 'virtio-device');
  t.true(virtio.every((e) => e.properties?.id === '_rng0'));
  // five hostile starts (the last fails before it is active) and the good one
  t.is(virtio.filter((e) => e.event === 'activated').length, CASES.length, JSON.stringify(virtio));
  t.is(virtio.filter((e) => e.event === 'reset').length, CASES.length - 1);
  t.deepEqual(eventNames(events).slice(-3), ['vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
});

kvmTest('a disk image in use is locked: a second VMM is refused (exit 2, naming the path), and may use it once the first has gone', async (t) => {
  const image = join(tmp, 'locked.img');
  writeFileSync(image, Buffer.alloc(64 * 1024));
  const first = startVmm(['-v', '--kernel', guestPath('ticker'), '--disk', `path=${image}`, '--serial', 'null']);
  try {
    await waitFor(() => first.stderr().includes('event vm/booted'), 60_000, 'vm/booted');
    for (const disk of [`path=${image}`, `path=${image},readonly=on`]) {
      const second = await runVmm(['--kernel', guestPath('hello'), '--disk', disk]);
      t.is(second.code, 2, second.stderr);
      t.regex(second.stderr, new RegExp(`disks\\[0\\]\\.path ${image.replace(/[.]/g, '\\.')} is locked by another process`));
    }
  } finally {
    first.child.kill('SIGTERM');
    await first.exited;
  }
  const third = await runVmm(['--kernel', guestPath('hello'), '--disk', `path=${image}`]);
  t.is(third.code, 0, third.stderr);
});

kvmTest('live migration of a VM with a disk is refused with 409, and the VM runs on', async (t) => {
  const image = join(tmp, 'no-migration.img');
  writeFileSync(image, Buffer.alloc(64 * 1024));
  const vmm = await startApiVmm(['--kernel', guestPath('ticker'), '--disk', `path=${image}`, '--serial', 'null']);
  try {
    await waitFor(async () => (await stateOf(vmm)) === 'Running', 30_000, 'a running VM');
    const refused = await vmm.call('PUT', 'vm.send-migration', { destination_url: `unix:${join(tmp, 'never.sock')}` });
    t.is(refused.status, 409);
    t.regex(String(refused.json), /live migration of a VM with virtio devices .* is not supported yet/);
    t.is(await stateOf(vmm), 'Running');
  } finally {
    await vmm.stop();
  }
});
