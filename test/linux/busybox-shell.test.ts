// A user's session on Debian's kernel with a busybox shell as the console (guests/linux/busybox-init.sh):
// commands typed on the VMM's stdin run in 64-bit user mode and answer, `reboot` takes the reset path
// and the same VMM boots Linux again, `poweroff` ends the VMM with 0 (LIFECYCLE.md §1). 64-bit user
// mode needs hardware virtualization: real KVM natively, or the nested-KVM box (never kvm_pvm).
import { eventNames, readEvents, waitFor } from '../helpers/project.js';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { bootLinux, busyboxInitramfs, LINUX_CPUS } from '../helpers/linux-guest.js';

const BOOT_MINUTES = 15;
const minutes = (n: number): number => n * 60_000;
const RESET_REASONS = ['acpi-reset', 'i8042-reset', 'cmos-reset', 'triple-fault'];

kvmSerialTest('busybox shell: `grep -c ^processor /proc/cpuinfo` answers 2, `reboot` resets and Linux boots again, `poweroff` exits 0', async (t) => {
  t.timeout(minutes(2 * BOOT_MINUTES + 2));
  const { vmm, events } = bootLinux(t, { action: 'shell', initramfs: busyboxInitramfs(), stdin: 'pipe' });
  const type = (line: string): void => void vmm.child.stdin!.write(`${line}\n`);

  await vmm.waitForOutput('NODEVMM-INIT: shell', 1, minutes(BOOT_MINUTES));
  t.regex(vmm.stdout(), new RegExp(`NODEVMM-INIT: up, cpus=${LINUX_CPUS}`));
  // The shell echoes the line typed; the answer is the line before the marker the command prints.
  type('grep -c ^processor /proc/cpuinfo; echo END-OF-ANSWER');
  await vmm.waitForOutput(/\n\d+\r?\nEND-OF-ANSWER/, 1, minutes(2));
  t.is(/\n(\d+)\r?\nEND-OF-ANSWER/.exec(vmm.stdout())?.[1], String(LINUX_CPUS));

  type('reboot');
  await vmm.waitForOutput('NODEVMM-INIT: reboot', 1, minutes(2));
  await waitFor(() => eventNames(events).includes('vm/rebooted'), minutes(2), 'vm/rebooted');
  const rebooting = readEvents(events).find((e) => e.event === 'rebooting');
  t.true(RESET_REASONS.includes(rebooting?.properties?.reason ?? ''), JSON.stringify(rebooting));
  t.false(eventNames(events).includes('vm/shutdown'), 'a reboot is no shutdown');
  await vmm.waitForOutput(/Linux version 6\.1/, 2, minutes(2));
  await vmm.waitForOutput('NODEVMM-INIT: shell', 2, minutes(BOOT_MINUTES));
  t.is(vmm.child.exitCode, null, 'the VMM stays through a reset');

  type('poweroff');
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());
  t.is(vmm.stdout().split('NODEVMM-INIT: poweroff').length - 1, 1);
  t.deepEqual(eventNames(events).slice(-3), ['vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
  t.is(readEvents(events).at(-1)?.properties?.reason, 'guest-shutdown');
});
