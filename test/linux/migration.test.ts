// Debian's kernel with a busybox shell, migrated live: the destination's serial console answers the
// commands typed there, on the same running Linux (no boot), and its `poweroff` ends that VMM with 0.
// Then the same with a virtio disk mid-I/O: the device thread's writes into guest RAM (disk reads into
// the page cache, the used ring) must reach the destination as the vCPUs' writes do.
// 64-bit user mode needs hardware virtualization: real KVM natively, or the nested-KVM box.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { busyboxInitramfs, linuxGuest, LINUX_CPUS, LINUX_MEMORY, virtioInitramfs } from '../helpers/linux-guest.js';
import { after, handedOver, names, pair, stateOf, unique } from '../helpers/migration-pair.js';
import { readEvents, waitFor } from '../helpers/project.js';
import { scaled } from '../helpers/timing.js';
import { ShellSession } from '../helpers/shell-session.js';

const minutes = (n: number): number => n * 60_000;

/** A source with Debian's kernel and a busybox shell on its serial console (stdin and stdout), and a destination. */
function linuxPair(initramfs: string, cmdline: string, extra: Record<string, unknown> = {}) {
  const guest = linuxGuest();
  return pair(
    {
      payload: { kernel: guest.bzImage, initramfs, cmdline },
      memory: { size: LINUX_MEMORY },
      cpus: { boot_vcpus: LINUX_CPUS, max_vcpus: LINUX_CPUS },
      serial: { mode: 'Tty' },
      ...extra,
    },
    { stdin: true },
  );
}

kvmSerialTest('busybox shell on Debian\'s kernel migrates; on the destination it answers typed commands and `poweroff` exits 0', async (t) => {
  t.timeout(minutes(20));
  const vms = await linuxPair(busyboxInitramfs(), 'console=ttyS0 action=shell');
  try {
    await vms.source.waitForOutput('NODEVMM-INIT: shell', 1, minutes(15));
    const url = `unix:${unique('linux.sock')}`;
    t.is((await vms.destination.call('PUT', 'vm.receive-migration', { receiver_url: url })).status, 204);
    t.is((await vms.source.call('PUT', 'vm.send-migration', { destination_url: url, downtime_ms: 300, timeout_s: 600, timeout_strategy: 'Ignore' })).status, 204);
    await handedOver(vms, minutes(3));
    t.is((await vms.source.exited).code, 0, vms.source.stderr());
    t.is(await stateOf(vms.destination), 'Running');

    // The shell echoes the line typed; the answer is the line before the marker the command prints.
    const type = (line: string): void => void vms.destination.child.stdin!.write(`${line}\n`);
    type('grep -c ^processor /proc/cpuinfo; echo END-OF-ANSWER');
    await vms.destination.waitForOutput(/\n\d+\r?\nEND-OF-ANSWER/, 1, minutes(2));
    t.is(/\n(\d+)\r?\nEND-OF-ANSWER/.exec(vms.destination.stdout())?.[1], String(LINUX_CPUS));
    t.notRegex(vms.destination.stdout(), /Linux version/, 'Linux went on; it did not boot again');

    type('poweroff');
    const exit = await vms.destination.exited;
    t.is(exit.code, 0, vms.destination.stderr());
    t.deepEqual(after(names(vms.destinationEvents), 'vm/migration-receive-finished'), ['vm/migration-receive-finished', 'vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
  } finally {
    await vms.stop();
  }
});

const MiB = 1 << 20;

kvmSerialTest('a virtio disk mid-I/O migrates: pages the disk filled during pre-copy arrive intact, the writer goes on, the image holds every block', async (t) => {
  t.timeout(minutes(25));
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-disk-migration-'));
  const image = join(dir, 'disk.img');
  // 16 MiB of random data for the page cache; the writer's numbered blocks from 32 MiB (sparse up to
  // 256 MiB: a fast host must not fill it before the migration is over)
  const data = randomBytes(16 * MiB);
  writeFileSync(image, data);
  truncateSync(image, 256 * MiB);
  const sum = createHash('sha256').update(data).digest('hex');
  const vms = await linuxPair(virtioInitramfs(), 'console=ttyS0 action=shell init_on_alloc=0', { disks: [{ path: image }] });
  try {
    await vms.source.waitForOutput('NODEVMM-INIT: shell', 1, minutes(15));
    const before = new ShellSession(vms.source);
    await before.ask('dmesg -n 1; echo 3 > /proc/sys/vm/drop_caches');
    // every loop ends at its next turn once /tmp/stop exists
    await before.ask('(i=0; while [ ! -e /tmp/stop ]; do printf "NODEVMM-BLOCK-%08d\\n" $i; i=$((i+1)); done | dd of=/dev/vda bs=4096 seek=8192 iflag=fullblock oflag=direct 2>/dev/null) &');
    // the same 4 MiB dirtied again and again: pre-copy goes on until timeout_s, whatever the host's speed
    await before.ask('(while [ ! -e /tmp/stop ]; do dd if=/dev/zero of=/dev/null bs=4M count=20 2>/dev/null; done) &');

    const url = `unix:${unique('disk.sock')}`;
    const precopySeconds = Math.round(scaled(15_000) / 1000);
    t.is((await vms.destination.call('PUT', 'vm.receive-migration', { receiver_url: url })).status, 204);
    t.is((await vms.source.call('PUT', 'vm.send-migration', { destination_url: url, downtime_ms: 1, timeout_s: precopySeconds, timeout_strategy: 'Ignore' })).status, 204);
    // After the first pass has sent all RAM, the disk fills the page cache: pages only the device
    // thread writes (KVM's dirty log never sees them; init_on_alloc=0 on the cmdline, or Debian's
    // kernel would zero each page as it allocates it, a CPU write that hides a missed device write). Without the device's own dirty bitmap the
    // destination would have them as the first pass found them.
    await waitFor(() => readEvents(vms.sourceEvents).some((e) => e.event === 'migration-memory-iteration' && Number(e.properties?.id) >= 1), minutes(2), 'the second pre-copy pass');
    t.is(await before.ask('dd if=/dev/vda bs=1M count=16 of=/dev/null 2>/dev/null; echo filled'), 'filled');
    t.false(names(vms.sourceEvents).includes('vm/migration-finished'), `the page cache was filled during pre-copy (timeout_s ${precopySeconds})`);
    await handedOver(vms, minutes(5));
    t.is((await vms.source.exited).code, 0, vms.source.stderr());
    t.is(await stateOf(vms.destination), 'Running');

    const after = new ShellSession(vms.destination);
    const sectorsRead = async () => Number((await after.ask('cat /sys/block/vda/stat')).trim().split(/\s+/)[2]);
    const readBefore = await sectorsRead();
    t.is(await after.ask('dd if=/dev/vda bs=1M count=16 2>/dev/null | sha256sum | cut -c1-64'), sum, 'the page cache the disk filled on the source reads right on the destination');
    t.is(await sectorsRead(), readBefore, 'that read came from the page cache, not the disk');
    await after.ask('touch /tmp/stop; while pidof dd > /dev/null; do sleep 1; done', minutes(3));
    t.is(await after.ask('echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=1M count=16 iflag=direct 2>/dev/null | sha256sum | cut -c1-64'), sum, 'fresh reads on the destination');
    t.is(await after.ask('dmesg | grep -ci "i/o error"'), '0');
    await after.ask('sync');
    after.type('poweroff');
    t.is((await vms.destination.exited).code, 0, vms.destination.stderr());

    // the writer's stream on the image: consecutive numbers from 0, across the migration
    const written = readFileSync(image).subarray(32 * MiB).toString('latin1');
    const numbers = [...written.matchAll(/NODEVMM-BLOCK-(\d{8})\n/g)].map((m) => Number(m[1]));
    t.log(`${numbers.length} numbered lines written across the migration`);
    t.true(numbers.length > 1000, `${numbers.length} lines written`);
    t.true(numbers.every((n, i) => n === i), 'the lines are consecutive from 0: none lost or garbled across the migration');
  } finally {
    await vms.stop();
  }
});
