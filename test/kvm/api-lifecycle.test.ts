// The VM's life driven over the REST API of a real nodevmm process, with tiny guests on real KVM
// (LIFECYCLE.md §2, §4). Every response is checked against docs/openapi.yaml.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { guestPath, eventNames } from '../helpers/project.js';
import { kvmSerialTest, kvmTest } from '../helpers/kvm-test.js';
import { guestConfig, startApiVmm, tmpFile, waitFor, type ApiVmm } from '../helpers/api-vmm.js';

type State = 'none' | 'Created' | 'Running' | 'Paused' | 'Shutdown';

async function stateOf(vmm: ApiVmm): Promise<State> {
  const info = await vmm.call('GET', 'vm.info');
  if (info.status === 404) return 'none';
  return (info.json as { state: State }).state;
}

async function counters(vmm: ApiVmm): Promise<Record<string, Record<string, number>>> {
  const reply = await vmm.call('GET', 'vm.counters');
  if (reply.status !== 200) throw new Error(`vm.counters answered ${reply.status}: ${reply.text}`);
  return reply.json as Record<string, Record<string, number>>;
}

async function expectStatus(t: { is(a: unknown, b: unknown, m?: string): void }, vmm: ApiVmm, endpoint: string, status: number, body?: unknown): Promise<void> {
  const reply = await vmm.call('PUT', endpoint, body);
  t.is(reply.status, status, `${endpoint} → ${reply.status} ${reply.text}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The value once it has not changed for `quietMs` (or whatever it is after `timeoutMs`: a guest still
 * printing then fails the check that follows). */
async function settled(read: () => number, quietMs = 250, timeoutMs = 3000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  let since = Date.now();
  while (Date.now() - since < quietMs && Date.now() < deadline) {
    await sleep(25);
    if (read() !== value) {
      value = read();
      since = Date.now();
    }
  }
  return value;
}

kvmTest('the full lifecycle: create → boot → guest poweroff → Shutdown → boot again → delete → create', async (t) => {
  const events = tmpFile(`events-lifecycle-${process.pid}.json`);
  const vmm = await startApiVmm(['--no-shutdown', '--event-monitor', `path=${events}`]);
  try {
    t.is(await stateOf(vmm), 'none');
    await expectStatus(t, vmm, 'vm.create', 204, guestConfig(guestPath('poweroff')));
    t.is(await stateOf(vmm), 'Created');
    await expectStatus(t, vmm, 'vm.boot', 204);
    await vmm.waitForOutput('nodevmm guest: poweroff', 1);
    await waitFor(() => eventNames(events).includes('vm/shutdown'), 10_000, 'vm/shutdown');
    t.is(await stateOf(vmm), 'Shutdown', 'a guest poweroff leaves the VM in state Shutdown');
    const info = (await vmm.call('GET', 'vm.info')).json as { config: { payload: { kernel: string } } };
    t.is(info.config.payload.kernel, guestPath('poweroff'), 'the config is kept');

    await expectStatus(t, vmm, 'vm.boot', 204);
    await vmm.waitForOutput('nodevmm guest: poweroff', 2);
    await waitFor(() => eventNames(events).filter((e) => e === 'vm/shutdown').length === 2, 10_000, 'the second vm/shutdown');
    t.is(await stateOf(vmm), 'Shutdown');
    t.like(await counters(vmm), { lifecycle: { boots: 2, guest_shutdowns: 2 } });

    await expectStatus(t, vmm, 'vm.delete', 204);
    t.is(await stateOf(vmm), 'none');
    await expectStatus(t, vmm, 'vm.create', 204, guestConfig(guestPath('hello')));
    t.is(await stateOf(vmm), 'Created');
    t.is(vmm.child.exitCode, null, 'the VMM lived through it all');
    t.deepEqual(eventNames(events), [
      'vmm/starting',
      'vm/booting', 'cpu_manager/create_vcpu', 'vm/booted', 'vm/shutdown',
      'vm/booting', 'cpu_manager/create_vcpu', 'vm/booted', 'vm/shutdown',
      'vm/deleted',
    ]);
    await expectStatus(t, vmm, 'vmm.shutdown', 204);
    t.is((await vmm.exited).code, 0);
  } finally {
    await vmm.stop();
  }
});

// LIFECYCLE.md §2, cell by cell: [status, state after, lifecycle counter that must go up by one].
type Cell = [number, State, string?];
const REQUESTS = ['boot', 'shutdown', 'reboot', 'pause', 'resume', 'delete', 'create', 'power-button'] as const;
const TABLE: Record<State, Record<(typeof REQUESTS)[number], Cell>> = {
  none: {
    boot: [404, 'none'], shutdown: [404, 'none'], reboot: [404, 'none'], pause: [404, 'none'], resume: [404, 'none'],
    delete: [204, 'none'], create: [204, 'Created'], 'power-button': [404, 'none'],
  },
  Created: {
    boot: [204, 'Running', 'boots'], shutdown: [409, 'Created'], reboot: [409, 'Created'], pause: [409, 'Created'],
    resume: [409, 'Created'], delete: [204, 'none'], create: [409, 'Created'], 'power-button': [409, 'Created'],
  },
  Running: {
    boot: [409, 'Running'], shutdown: [204, 'Shutdown', 'api_shutdowns'], reboot: [204, 'Running', 'reboots'],
    pause: [204, 'Paused', 'pauses'], resume: [409, 'Running'], delete: [204, 'none'], create: [409, 'Running'],
    'power-button': [204, 'Running'],
  },
  Paused: {
    boot: [204, 'Running', 'resumes'], shutdown: [204, 'Shutdown', 'api_shutdowns'], reboot: [204, 'Running', 'reboots'],
    pause: [409, 'Paused'], resume: [204, 'Running', 'resumes'], delete: [204, 'none'], create: [409, 'Paused'],
    'power-button': [409, 'Paused'],
  },
  Shutdown: {
    boot: [204, 'Running', 'boots'], shutdown: [409, 'Shutdown'], reboot: [409, 'Shutdown'], pause: [409, 'Shutdown'],
    resume: [409, 'Shutdown'], delete: [204, 'none'], create: [409, 'Shutdown'], 'power-button': [409, 'Shutdown'],
  },
};

/** Brings the VMM's VM into `state` from wherever it is. */
async function reach(vmm: ApiVmm, state: State): Promise<void> {
  const steps: Record<State, string[]> = {
    none: [],
    Created: ['vm.create'],
    Running: ['vm.create', 'vm.boot'],
    Paused: ['vm.create', 'vm.boot', 'vm.pause'],
    Shutdown: ['vm.create', 'vm.boot', 'vm.shutdown'],
  };
  const reset = await vmm.call('PUT', 'vm.delete');
  if (reset.status !== 204) throw new Error(`vm.delete: ${reset.status} ${reset.text}`);
  for (const endpoint of steps[state]) {
    const reply = await vmm.call('PUT', endpoint, endpoint === 'vm.create' ? guestConfig(guestPath('spin'), { serial: { mode: 'Null' } }) : undefined);
    if (reply.status !== 204) throw new Error(`${endpoint} while reaching ${state}: ${reply.status} ${reply.text}`);
  }
  if ((await stateOf(vmm)) !== state) throw new Error(`could not reach ${state}`);
}

kvmSerialTest('every cell of the §2 state table: status, the state after, and what it did', async (t) => {
  const vmm = await startApiVmm(['--no-shutdown']);
  try {
    for (const [from, row] of Object.entries(TABLE) as Array<[State, Record<string, Cell>]>) {
      for (const request of REQUESTS) {
        const [status, after, counter] = row[request];
        await reach(vmm, from);
        const before = from === 'none' ? null : (await counters(vmm)).lifecycle;
        const body = request === 'create' ? guestConfig(guestPath('spin'), { serial: { mode: 'Null' } }) : undefined;
        const reply = await vmm.call('PUT', `vm.${request}`, body);
        const cell = `${from} + ${request}`;
        t.is(reply.status, status, `${cell}: ${reply.text}`);
        if (status >= 400) t.true(Array.isArray(reply.json) && (reply.json as string[]).length > 0, `${cell}: an error chain`);
        t.is(await stateOf(vmm), after, `${cell}: the state after`);
        if (counter && before) t.is((await counters(vmm)).lifecycle[counter], before[counter] + 1, `${cell}: ${counter}`);
      }
    }
    t.is(vmm.child.exitCode, null);
  } finally {
    await vmm.stop();
  }
  t.is((await vmm.exited).code, 0, vmm.stderr());
});

kvmSerialTest('a spinning 2-vCPU guest: counters show its exits; pause, resume and shutdown each take effect at once', async (t) => {
  const vmm = await startApiVmm(['--no-shutdown']);
  try {
    await expectStatus(t, vmm, 'vm.create', 204, guestConfig(guestPath('spin'), { cpus: { boot_vcpus: 2, max_vcpus: 2 } }));
    await expectStatus(t, vmm, 'vm.boot', 204);
    await vmm.waitForOutput('nodevmm guest: spin');
    const running = await counters(vmm);
    t.deepEqual(Object.keys(running).filter((k) => k.startsWith('vcpu')), ['vcpu0', 'vcpu1']);
    t.true(running.vcpu0.io >= 'nodevmm guest: spin\n'.length, `the banner's port writes are counted (${JSON.stringify(running.vcpu0)})`);

    for (const [endpoint, state] of [['vm.pause', 'Paused'], ['vm.resume', 'Running'], ['vm.pause', 'Paused'], ['vm.shutdown', 'Shutdown']] as const) {
      const started = Date.now();
      await expectStatus(t, vmm, endpoint, 204);
      t.true(Date.now() - started < 1000, `${endpoint} took ${Date.now() - started} ms`);
      t.is(await stateOf(vmm), state);
    }
    // A guest that never exits can be deleted while it runs, too.
    await expectStatus(t, vmm, 'vm.boot', 204);
    await vmm.waitForOutput('nodevmm guest: spin', 2);
    await expectStatus(t, vmm, 'vm.delete', 204);
    t.is(await stateOf(vmm), 'none');
  } finally {
    await vmm.stop();
  }
  t.is((await vmm.exited).code, 0, vmm.stderr());
});

kvmSerialTest('pause really stops the vCPUs: a guest that prints continuously goes quiet, its exit counts freeze, and resume restarts both', async (t) => {
  const vmm = await startApiVmm(['--no-shutdown']);
  const dots = (): number => (vmm.stdout().match(/\./g) ?? []).length;
  try {
    await expectStatus(t, vmm, 'vm.create', 204, guestConfig(guestPath('ticker'), { cpus: { boot_vcpus: 2, max_vcpus: 2 } }));
    await expectStatus(t, vmm, 'vm.boot', 204);
    await vmm.waitForOutput('nodevmm guest: ticker');
    await waitFor(() => dots() >= 20, 10_000, 'the guest printing');
    const ioBefore = (await counters(vmm)).vcpu0.io;
    await sleep(300);
    const ioRunning = (await counters(vmm)).vcpu0.io;
    t.true(ioRunning > ioBefore, `running: io exits advance (${ioBefore} → ${ioRunning})`);

    await expectStatus(t, vmm, 'vm.pause', 204);
    const pausedIo = (await counters(vmm)).vcpu0.io;
    const pausedDots = await settled(dots); // output already in flight reaches stdout first
    await sleep(700);
    t.is((await counters(vmm)).vcpu0.io, pausedIo, 'paused: no exit is counted');
    t.is(dots(), pausedDots, 'paused: the guest prints nothing');
    t.is(await stateOf(vmm), 'Paused');

    await expectStatus(t, vmm, 'vm.resume', 204);
    await waitFor(() => dots() >= pausedDots + 20, 10_000, 'the guest printing again');
    t.true((await counters(vmm)).vcpu0.io > pausedIo, 'resumed: io exits advance again');
    t.like(await counters(vmm), { lifecycle: { pauses: 1, resumes: 1, boots: 1 } });
  } finally {
    await vmm.stop();
  }
  t.is((await vmm.exited).code, 0, vmm.stderr());
});

kvmSerialTest('concurrent clients on a running VM: every request gets a consistent answer and the VMM stays sound', async (t) => {
  const vmm = await startApiVmm(['--no-shutdown']);
  try {
    await expectStatus(t, vmm, 'vm.create', 204, guestConfig(guestPath('ticker'), { serial: { mode: 'Null' } }));
    await expectStatus(t, vmm, 'vm.boot', 204);
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const endpoint = ['vm.pause', 'vm.resume', 'vm.info', 'vm.counters', 'vmm.ping'][i % 5];
        return vmm.call(endpoint.endsWith('info') || endpoint.endsWith('counters') || endpoint.endsWith('ping') ? 'GET' : 'PUT', endpoint).then((r) => [endpoint, r.status] as const);
      }),
    );
    for (const [endpoint, status] of replies) {
      if (endpoint === 'vm.pause' || endpoint === 'vm.resume') t.true(status === 204 || status === 409, `${endpoint} → ${status}`);
      else t.is(status, 200, endpoint);
    }
    const pauses = replies.filter(([e, s]) => e === 'vm.pause' && s === 204).length;
    const resumes = replies.filter(([e, s]) => e === 'vm.resume' && s === 204).length;
    t.true(pauses >= 1);
    t.true(pauses - resumes === 0 || pauses - resumes === 1, `${pauses} pauses, ${resumes} resumes`);
    t.is(await stateOf(vmm), pauses === resumes ? 'Running' : 'Paused');
    t.like(await counters(vmm), { lifecycle: { pauses, resumes } });
  } finally {
    await vmm.stop();
  }
  t.is((await vmm.exited).code, 0, vmm.stderr());
});

kvmTest('vm.reboot and vm.power-button on a running guest answer 204; the rebooted guest runs again', async (t) => {
  const vmm = await startApiVmm(['--no-shutdown']);
  try {
    await expectStatus(t, vmm, 'vm.create', 204, guestConfig(guestPath('spin')));
    await expectStatus(t, vmm, 'vm.boot', 204);
    await vmm.waitForOutput('nodevmm guest: spin');
    await expectStatus(t, vmm, 'vm.reboot', 204);
    await vmm.waitForOutput('nodevmm guest: spin', 2);
    await expectStatus(t, vmm, 'vm.power-button', 204);
    t.is(await stateOf(vmm), 'Running', 'a guest that ignores the button keeps running');
    t.like(await counters(vmm), { lifecycle: { reboots: 1 } });
  } finally {
    await vmm.stop();
  }
});

kvmTest('a FIFO event monitor opened after the VMM started (as libvirt does) gets every event; the API never waits for it', async (t) => {
  const fifo = tmpFile(`events-fifo-${process.pid}`);
  execFileSync('mkfifo', [fifo]);
  const vmm = await startApiVmm(['--no-shutdown', '--event-monitor', `path=${fifo}`]);
  try {
    // No reader yet: the VMM must serve requests and run the guest anyway.
    await expectStatus(t, vmm, 'vm.create', 204, guestConfig(guestPath('poweroff')));
    await expectStatus(t, vmm, 'vm.boot', 204);
    await vmm.waitForOutput('nodevmm guest: poweroff');
    for (let i = 0; i < 50 && (await stateOf(vmm)) !== 'Shutdown'; i++) await sleep(50);
    t.is(await stateOf(vmm), 'Shutdown');

    const reader = new Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    let text = '';
    reader.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const ended = new Promise<void>((resolve) => reader.on('end', () => resolve()));
    const names = (): string[] => text.split(/\n\n+/).filter((c) => c.trim().endsWith('}')).map((c) => JSON.parse(c)).map((e) => `${e.source}/${e.event}`);
    await waitFor(() => names().includes('vm/shutdown'), 10_000, 'the held events');
    t.deepEqual(names(), ['vmm/starting', 'vm/booting', 'cpu_manager/create_vcpu', 'vm/booted', 'vm/shutdown']);
    await expectStatus(t, vmm, 'vmm.shutdown', 204);
    await ended;
    t.is(names().at(-1), 'vmm/shutdown');
    t.is((await vmm.exited).code, 0);
  } finally {
    await vmm.stop();
  }
});
