// A disk's state goes through vm.snapshot and --restore mid-I/O: Debian's kernel writes to its
// virtio disk in a loop (O_DIRECT, a request per 4 KiB) while the VM is paused and snapshotted; the
// source VMM ends (its image lock goes with it), a new VMM restores the snapshot on the same image,
// and the guest goes on: the loop keeps writing, fresh I/O works, the kernel logged no I/O error,
// and after poweroff the image holds what the guest wrote before and after the snapshot.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { linuxGuest, LINUX_CPUS, LINUX_MEMORY, virtioInitramfs } from '../helpers/linux-guest.js';
import { startApiVmm } from '../helpers/api-vmm.js';
import { ShellSession } from '../helpers/shell-session.js';
import { waitFor } from '../helpers/project.js';
import { stateOf } from '../helpers/migration-pair.js';

const minutes = (n: number): number => n * 60_000;

kvmSerialTest('a virtio disk mid-I/O survives snapshot and restore: the guest goes on writing, reads back, no I/O errors', async (t) => {
  t.timeout(minutes(20));
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-disk-snapshot-'));
  const image = join(dir, 'disk.img');
  writeFileSync(image, Buffer.alloc(64 << 20));
  const guest = linuxGuest();
  const source = await startApiVmm([
    '--kernel', guest.bzImage, '--initramfs', virtioInitramfs(), '--cmdline', 'console=ttyS0 action=shell',
    '--memory', `size=${LINUX_MEMORY}`, '--cpus', `boot=${LINUX_CPUS}`, '--disk', `path=${image}`,
  ], { stdin: 'pipe' });
  let restored: Awaited<ReturnType<typeof startApiVmm>> | null = null;
  try {
    await source.waitForOutput('NODEVMM-INIT: shell', 1, minutes(15));
    const before = new ShellSession(source);
    await before.ask('dmesg -n 1');
    // numbered 4 KiB blocks from the start of the disk, one request each, until stopped
    await before.ask('(i=0; while :; do printf "NODEVMM-BLOCK-%08d\\n" $i; i=$((i+1)); done | dd of=/dev/vda bs=4096 iflag=fullblock oflag=direct 2>/dev/null) &');
    await before.ask('sleep 2');
    t.is((await source.call('PUT', 'vm.pause')).status, 204);
    const snapshotDir = join(dir, 'snapshot');
    t.is((await source.call('PUT', 'vm.snapshot', { destination_url: `file://${snapshotDir}` })).status, 204);
    await source.stop();

    restored = await startApiVmm(['--restore', `source_url=file://${snapshotDir}`], { stdin: 'pipe' });
    // --restore runs once the API serves: wait for its Paused VM
    const vm = restored;
    await waitFor(async () => (await stateOf(vm)) === 'Paused', 60_000, 'the restored VM');
    t.is(await stateOf(vm), 'Paused');
    t.is((await restored.call('PUT', 'vm.resume')).status, 204);
    const after = new ShellSession(restored);
    // dd's offset in /dev/vda: where the writer has got to
    const offset = async () => Number(/pos:\s*(\d+)/.exec(await after.ask('cat /proc/$(pidof dd)/fdinfo/1'))?.[1] ?? NaN);
    const first = await offset();
    await after.ask('sleep 2');
    const second = await offset();
    t.true(second > first, `the writer goes on writing after the restore (offset ${first}, then ${second})`);
    await after.ask('kill $(pidof dd); sleep 1');
    t.is(await after.ask('echo AFTER-RESTORE | dd of=/dev/vda bs=512 seek=120000 conv=sync,fsync 2>/dev/null; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=120000 count=1 2>/dev/null | head -c 13'), 'AFTER-RESTORE');
    t.is(await after.ask('dmesg | grep -ci "i/o error"'), '0');
    after.type('poweroff');
    t.is((await restored.exited).code, 0, restored.stderr());
  } finally {
    await source.stop();
    await restored?.stop();
  }
  const bytes = readFileSync(image);
  t.is(bytes.subarray(0, 22).toString(), 'NODEVMM-BLOCK-00000000');
  t.is(bytes.subarray(120000 * 512, 120000 * 512 + 13).toString(), 'AFTER-RESTORE');
});
