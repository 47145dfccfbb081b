// Dirty-page logging on real KVM. The counter guest writes only its count and its stack, both in the
// page of its `count` symbol: once logging is on, that page must be reported and little else; a
// paused guest writes nothing, so a drained log stays empty; pages the VMM marks show up once.
import { Control } from '../../src/actors/vcpu-loop.js';
import { openKvm } from '../../src/kvm/availability.js';
import { detectPlatformQuirks } from '../../src/vm/quirks.js'; // as the VMM builds: kvm_pvm's quirks where it is the KVM
import { DIRTY_PAGE_SIZE, DirtyLog, KVM_MEM_LOG_DIRTY_PAGES, type DirtyPages } from '../../src/kvm/dirty-log.js';
import { native } from '../../src/kvm/native.js';
import { parseVmConfig } from '../../src/vmm/config.js';
import { bootFromPayload, teardown } from '../../src/vmm/builder.js';
import { GuestConsole } from '../../src/vmm/guest-console.js';
import { poolFor } from '../../src/vmm/vcpu-threads.js';
import { guestSymbol } from '../helpers/guest-symbols.js';
import { guestPath, waitFor } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';

const RAM = 32 << 20;
const PAGES = RAM / DIRTY_PAGE_SIZE;

function covers(dirty: DirtyPages, gpa: number): boolean {
  return dirty.runs.some((r) => gpa >= r.gpa && gpa < r.gpa + r.length);
}

function show(dirty: DirtyPages): string {
  return `${dirty.pages} pages in ${dirty.runs.length} runs: ${dirty.runs.map((r) => `0x${r.gpa.toString(16)}+0x${r.length.toString(16)}`).join(' ')}`;
}

function timed<T>(f: () => T): { value: T; ms: number } {
  const start = process.hrtime.bigint();
  const value = f();
  return { value, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

kvmTest('the counter guest dirties its page and little else; a paused guest nothing; marked pages once', async (t) => {
  const counterAddress = guestSymbol(guestPath('counter'), 'count');
  const counterPage = counterAddress - (counterAddress % DIRTY_PAGE_SIZE);
  let lines = 0;
  const console = new GuestConsole({ tty: process.stdout, log: () => {} });
  console.serial$.subscribe((bytes) => (lines += Buffer.from(bytes).toString('latin1').split('\n').length - 1));
  const config = parseVmConfig({ payload: { kernel: guestPath('counter') }, memory: { size: RAM }, serial: { mode: 'Null' } });
  const kvm = openKvm();
  const pool = await poolFor(null, 1, { onEvent: (e) => t.fail(`lifecycle event ${e.kind}`), onWorkerDeath: (_, e) => t.fail(e.message) });
  try {
    const machine = await bootFromPayload(config, { kvm, pool, generation: 1, quirks: detectPlatformQuirks(), host: console.host, profileExits: 0, log: () => {} });
    console.attach(machine.platform.serial);
    const log = machine.dirtyLog();
    pool.run(1);
    await waitFor(() => lines >= 5, 10_000, 'the guest counting');

    const started = timed(() => log.start());
    const mark = lines;
    await waitFor(() => lines >= mark + 5, 10_000, 'five counts with logging on');
    const running = timed(() => log.collect());
    t.log(`start ${started.ms.toFixed(3)} ms; running guest, collect ${running.ms.toFixed(3)} ms: ${show(running.value)}`);
    t.true(covers(running.value, counterPage), `the counter's page 0x${counterPage.toString(16)} is dirty`);
    t.true(running.value.pages < PAGES / 100, 'far fewer pages than all RAM');

    const before = lines;
    await waitFor(() => lines >= before + 2, 10_000, 'two more counts');
    await pool.halt(Control.PAUSE);
    const drained = log.collect();
    const empty = timed(() => log.collect());
    t.log(`paused: drained ${show(drained)}; then collect ${empty.ms.toFixed(3)} ms: ${show(empty.value)}`);
    t.true(covers(drained, counterPage), 'the writes since the last collect are drained');
    t.true(drained.pages < PAGES / 100);
    t.deepEqual(empty.value, { runs: [], pages: 0 }, 'a paused guest writes nothing');

    // What a device would write: 5000 bytes from 0x200000 + 100 touch pages 0x200 and 0x201.
    log.markWritten(0x20_0000 + 100, 5000);
    t.deepEqual(log.collect(), { runs: [{ gpa: 0x20_0000, hostOffset: 0x20_0000, length: 2 * DIRTY_PAGE_SIZE }], pages: 2 });
    t.deepEqual(log.collect(), { runs: [], pages: 0 }, 'a marked page is reported once');

    pool.run(1);
    const resumed = lines;
    await waitFor(() => lines >= resumed + 3, 10_000, 'counting again');
    t.true(covers(log.collect(), counterPage), 'logging goes on across a pause');
    log.stop();
    t.false(log.logging);
    t.throws(() => log.collect(), { message: /not logging/ });

    await pool.halt(Control.STOP);
    console.stopPumps();
    await teardown(machine, pool);
  } finally {
    await pool.close();
    await console.close();
    kvm.close();
  }
});

kvmTest('getDirtyLog: bitmap size checked, ENOENT unless the slot logs, host writes unseen, stop ends logging', (t) => {
  const addon = native();
  const kvm = new addon.Kvm();
  const vm = new addon.Vm(kvm);
  const memory = new addon.GuestMemory(RAM);
  try {
    vm.setMemoryRegion(0, 0, memory, 0, RAM);
    const bitmap = new Uint8Array(PAGES / 8);
    t.throws(() => vm.getDirtyLog(0, bitmap), { code: 'ENOENT', message: /^KVM_GET_DIRTY_LOG: ENOENT/ });
    t.throws(() => vm.getDirtyLog(0, bitmap.subarray(8)), { instanceOf: TypeError, message: `getDirtyLog: slot 0 has ${PAGES} pages, its bitmap needs 1024 bytes, got 1016` });
    t.throws(() => vm.getDirtyLog(3, bitmap), { instanceOf: TypeError, message: /slot 3 has no memory region/ });
    t.throws(() => vm.getDirtyLog(0, new Uint32Array(256) as unknown as Uint8Array), { instanceOf: TypeError });

    vm.setMemoryRegion(0, 0, memory, 0, RAM, KVM_MEM_LOG_DIRTY_PAGES);
    new Uint8Array(memory.buffer).fill(0xaa, 0x10_0000, 0x20_0000); // the VMM's writes: not KVM's to see
    bitmap.fill(0xff);
    vm.getDirtyLog(0, bitmap);
    t.true(bitmap.every((b) => b === 0), 'no vCPU ran: nothing dirty');

    const log = new DirtyLog(vm, memory, [{ slot: 0, gpa: 0, hostOffset: 0, size: RAM }]);
    vm.setMemoryRegion(0, 0, memory, 0, RAM); // as a build leaves it
    log.start();
    t.deepEqual(log.collect(), { runs: [], pages: 0 });
    log.stop();
    t.throws(() => vm.getDirtyLog(0, bitmap), { code: 'ENOENT' }, 'KVM no longer logs the slot');
  } finally {
    vm.close();
    memory.close();
    kvm.close();
  }
});
