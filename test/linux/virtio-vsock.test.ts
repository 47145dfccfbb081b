// Debian's kernel on nodevmm's virtio-vsock, hybrid form: a host program connects to the Unix socket,
// sends "CONNECT 5000", gets "OK <port>" and 1 MiB echoed back by a guest listener; a guest program
// connects to the host (CID 2) port 6000 and reaches the listener at SOCKET_6000, which checks 1 MiB
// and answers. 64-bit user mode (a static C program in the guest): real KVM or the box.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { bootLinux, virtioInitramfs } from '../helpers/linux-guest.js';
import { eventNames, readEvents } from '../helpers/project.js';
import { ShellSession } from '../helpers/shell-session.js';

const minutes = (n: number): number => n * 60_000;
const MiB = 1 << 20;

/** CONNECT <port> on the hybrid socket; resolves with the "OK" line and everything the guest sent back. */
function hostConnect(path: string, port: number, data: Buffer): Promise<{ ok: string; echoed: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => socket.write(`CONNECT ${port}\n`));
    let received = Buffer.alloc(0);
    let ok = '';
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!ok && received.includes(10)) {
        const end = received.indexOf(10);
        ok = received.subarray(0, end).toString();
        received = received.subarray(end + 1);
        socket.end(data); // then half-close: the guest echoes to EOF
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ ok, echoed: received }));
  });
}

kvmSerialTest('virtio-vsock under Linux: CONNECT from the host to a guest listener and back, and a guest connection to SOCKET_PORT', async (t) => {
  t.timeout(minutes(20));
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-vsock-'));
  const path = join(dir, 'vsock.sock');
  const fromGuest = { bytes: 0, patternOk: true };
  const hostListener = createServer((c) => {
    c.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== ((fromGuest.bytes + i) * 7 + 3) % 256) fromGuest.patternOk = false;
      fromGuest.bytes += chunk.length;
    });
    c.on('end', () => c.end(`thanks ${fromGuest.bytes}`));
  });
  await new Promise<void>((resolve) => hostListener.listen(`${path}_6000`, resolve));
  t.teardown(() => hostListener.close());

  const { vmm, events } = bootLinux(t, { action: 'shell', initramfs: virtioInitramfs(), stdin: 'pipe', vmmArgs: ['--vsock', `cid=42,socket=${path}`] });
  await vmm.waitForOutput('NODEVMM-INIT: shell', 1, minutes(15));
  t.notRegex(vmm.stdout(), /insmod .* failed/);
  const shell = new ShellSession(vmm);
  await shell.ask('dmesg -n 1');

  // host -> guest listener, echoed back
  t.is(await shell.ask('(vsockio echo 5000 > /tmp/echo.log 2>&1 &); sleep 1; cat /tmp/echo.log'), 'listening 5000');
  const data = randomBytes(MiB);
  let started = Date.now();
  const { ok, echoed } = await hostConnect(path, 5000, data);
  t.log(`host -> guest -> host: 1 MiB each way in ${Date.now() - started} ms`);
  t.regex(ok, /^OK \d+$/);
  t.is(echoed.length, data.length);
  t.true(echoed.equals(data), 'the guest echoed every byte');
  t.is(await shell.ask('sleep 1; tail -n 1 /tmp/echo.log'), `echoed ${MiB}`);

  // guest -> the host's listener at SOCKET_6000
  started = Date.now();
  t.is(await shell.ask(`vsockio send 6000 ${MiB}`, minutes(5)), `sent ${MiB} reply thanks ${MiB}`);
  t.log(`guest -> host: 1 MiB in ${Date.now() - started} ms`);
  t.true(fromGuest.patternOk, 'the bytes arrived in order');

  // a port nobody listens on: the guest's connect is refused, the VMM goes on
  t.regex(await shell.ask('vsockio send 6001 10 2>&1; echo rc=$?'), /^connect: .*\nrc=1$/);

  shell.type('poweroff');
  t.is((await vmm.exited).code, 0, vmm.stderr());
  t.true(readEvents(events).some((e) => e.source === 'virtio-device' && e.event === 'activated' && e.properties?.id === '_vsock0'));
  t.deepEqual(eventNames(events).slice(-3), ['vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
});
