// The state seam on real KVM: a running guest is paused, everything is saved (every vCPU's state in
// its worker, the in-kernel PICs, IOAPIC, PIT and clock, the devices, RAM), the build is torn down, a
// fresh KVM VM is built from the saved state in the same process, and the guest resumes. The counter
// guest keeps its count in RAM and in a register and prints it: the printed counts must go on from
// where they stopped, none repeated, none skipped, and the guest must never see the two disagree.
import { Control } from '../../src/actors/vcpu-loop.js';
import { openKvm } from '../../src/kvm/availability.js';
import { detectPlatformQuirks } from '../../src/vm/quirks.js'; // as the VMM builds: kvm_pvm's quirks where it is the KVM
import { parseVmConfig } from '../../src/vmm/config.js';
import { bootFromPayload, restoreFromState, saveBuild, teardown, type BuildContext } from '../../src/vmm/builder.js';
import { GuestConsole } from '../../src/vmm/guest-console.js';
import { poolFor } from '../../src/vmm/vcpu-threads.js';
import type { LifecycleEvent } from '../../src/actors/lifecycle.js';
import { guestPath, waitFor } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';

const COUNT_LINE = /count ([0-9a-f]{8})\n/g;

function counts(text: string): number[] {
  return [...text.matchAll(COUNT_LINE)].map((m) => parseInt(m[1], 16));
}

kvmTest('pause → save → restore into a fresh VM → resume: the counter guest goes on, no count repeated or skipped', async (t) => {
  let text = '';
  const events: LifecycleEvent[] = [];
  const console = new GuestConsole({ tty: process.stdout, log: () => {} });
  console.serial$.subscribe((bytes) => (text += Buffer.from(bytes).toString('latin1')));
  const config = parseVmConfig({ payload: { kernel: guestPath('counter') }, memory: { size: 32 << 20 }, serial: { mode: 'Null' } });
  const kvm = openKvm();
  const pool = await poolFor(null, 1, { onEvent: (e) => events.push(e), onWorkerDeath: (_, e) => t.fail(e.message) });
  const context = (generation: number): BuildContext => ({ kvm, pool, generation, quirks: detectPlatformQuirks(), host: console.host, profileExits: 0, log: () => {} });
  try {
    const first = await bootFromPayload(config, context(1));
    console.attach(first.platform.serial);
    pool.run(1);
    await waitFor(() => counts(text).length >= 20, 10_000, 'twenty counts before the save');

    await pool.halt(Control.PAUSE);
    const saved = await saveBuild(first, pool);
    console.stopPumps();
    const before = counts(text);
    const lastBefore = before[before.length - 1];
    t.deepEqual(before, before.map((_, i) => i + 1), 'counts before the save');
    console.detachInput();
    await teardown(first, pool);
    t.is(saved.vcpus.length, 1);
    t.is(saved.ram?.length, 32 << 20);

    // Nothing of the first VM is left: the restore makes a new KVM VM, new RAM and new devices.
    const second = await restoreFromState(config, saved, context(2));
    console.attach(second.platform.serial);
    pool.run(2);
    await waitFor(() => counts(text).length >= before.length + 20, 10_000, 'twenty counts after the restore');
    await pool.halt(Control.STOP);
    console.stopPumps();
    await teardown(second, pool);

    const all = counts(text);
    t.true(all.length >= before.length + 20);
    t.deepEqual(all, all.map((_, i) => i + 1), `counts across the restore (last before it: ${lastBefore})`);
    t.false(text.includes('MISMATCH'), 'the guest saw its register and its RAM disagree');
    t.is(text.match(/nodevmm guest: counter/g)?.length, 1, 'the guest started again instead of going on');
    t.deepEqual(events, [], 'no lifecycle event: neither build ended on its own');
  } finally {
    await pool.close();
    await console.close();
    kvm.close();
  }
});

kvmTest('a saved build is refused by a config it does not fit, and nothing stays open', async (t) => {
  const console = new GuestConsole({ tty: process.stdout, log: () => {} });
  const config = parseVmConfig({ payload: { kernel: guestPath('counter') }, memory: { size: 32 << 20 }, serial: { mode: 'Null' } });
  const kvm = openKvm();
  const pool = await poolFor(null, 1, { onEvent: () => {}, onWorkerDeath: (_, e) => t.fail(e.message) });
  const context = (generation: number): BuildContext => ({ kvm, pool, generation, quirks: detectPlatformQuirks(), host: console.host, profileExits: 0, log: () => {} });
  try {
    const first = await bootFromPayload(config, context(1));
    const saved = await saveBuild(first, pool);
    await teardown(first, pool);
    const bigger = parseVmConfig({ ...config, memory: { size: 64 << 20 } });
    await t.throwsAsync(restoreFromState(bigger, saved, context(2)), { message: /33554432 bytes of RAM, the config has 67108864/ });
    const broken = { ...saved, vcpus: [{ ...saved.vcpus[0], lapic: 'AAAA' }] };
    await t.throwsAsync(restoreFromState(config, broken, context(3)), { message: /lapic/ });
    // The pool is still sound: a good restore after the refusals works.
    const again = await restoreFromState(config, saved, context(4));
    await teardown(again, pool);
  } finally {
    await pool.close();
    kvm.close();
  }
});
