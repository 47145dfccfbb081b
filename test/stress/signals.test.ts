// Signals at any moment: SIGTERM or SIGINT during a boot, a pause, a shutdown and back-to-back resets
// always ends the VMM in order: exit 0, the last event vmm/shutdown with reason "signal" (or the
// guest's own poweroff, when that won the race), never death by the signal and never exit 1.
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { guestPath, readEvents, startVmm, waitFor, type RunningVmm } from '../helpers/project.js';
import { startApiVmm, tmpFile } from '../helpers/api-vmm.js';
import { scaled } from '../helpers/timing.js';
import type { ExecutionContext } from 'ava';

const RESET_RUNS = Number(process.env.NODEVMM_SIGNAL_RUNS ?? 20);
const RESET_GUESTS = ['acpi-reset', 'i8042-reset', 'cmos-reset', 'triple-fault'] as const;
let files = 0;
const eventsFile = (): string => tmpFile(`signals-${process.pid}-${files++}.events`);

/** The VMM ended in order: exit 0, and its last event is vmm/shutdown for one of `reasons`. */
async function endedInOrder(t: ExecutionContext, vmm: RunningVmm, events: string, reasons: string[], what: string): Promise<void> {
  const exit = await vmm.exited;
  t.is(exit.signal, null, `${what}: killed by ${exit.signal}; stderr: ${vmm.stderr()}`);
  t.is(exit.code, 0, `${what}: stderr: ${vmm.stderr()}`);
  const last = readEvents(events).at(-1);
  t.is(`${last?.source}/${last?.event}`, 'vmm/shutdown', `${what}: last event`);
  t.true(reasons.includes(last?.properties?.reason ?? ''), `${what}: reason ${last?.properties?.reason}`);
}

kvmSerialTest(`SIGTERM during back-to-back resets, ${RESET_RUNS} times at random moments: exit 0 every time`, async (t) => {
  t.timeout(scaled(RESET_RUNS * 30_000));
  for (let run = 0; run < RESET_RUNS; run++) {
    const guest = RESET_GUESTS[run % RESET_GUESTS.length];
    const events = eventsFile();
    const vmm = startVmm(['--kernel', guestPath(guest), '--memory', 'size=32M', '--serial', 'null', '--event-monitor', `path=${events}`]);
    const resets = 1 + Math.floor(Math.random() * 4);
    await waitFor(() => readEvents(events).filter((e) => e.event === 'rebooted').length >= resets, 20_000, `${resets} resets (${guest})`);
    await new Promise((r) => setTimeout(r, Math.random() * 30));
    vmm.child.kill(run % 2 === 0 ? 'SIGTERM' : 'SIGINT');
    await endedInOrder(t, vmm, events, ['signal'], `run ${run} (${guest}, after ${resets} resets)`);
  }
});

kvmSerialTest('SIGTERM while a boot, a pause, a VM shutdown or a guest poweroff is under way: exit 0', async (t) => {
  const cases: Array<{ name: string; guest: string; request: string[]; reasons: string[] }> = [
    { name: 'boot', guest: 'counter', request: ['vm.boot'], reasons: ['signal'] },
    { name: 'pause', guest: 'counter', request: ['vm.boot', 'vm.pause'], reasons: ['signal'] },
    { name: 'resume', guest: 'counter', request: ['vm.boot', 'vm.pause', 'vm.resume'], reasons: ['signal'] },
    { name: 'VM shutdown', guest: 'counter', request: ['vm.boot', 'vm.shutdown'], reasons: ['signal'] },
    // the guest powers off at once; the signal races it, and either may end the VMM
    { name: 'guest poweroff', guest: 'poweroff', request: ['vm.boot'], reasons: ['signal', 'guest-shutdown'] },
  ];
  for (const c of cases) {
    const events = eventsFile();
    const vmm = await startApiVmm(['--event-monitor', `path=${events}`]);
    t.is((await vmm.call('PUT', 'vm.create', { payload: { kernel: guestPath(c.guest) }, memory: { size: 32 << 20 }, serial: { mode: 'Null' } })).status, 204);
    const before = c.request.slice(0, -1);
    for (const step of before) t.is((await vmm.call('PUT', step)).status, 204, `${c.name}: ${step}`);
    // the last request is in flight when the signal comes: its answer may or may not arrive
    const last = vmm.api.request('PUT', c.request.at(-1)!).catch(() => null);
    await new Promise((r) => setTimeout(r, Math.random() * 5));
    vmm.child.kill('SIGTERM');
    await endedInOrder(t, vmm, events, c.reasons, c.name);
    const answer = await last;
    if (answer) t.true(answer.status < 500, `${c.name}: ${answer.status} ${answer.text}`);
  }
});
