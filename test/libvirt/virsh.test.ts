// libvirt drives nodevmm: real virtchd (libvirt's ch driver) and virsh, built from Debian's source by
// scripts/libvirt/build.sh, with nodevmm on virtchd's PATH as `cloud-hypervisor`. The guests are real:
// the tiny PVH ones, and Debian's kernel with the busybox shell, a virtio disk and a tap libvirt
// makes. One virtchd serves every test, one test at a time. Each domain's VMM is started by libvirt,
// as in production.
import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { guestPath, waitFor } from '../helpers/project.js';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { alive, domainXml, serialPty, startLibvirt, type DomainSpec, type Libvirt } from '../helpers/libvirt.js';
import { attachPty, type PtyClient } from '../helpers/pty-client.js';
import { linuxGuest, virtioInitramfs, LINUX_CPUS } from '../helpers/linux-guest.js';
import { tmpFile } from '../helpers/api-vmm.js';
import { ApiClient } from '../../src/api/remote-client.js';
import { scaled } from '../helpers/timing.js';

let started: Promise<Libvirt> | null = null;
const libvirt = (): Promise<Libvirt> => (started ??= startLibvirt());
/** VMMs libvirt leaves running (see "destroy"): ended by the test that made them, or here. */
const leftovers = new Set<number>();
test.after.always(async () => {
  for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (started) await (await started).stop();
});

const tiny = (lv: Libvirt, name: string, guest: string, emulator = lv.cloudHypervisor): DomainSpec => ({
  name, kernel: guestPath(guest), memoryMiB: 32, vcpus: 1, emulator,
});

/** Defines and starts the domain; its VMM's pid, or null if the VMM has already ended (hello). */
async function defineAndStart(lv: Libvirt, spec: DomainSpec): Promise<number | null> {
  const xml = tmpFile(`${spec.name}.xml`);
  writeFileSync(xml, domainXml(spec));
  lv.ok('define', xml);
  lv.ok('start', spec.name);
  const pid = lv.vmmPid(spec.name);
  if (pid !== null) leftovers.add(pid);
  return pid;
}

async function running(lv: Libvirt, spec: DomainSpec): Promise<number> {
  const pid = await defineAndStart(lv, spec);
  if (pid === null) throw new Error(`libvirt started ${spec.name}, but no VMM runs for it`);
  return pid;
}

const apiOf = (lv: Libvirt, name: string): ApiClient => new ApiClient(`${lv.install.rundir}/libvirt/ch/${name}-socket`, { timeoutMs: scaled(20_000) });

const state = (lv: Libvirt, name: string): string => lv.ok('domstate', '--reason', name);
const waitForState = (lv: Libvirt, name: string, expected: string, ms = 60_000): Promise<void> =>
  waitFor(() => state(lv, name) === expected, ms, `${name}: ${expected} (now ${state(lv, name)})`);
/** The Debian case's net: a tap libvirt makes (`<interface type='ethernet'>`), the host side addressed by libvirt. */
const NET = { tap: 'nvlibvirt0', mac: '52:54:00:6e:76:0a', host: '10.80.0.1', guest: '10.80.0.2' };
const waitForText = (pty: PtyClient, pattern: RegExp | string, from = 0, ms = 30_000): Promise<void> =>
  waitFor(() => (typeof pattern === 'string' ? pty.text().indexOf(pattern, from) >= 0 : pattern.test(pty.text().slice(from))), ms, `${pattern} on the pty`);

kvmSerialTest('hello: defined and started by virsh; the guest powers off by itself → "shut off (shutdown)", the VMM exits', async (t) => {
  const lv = await libvirt();
  t.regex(lv.ok('version'), /Running hypervisor: CH 36\.0\.0/);
  const pid = await defineAndStart(lv, tiny(lv, 'nodevmm-hello', 'hello'));
  await waitForState(lv, 'nodevmm-hello', 'shut off (shutdown)');
  await waitFor(() => pid === null || !alive(pid), 10_000, 'the VMM gone');
  t.is(lv.vmmPid('nodevmm-hello'), null);
});

kvmSerialTest('ticker: output on the pty from dumpxml; suspend stops it and resume goes on; dominfo; vcpuinfo finds vcpu0; reboot; shutdown', async (t) => {
  const lv = await libvirt();
  const name = 'nodevmm-ticker';
  const pid = await running(lv, tiny(lv, name, 'ticker'));
  const pty = attachPty(serialPty(lv, name));
  t.teardown(() => pty.close());
  const dots = (): number => pty.text().split('.').length;
  const seen = dots();
  await waitFor(() => dots() > seen + 50, 20_000, 'the ticker ticking on the pty');

  lv.ok('suspend', name);
  t.is(state(lv, name), 'paused (user)');
  await new Promise((r) => setTimeout(r, scaled(300)));
  const paused = dots();
  await new Promise((r) => setTimeout(r, scaled(1000)));
  t.is(dots(), paused, 'no output while paused');
  lv.ok('resume', name);
  t.is(state(lv, name), 'running (unpaused)');
  await waitFor(() => dots() > paused + 50, 20_000, 'ticking again after resume');

  const info = lv.ok('dominfo', name);
  t.regex(info, /State:\s+running/);
  t.regex(info, /CPU\(s\):\s+1/);
  t.regex(info, /Max memory:\s+32768 KiB/);
  // libvirt finds vCPU threads by name (vcpuN); /proc says which thread that is.
  const vcpus = lv.ok('vcpuinfo', name);
  t.regex(vcpus, /VCPU:\s+0/);

  // libvirt's reboot is vm.reboot: the VMM counts it, and the guest goes on ticking.
  lv.ok('reboot', name);
  const reboots = async (): Promise<number> => (JSON.parse((await apiOf(lv, name).request('GET', 'vm.counters')).text) as { lifecycle: { reboots: number } }).lifecycle.reboots;
  await waitFor(async () => (await reboots()) === 1, 30_000, 'the reboot counted');
  const afterReboot = dots();
  await waitFor(() => dots() > afterReboot + 50, 20_000, 'ticking after the reboot');
  t.regex(state(lv, name), /^running/);

  // libvirt's `shutdown` sends vm.shutdown: the VM stops, the VMM stays (Cloud Hypervisor's way);
  // libvirt marks the domain shut off from the vm/shutdown event, and leaves the process to its owner.
  lv.ok('shutdown', name);
  await waitForState(lv, name, 'shut off (shutdown)');
  t.true(alive(pid), 'vm.shutdown leaves the VMM running');
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !alive(pid), 10_000, 'the VMM ended by SIGTERM');
});

kvmSerialTest('destroy: a running domain is "shut off (destroyed)" at once', async (t) => {
  const lv = await libvirt();
  const name = 'nodevmm-destroy';
  const pid = await running(lv, tiny(lv, name, 'spin'));
  t.is(state(lv, name), 'running (booted)');
  lv.ok('destroy', name);
  t.is(state(lv, name), 'shut off (destroyed)');
  // Without systemd-machined libvirt 11.3 kills only its own children, and the VMM is daemonized: it
  // stays until someone else ends it. A SIGTERM ends it in order.
  if (alive(pid)) process.kill(pid, 'SIGTERM');
  await waitFor(() => !alive(pid), 10_000, 'the VMM ended');
});

kvmSerialTest('Debian\'s kernel with the busybox shell, a virtio disk and an ethernet interface: commands typed on the pty answer, /dev/vda is the disk, the guest pings the tap libvirt made, poweroff → shut off', async (t) => {
  t.timeout(scaled(6 * 60_000));
  const lv = await libvirt();
  const name = 'nodevmm-linux';
  const disk = tmpFile('libvirt-disk.img');
  const mark = 'NODEVMM-LIBVIRT-DISK';
  writeFileSync(disk, Buffer.concat([Buffer.from(mark), Buffer.alloc((1 << 20) - mark.length)]));
  const guest = linuxGuest();
  const pid = await running(lv, {
    name, kernel: guest.bzImage, initrd: virtioInitramfs(), cmdline: 'console=ttyS0 action=shell',
    memoryMiB: 256, vcpus: LINUX_CPUS, emulator: lv.cloudHypervisor, disks: [disk],
    nets: [{ tap: NET.tap, mac: NET.mac, hostIp: NET.host, prefix: 24 }],
  });
  const pty = attachPty(serialPty(lv, name));
  t.teardown(() => pty.close());
  await waitForText(pty, 'NODEVMM-INIT: shell', 0, 5 * 60_000);
  let asked = 0;
  const ask = async (command: string): Promise<string> => {
    const n = ++asked;
    const from = pty.text().length;
    pty.type(`echo "@@$((${n}+0))<"; ${command}; echo "@@$((${n}+0))>"\n`);
    await waitForText(pty, `@@${n}>`, from, 60_000);
    const text = pty.text().slice(from);
    const start = text.indexOf(`@@${n}<`) + `@@${n}<`.length;
    return text.slice(start, text.indexOf(`@@${n}>`, start)).replace(/\r/g, '').trim();
  };
  t.is(await ask('grep -c ^processor /proc/cpuinfo'), String(LINUX_CPUS));
  t.is(await ask(`head -c ${mark.length} /dev/vda`), mark);
  // libvirt made the tap, gave its address to the host side, and sent its fd with vm.add-net
  t.regex(execFileSync('ip', ['-o', 'addr', 'show', 'dev', NET.tap]).toString(), new RegExp(`inet ${NET.host.replace(/\./g, '\\.')}/24`));
  t.is(await ask(`cat /sys/class/net/eth0/address`), NET.mac);
  t.is(await ask(`ip addr add ${NET.guest}/24 dev eth0 && ip link set eth0 up && ping -c 3 -W 20 ${NET.host} > /dev/null; echo ping=$?`), 'ping=0');
  pty.type('poweroff\n');
  await waitForState(lv, name, 'shut off (shutdown)', 120_000);
  await waitFor(() => !alive(pid), 10_000, 'the VMM gone');
});

kvmSerialTest('--no-shutdown under libvirt (an <emulator> that adds it): libvirt shows the same "shut off"; the VMM stays, unreachable', async (t) => {
  const lv = await libvirt();
  const name = 'nodevmm-no-shutdown';
  await defineAndStart(lv, tiny(lv, name, 'hello', lv.noShutdownEmulator));
  await waitForState(lv, name, 'shut off (shutdown)');
  const pid = lv.vmmPid(name);
  t.not(pid, null, 'the VMM outlives the guest');
  if (pid === null) return;
  leftovers.add(pid);
  // libvirt bound the API socket and removes its file when it marks the domain shut off: the VMM
  // that stays can no longer be reached through it; only a signal ends it.
  const socket = `${lv.install.rundir}/libvirt/ch/${name}-socket`;
  t.false(existsSync(socket), 'libvirt removed the API socket');
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !alive(pid), 10_000, 'the VMM ended');
});

kvmSerialTest('libvirt\'s logs: no request refused, no error, no warning from the ch driver', async (t) => {
  const lv = await libvirt();
  const log = lv.daemonLog();
  t.true(log.length > 0, 'virtchd wrote its log');
  // Not nodevmm's: calls virsh makes that libvirt's ch driver does not implement, and events Cloud
  // Hypervisor sends too that libvirt 11.3 does not know (it warns on those for Cloud Hypervisor alike).
  const libvirtsOwn = /is not supported by the connection driver|Unknown event: (cpu_manager:create_vcpu|virtio-device:(activated|reset))$/;
  const bad = log.split('\n').filter((line) => / (error|warning) : /.test(line) && !libvirtsOwn.test(line));
  t.deepEqual(bad, []);
  t.notRegex(log, /Unexpected response|response code from CH: [^2]/);
});
