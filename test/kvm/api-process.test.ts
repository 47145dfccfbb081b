// The API socket over the nodevmm process's whole life: created owner-only, usable for as long as the
// VMM lives (also across a guest exit with --no-shutdown), removed on every way the VMM ends.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { guestPath, eventNames, readEvents, NODEVMM_BIN, runVmm, startVmm } from '../helpers/project.js';
import { kvmSerialTest, kvmTest } from '../helpers/kvm-test.js';
import { guestConfig, socketPath, startApiVmm, tmpFile, waitUntilServing, type ApiVmm } from '../helpers/api-vmm.js';
import { ApiClient } from '../../src/api/remote-client.js';
import { scaled } from '../helpers/timing.js';

function assertOwnerOnly(t: { is(a: unknown, b: unknown, m?: string): void }, path: string): void {
  t.is(statSync(path).mode & 0o777, 0o600, `${path} is owner-only`);
}

async function createAndBoot(vmm: ApiVmm, guest: string, extra: Record<string, unknown> = {}): Promise<void> {
  for (const [endpoint, body] of [['vm.create', guestConfig(guestPath(guest), extra)], ['vm.boot', undefined]] as const) {
    const reply = await vmm.call('PUT', endpoint, body);
    if (reply.status !== 204) throw new Error(`${endpoint}: ${reply.status} ${reply.text}`);
  }
}

kvmTest('without payload flags the VMM starts idle and waits; vmm.shutdown answers 204, then the process exits 0 and the socket goes', async (t) => {
  const events = tmpFile(`events-idle-${process.pid}.json`);
  const vmm = await startApiVmm(['--event-monitor', `path=${events}`]);
  assertOwnerOnly(t, vmm.socket);
  const ping = await vmm.call('GET', 'vmm.ping');
  t.like(ping.json, { pid: vmm.child.pid, version: '0.1.0' });
  await new Promise((r) => setTimeout(r, 300));
  t.is(vmm.child.exitCode, null, 'idle, it waits');
  t.is((await vmm.call('PUT', 'vmm.shutdown')).status, 204, 'the reply arrives before the process ends');
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());
  t.false(existsSync(vmm.socket), 'the socket file is removed');
  t.deepEqual(eventNames(events), ['vmm/starting', 'vmm/shutdown']);
  t.is(readEvents(events).at(-1)?.properties?.reason, 'api');
});

kvmSerialTest('vmm.shutdown with a spinning 2-vCPU guest: the VM stops, then the VMM, exit 0', async (t) => {
  const events = tmpFile(`events-spin-${process.pid}.json`);
  const vmm = await startApiVmm(['--event-monitor', `path=${events}`]);
  await createAndBoot(vmm, 'spin', { cpus: { boot_vcpus: 2, max_vcpus: 2 } });
  await vmm.waitForOutput('nodevmm guest: spin');
  const sent = Date.now();
  t.is((await vmm.call('PUT', 'vmm.shutdown')).status, 204);
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());
  t.true(Date.now() - sent < 2000, `ended in ${Date.now() - sent} ms`);
  t.false(existsSync(vmm.socket));
  t.deepEqual(eventNames(events).slice(-2), ['vm/shutdown', 'vmm/shutdown']);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  kvmTest(`${signal}: exit 0 and the socket file is removed`, async (t) => {
    const vmm = await startApiVmm();
    await createAndBoot(vmm, 'spin');
    await vmm.waitForOutput('nodevmm guest: spin');
    vmm.child.kill(signal);
    t.is((await vmm.exited).code, 0, vmm.stderr());
    t.false(existsSync(vmm.socket));
  });
}

kvmTest('guest poweroff without --no-shutdown: the VMM exits 0 and removes its socket', async (t) => {
  const vmm = await startApiVmm();
  await createAndBoot(vmm, 'poweroff');
  t.is((await vmm.exited).code, 0, vmm.stderr());
  t.regex(vmm.stdout(), /nodevmm guest: poweroff/);
  t.false(existsSync(vmm.socket));
});

for (const flags of [[], ['--no-shutdown']]) {
  kvmTest(`a fatal exit ${flags.join(' ') || 'without flags'}: exit 1, and the socket file is removed all the same`, async (t) => {
    const vmm = await startApiVmm(flags);
    await createAndBoot(vmm, 'no-ram');
    t.is((await vmm.exited).code, 1, vmm.stderr());
    t.regex(vmm.stderr(), /fatal: .*internal error/);
    t.false(existsSync(vmm.socket));
  });
}

kvmTest('--no-shutdown with --kernel: after the guest powers off the socket stays usable and the VM boots again', async (t) => {
  const socket = socketPath();
  const vmm = startVmm(['--kernel', guestPath('poweroff'), '--memory', 'size=32M', '--no-shutdown', '--api-socket', socket]);
  await vmm.waitForOutput('nodevmm guest: poweroff');
  const api = new ApiClient(socket);
  await waitUntilServing(api, vmm);
  for (let i = 0; i < 50 && (await api.info()).state !== 'Shutdown'; i++) await new Promise((r) => setTimeout(r, 50));
  t.is((await api.info()).state, 'Shutdown');
  assertOwnerOnly(t, socket);
  await api.boot();
  await vmm.waitForOutput('nodevmm guest: poweroff', 2);
  t.is(vmm.child.exitCode, null);
  await api.shutdownVmm();
  t.is((await vmm.exited).code, 0);
  t.false(existsSync(socket));
});

kvmTest('--api-socket fd=N: the VMM serves a socket its parent bound, and leaves that file to its owner', async (t) => {
  const bound = socketPath();
  const published = socketPath();
  const parent = createServer();
  await new Promise<void>((resolve) => parent.listen(bound, resolve));
  const fd = (parent as unknown as { _handle: { fd: number } })._handle.fd;
  const child = spawn(process.execPath, [NODEVMM_BIN, '--api-socket', 'fd=3', '--no-shutdown'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // The parent lets go of its copy; the file moves so the parent's close cannot remove it.
  renameSync(bound, published);
  await new Promise<void>((resolve) => parent.close(() => resolve()));
  const api = new ApiClient(published);
  const deadline = Date.now() + scaled(10_000);
  let pid: number | undefined;
  while (pid === undefined && Date.now() < deadline) {
    pid = await api.ping().then((p) => p.pid, () => undefined);
    if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
  }
  t.is(pid, child.pid, stderr);
  await api.createVm(guestConfig(guestPath('hello')));
  t.is((await api.info()).state, 'Created');
  await api.shutdownVmm();
  t.is(await exited, 0, stderr);
  t.true(existsSync(published), 'a socket passed by fd is not nodevmm\'s to remove');
});

test('a socket file in use, or a path that is not a socket, is refused with exit 2; a stale one is replaced', async (t) => {
  const first = await startApiVmm();
  const second = await runVmm(['--api-socket', `path=${first.socket}`]);
  t.is(second.code, 2, second.stderr);
  t.regex(second.stderr, /API socket .* in use by another process/);
  t.is((await first.call('GET', 'vmm.ping')).status, 200, 'the first VMM is untouched');

  // SIGKILL leaves the file behind: the next VMM on that path takes it over.
  first.child.kill('SIGKILL');
  await first.exited;
  t.true(existsSync(first.socket));
  const third = await startApiVmm([], { socket: first.socket });
  t.like((await third.call('GET', 'vmm.ping')).json, { pid: third.child.pid });
  await third.stop();
  t.false(existsSync(first.socket));

  const file = tmpFile(`not-a-socket-${process.pid}`);
  writeFileSync(file, 'keep me');
  const refused = await runVmm(['--api-socket', file]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /exists and is not a socket/);
  t.is(readFileSync(file, 'utf8'), 'keep me');
});
