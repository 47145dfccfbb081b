// Debian's kernel with a busybox shell, migrated live: the destination's serial console answers the
// commands typed there, on the same running Linux (no boot), and its `poweroff` ends that VMM with 0.
// 64-bit user mode needs hardware virtualization: real KVM natively, or the nested-KVM box.
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { busyboxInitramfs, linuxGuest, LINUX_CPUS, LINUX_MEMORY } from '../helpers/linux-guest.js';
import { after, handedOver, names, pair, stateOf, unique } from '../helpers/migration-pair.js';

const minutes = (n: number): number => n * 60_000;

kvmSerialTest('busybox shell on Debian\'s kernel migrates; on the destination it answers typed commands and `poweroff` exits 0', async (t) => {
  t.timeout(minutes(20));
  const guest = linuxGuest();
  const vms = await pair(
    {
      payload: { kernel: guest.bzImage, initramfs: busyboxInitramfs(), cmdline: 'console=ttyS0 action=shell' },
      memory: { size: LINUX_MEMORY },
      cpus: { boot_vcpus: LINUX_CPUS, max_vcpus: LINUX_CPUS },
      serial: { mode: 'Tty' },
    },
    { stdin: true },
  );
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
