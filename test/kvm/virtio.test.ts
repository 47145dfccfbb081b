// virtio-mmio on real KVM, with the tiny guests: a guest that programs hostile queues gets
// DEVICE_NEEDS_RESET for each and a working device after a reset, and the VMM goes on (one log line
// per bad queue); a disk image is locked against a second VMM while one uses it, and its lock follows
// a live migration; a tap handed over with vm.add-net serves every boot of its VM.
import { closeSync, mkdtempSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventNames, guestPath, readEvents, runVmm, startVmm, waitFor } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';
import { startApiVmm } from '../helpers/api-vmm.js';
import { handedOver, pair, stateOf, unique } from '../helpers/migration-pair.js';
import { rawClient } from '../helpers/fd-client.js';
import { native } from '../../src/kvm/native.js';

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

kvmTest('a disk migrates with its lock: the destination holds it (a third VMM is refused), the source has let it go', async (t) => {
  const image = join(tmp, 'migrating.img');
  writeFileSync(image, Buffer.alloc(64 * 1024));
  const vms = await pair({ payload: { kernel: guestPath('ticker') }, serial: { mode: 'Null' }, disks: [{ path: image }] });
  try {
    const url = `unix:${unique('disk-lock.sock')}`;
    t.is((await vms.destination.call('PUT', 'vm.receive-migration', { receiver_url: url })).status, 204);
    t.is((await vms.source.call('PUT', 'vm.send-migration', { destination_url: url })).status, 204);
    await handedOver(vms, 120_000);
    t.is((await vms.source.exited).code, 0, vms.source.stderr());
    t.is(await stateOf(vms.destination), 'Running');
    const third = await runVmm(['--kernel', guestPath('hello'), '--disk', `path=${image}`]);
    t.is(third.code, 2, third.stderr);
    t.regex(third.stderr, /is locked by another process/);
  } finally {
    await vms.stop();
  }
});

kvmTest('live migration of a VM with a vsock is refused with 409 naming it, and the VM runs on', async (t) => {
  const vmm = await startApiVmm(['--kernel', guestPath('ticker'), '--vsock', `cid=3,socket=${join(tmp, 'vsock.sock')}`, '--serial', 'null']);
  try {
    await waitFor(async () => (await stateOf(vmm)) === 'Running', 30_000, 'a running VM');
    const refused = await vmm.call('PUT', 'vm.send-migration', { destination_url: `unix:${join(tmp, 'never.sock')}` });
    t.is(refused.status, 409);
    t.regex(String(refused.json), /cannot migrate live \(_vsock\w*: vsock connections cannot follow a live migration\)/);
    t.is(await stateOf(vmm), 'Running');
  } finally {
    await vmm.stop();
  }
});

kvmTest('a tap handed over with vm.add-net (SCM_RIGHTS) serves boot after boot: each build uses a dup, and vm.delete closes it', async (t) => {
  const vmm = await startApiVmm(['--no-shutdown']);
  const tapName = `nvadd${process.pid % 100000}`;
  const tap = native().openTap(tapName); // makes the tap (root); the VMM gets the descriptor, as from libvirt
  const client = rawClient(vmm.socket);
  try {
    t.is((await vmm.call('PUT', 'vm.create', { payload: { kernel: guestPath('hello') }, serial: { mode: 'Null' } })).status, 204);
    const added = await client.send('PUT', 'vm.add-net', JSON.stringify({ id: 'net_0', mac: '52:54:00:6e:76:09', num_queues: 2 }), [tap.fd]);
    t.is(added.status, 204, added.text);
    const vmmTaps = () => readdirSync(`/proc/${vmm.child.pid}/fd`).filter((fd) => readlinkSync(`/proc/${vmm.child.pid}/fd/${fd}`) === '/dev/net/tun').length;
    t.is(vmmTaps(), 1, 'the config holds the tap');
    // the hello guest powers off: with --no-shutdown the VM stops and may boot again, with its net
    for (let boot = 1; boot <= 2; boot++) {
      const booted = await vmm.call('PUT', 'vm.boot');
      t.is(booted.status, 204, `boot ${boot}: ${booted.text}`);
      await waitFor(async () => ((await vmm.call('GET', 'vm.info')).json as { state: string }).state === 'Shutdown', 60_000, `boot ${boot} ending`);
      t.is(vmmTaps(), 1, `after boot ${boot} the config still holds the tap, and no more`);
    }
    t.is((await vmm.call('PUT', 'vm.delete')).status, 204);
    t.is(vmmTaps(), 0, 'vm.delete closed the tap');
  } finally {
    client.close();
    closeSync(tap.fd);
    await vmm.stop();
  }
});
