// Debian's kernel on nodevmm's virtio-mmio devices (found through ACPI, LNRO0005): three disks and an
// rng, driven from the guest's busybox shell. A pattern written to the first disk with dd is read
// back in the guest past its page cache and found in the image file after the VMM exits; an ext4
// image made on the host with `mkfs.ext4 -d` mounts and its file reads right; a read-only disk
// refuses writes, even once the guest's kernel is told to allow them (the device answers IOERR),
// and its file stays byte-identical; /dev/hwrng gives 64 KiB. 64-bit user mode: real KVM or the box.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { bootLinux, virtioInitramfs } from '../helpers/linux-guest.js';
import { eventNames, readEvents } from '../helpers/project.js';
import { ShellSession } from '../helpers/shell-session.js';

const minutes = (n: number): number => n * 60_000;
const MiB = 1 << 20;

function images() {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-blk-'));
  const data = join(dir, 'data.img');
  writeFileSync(data, Buffer.alloc(16 * MiB));
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  const secret = `nodevmm ext4 ${randomBytes(8).toString('hex')}`;
  writeFileSync(join(tree, 'hello.txt'), `${secret}\n`);
  const ext4 = join(dir, 'ext4.img');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, ext4, '16M']);
  const readonly = join(dir, 'ro.img');
  writeFileSync(readonly, randomBytes(MiB));
  return { data, ext4, readonly, secret, readonlyBytes: readFileSync(readonly) };
}

kvmSerialTest('virtio-blk and virtio-rng under Linux: dd round trip into the image, an ext4 image mounts, a read-only disk stays unchanged, 64 KiB from /dev/hwrng', async (t) => {
  t.timeout(minutes(20));
  const disks = images();
  const { vmm, events } = bootLinux(t, {
    action: 'shell',
    initramfs: virtioInitramfs(),
    stdin: 'pipe',
    vmmArgs: ['--disk', `path=${disks.data}`, `path=${disks.ext4},id=rootfs`, `path=${disks.readonly},readonly=on`, '--rng'],
  });
  await vmm.waitForOutput('NODEVMM-INIT: shell', 1, minutes(15));
  t.notRegex(vmm.stdout(), /insmod .* failed/);
  const shell = new ShellSession(vmm);
  await shell.ask('dmesg -n 1'); // kernel messages on the console would mix into the answers

  t.is(await shell.ask('ls /sys/block | grep vd | tr "\\n" " "'), 'vda vdb vdc');
  t.is(await shell.ask('cat /sys/block/vda/size /sys/block/vdc/ro | tr "\\n" " "'), `${(16 * MiB) / 512} 1`);

  // 2000 numbered lines, written through to the disk, read back after dropping the page cache
  await shell.ask('i=1; while [ $i -le 2000 ]; do echo NODEVMM-PATTERN-$i; i=$((i+1)); done > /tmp/p; dd if=/tmp/p of=/dev/vda bs=4096 conv=fsync 2>/dev/null; sync');
  const written = await shell.ask('md5sum < /tmp/p');
  const readBack = await shell.ask('echo 3 > /proc/sys/vm/drop_caches; head -c $(wc -c < /tmp/p) /dev/vda | md5sum');
  t.is(readBack, written);

  t.is(await shell.ask('mount -t ext4 /dev/vdb /mnt && cat /mnt/hello.txt && umount /mnt'), disks.secret);

  t.regex(await shell.ask('dd if=/dev/zero of=/dev/vdc bs=512 count=1 2>&1; echo rc=$?'), /rc=1$/);
  // past the kernel's own check: the write reaches the device, which answers IOERR
  t.regex(await shell.ask('blockdev --setrw /dev/vdc; dd if=/dev/zero of=/dev/vdc bs=512 count=1 oflag=direct 2>&1; echo rc=$?'), /rc=1$/);

  t.is(await shell.ask('cat /sys/class/misc/hw_random/rng_current'), 'virtio_rng.0');
  t.is(await shell.ask('dd if=/dev/hwrng bs=1024 count=64 2>/dev/null | wc -c'), '65536');

  shell.type('poweroff');
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());

  const pattern = Array.from({ length: 2000 }, (_, i) => `NODEVMM-PATTERN-${i + 1}\n`).join('');
  const image = readFileSync(disks.data);
  t.is(image.subarray(0, pattern.length).toString(), pattern, 'the pattern is in the image file');
  t.is(createHash('md5').update(pattern).digest('hex') + '  -', written);
  t.deepEqual(readFileSync(disks.readonly), disks.readonlyBytes, 'the read-only image is byte-identical');
  const activated = readEvents(events).filter((e) => e.source === 'virtio-device' && e.event === 'activated').map((e) => e.properties?.id);
  t.deepEqual(activated.sort(), ['_disk0', '_disk2', '_rng0', 'rootfs']);
  t.deepEqual(eventNames(events).slice(-3), ['vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
});
