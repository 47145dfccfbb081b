// Debian's kernel on nodevmm's virtio-net, on a tap in a network namespace the test makes (the VMM
// runs in it): the guest sees the MAC given, configures an address with busybox's `ip`, pings the
// host side, then moves 16 MiB over TCP each way with the checksums matching on both ends. 64-bit
// user mode (busybox): real KVM or the box, as root (namespaces and taps).
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { bootLinux, virtioInitramfs } from '../helpers/linux-guest.js';
import { eventNames, readEvents } from '../helpers/project.js';
import { ShellSession } from '../helpers/shell-session.js';
import { namespaceProblem } from '../helpers/netns.js';

const minutes = (n: number): number => n * 60_000;
const BLOB = 16 << 20;
const MAC = '52:54:00:6e:76:01';
const HOST = '10.78.0.1';
const GUEST = '10.78.0.2';

function makeTapNamespace(name: string, tap: string): () => void {
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const remove = () => {
    try {
      ip('netns', 'del', name);
    } catch {
      // not made
    }
  };
  try {
    ip('netns', 'add', name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
    ip('-n', name, 'addr', 'add', `${HOST}/24`, 'dev', tap);
    ip('-n', name, 'link', 'set', tap, 'up');
  } catch (error) {
    remove();
    throw new Error(`could not make the tap's namespace: ${(error as { stderr?: Buffer }).stderr?.toString().trim() ?? error}`);
  }
  return remove;
}

/** Runs a node program inside the namespace; resolves with its standard output. */
function inNamespace(namespace: string, program: string, input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', program], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${program.slice(0, 60)}...: exit ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

// receives `bytes` on HOST:port, then prints "<bytes> <sha256>"
const receiver = (port: number) => `
const h = require('crypto').createHash('sha256'); let n = 0;
const s = require('net').createServer((c) => { c.on('data', (d) => { h.update(d); n += d.length; if (n >= ${BLOB}) { c.destroy(); s.close(); console.log(n, h.digest('hex')); } }); });
s.listen(${port}, '${HOST}', () => console.log('listening'));`;

// sends its standard input to GUEST:port (retrying while the guest's listener starts), then closes
const sender = (port: number) => `
const chunks = []; process.stdin.on('data', (d) => chunks.push(d)); process.stdin.on('end', () => {
  const data = Buffer.concat(chunks);
  const attempt = (left) => { const c = require('net').connect(${port}, '${GUEST}', () => c.end(data));
    c.on('error', (e) => { if (left > 0) setTimeout(() => attempt(left - 1), 500); else { console.error(e.message); process.exit(1); } });
    c.on('close', (failed) => { if (!failed) console.log('sent', data.length); }); };
  attempt(60); });`;

kvmSerialTest('virtio-net under Linux on a tap: the MAC, ping, and 16 MiB over TCP each way with matching checksums', async (t) => {
  t.timeout(minutes(25));
  const problem = namespaceProblem();
  if (problem) return void t.fail(problem);
  const namespace = `nodevmm-net-${process.pid}`;
  const removeNamespace = makeTapNamespace(namespace, 'nvtap0');
  t.teardown(removeNamespace);
  const { vmm, events } = bootLinux(t, {
    action: 'shell',
    initramfs: virtioInitramfs(),
    stdin: 'pipe',
    prefix: ['ip', 'netns', 'exec', namespace],
    vmmArgs: ['--net', `tap=nvtap0,mac=${MAC}`],
  });
  await vmm.waitForOutput('NODEVMM-INIT: shell', 1, minutes(15));
  t.notRegex(vmm.stdout(), /insmod .* failed/);
  const shell = new ShellSession(vmm);
  await shell.ask('dmesg -n 1');

  t.is(await shell.ask('cat /sys/class/net/eth0/address'), MAC);
  await shell.ask(`ip addr add ${GUEST}/24 dev eth0 && ip link set eth0 up && ip link set lo up`);
  t.regex(await shell.ask(`ping -c 3 -W 10 ${HOST} | grep 'packets'`), /3 packets transmitted, 3 packets received/);

  // guest -> host
  const received = inNamespace(namespace, receiver(5100));
  await shell.ask(`dd if=/dev/urandom of=/tmp/out bs=1M count=16 2>/dev/null; sha256sum /tmp/out | cut -d' ' -f1 > /tmp/out.sum`, minutes(5));
  const guestSum = await shell.ask('cat /tmp/out.sum');
  let started = Date.now();
  t.is(await shell.ask(`nc ${HOST} 5100 < /tmp/out; echo sent`, minutes(10)), 'sent');
  const [bytes, hostSum] = (await received).split('\n').pop()!.split(' ');
  t.log(`guest -> host: 16 MiB in ${Date.now() - started} ms`);
  t.is(Number(bytes), BLOB);
  t.is(hostSum, guestSum);

  // host -> guest
  const blob = randomBytes(BLOB);
  t.is(await shell.ask('(nc -l -p 5200 > /tmp/in; echo done > /tmp/in.done) & echo listening'), 'listening');
  started = Date.now();
  t.regex(await inNamespace(namespace, sender(5200), blob), /sent 16777216/);
  t.is(await shell.ask('while [ ! -f /tmp/in.done ]; do sleep 1; done; wc -c < /tmp/in', minutes(10)), String(BLOB));
  t.is(await shell.ask('sha256sum /tmp/in | cut -d" " -f1', minutes(2)), createHash('sha256').update(blob).digest('hex'));
  t.log(`host -> guest: 16 MiB in ${Date.now() - started} ms`);

  shell.type('poweroff');
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());
  const activated = readEvents(events).filter((e) => e.source === 'virtio-device' && e.event === 'activated').map((e) => e.properties?.id);
  t.deepEqual(activated, ['_net0']);
  t.deepEqual(eventNames(events).slice(-3), ['vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
});
