// Debian's kernel on nodevmm's virtio console (hvc0) in mode Pty, the way libvirt uses it: the CLI
// prints the terminal's path, a client there sees what the guest writes to /dev/hvc0, and what the
// client types reaches a reader of /dev/hvc0 in the guest. The shell runs on the serial port.
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { bootLinux, virtioInitramfs } from '../helpers/linux-guest.js';
import { eventNames, readEvents, waitFor } from '../helpers/project.js';
import { ShellSession } from '../helpers/shell-session.js';
import { attachPty } from '../helpers/pty-client.js';

const minutes = (n: number): number => n * 60_000;

kvmSerialTest('virtio console under Linux, mode Pty: hvc0 output reaches the terminal, typed input reaches the guest', async (t) => {
  t.timeout(minutes(20));
  const { vmm, events } = bootLinux(t, { action: 'shell', initramfs: virtioInitramfs(), stdin: 'pipe', vmmArgs: ['--console', 'pty'] });
  await waitFor(() => /virtio console on \/dev\/pts\/\d+\n/.test(vmm.stderr()), 60_000, 'the console pty path on stderr');
  const client = attachPty(/virtio console on (\/dev\/pts\/\d+)/.exec(vmm.stderr())![1]);
  t.teardown(() => client.close());
  await vmm.waitForOutput('NODEVMM-INIT: shell', 1, minutes(15));
  const shell = new ShellSession(vmm);
  await shell.ask('dmesg -n 1');
  t.is(await shell.ask('cat /sys/class/tty/hvc0/dev >/dev/null && echo hvc0'), 'hvc0');

  await shell.ask('stty -F /dev/hvc0 raw -echo; echo NODEVMM-HVC-OUT-$((6*7)) > /dev/hvc0');
  await waitFor(() => client.text().includes('NODEVMM-HVC-OUT-42'), 30_000, 'the guest output on the pty');

  t.is(await shell.ask('(head -c 12 /dev/hvc0 > /tmp/typed &) ; echo reading'), 'reading');
  client.type('typed-by-me\n');
  t.is(await shell.ask('while [ ! -s /tmp/typed ]; do sleep 1; done; sleep 1; cat /tmp/typed', minutes(2)), 'typed-by-me');

  shell.type('poweroff');
  t.is((await vmm.exited).code, 0, vmm.stderr());
  t.true(readEvents(events).some((e) => e.source === 'virtio-device' && e.event === 'activated' && e.properties?.id === '_console'));
  t.deepEqual(eventNames(events).slice(-3), ['vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
});
