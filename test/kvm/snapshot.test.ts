// vm.snapshot and vm.restore through real nodevmm processes (LIFECYCLE.md §4, Cloud Hypervisor's
// bodies): the counter guest is paused and snapshotted in one VMM, restored in two others (one over
// the REST API, one by `--restore` on the command line), and in both it goes on counting from where
// it stopped: the source's output followed by a restored VMM's is one unbroken count. Bad snapshots
// are refused with a 400 that names the problem, and leave the VMM without a VM.
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestPath, eventNames, startVmm, runVmm } from '../helpers/project.js';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { guestConfig, startApiVmm, tmpFile, waitFor, type ApiVmm } from '../helpers/api-vmm.js';

const COUNT = /count ([0-9a-f]{8})\n/g;
const counts = (text: string): number[] => [...text.matchAll(COUNT)].map((m) => parseInt(m[1], 16));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every count from 1 on, once each, in order (the check the counter guest is built for). */
function unbroken(text: string): { ok: boolean; last: number; total: number } {
  const all = counts(text);
  return { ok: all.every((n, i) => n === i + 1) && !text.includes('MISMATCH'), last: all[all.length - 1] ?? 0, total: all.length };
}

async function stateOf(vmm: ApiVmm): Promise<string> {
  const info = await vmm.call('GET', 'vm.info');
  return info.status === 404 ? 'none' : (info.json as { state: string }).state;
}

/** Output that has stopped changing (a paused guest's last bytes reach stdout first). */
async function quietOutput(vmm: ApiVmm): Promise<string> {
  let before = vmm.stdout();
  for (;;) {
    await sleep(300);
    const now = vmm.stdout();
    if (now === before) return now;
    before = now;
  }
}

kvmSerialTest('snapshot a paused counter guest, restore it in two fresh VMMs (REST and --restore): the count goes on unbroken in both', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-snapshot-'));
  const sourceEvents = tmpFile(`snapshot-source-${process.pid}.events`);
  const source = await startApiVmm(['--event-monitor', `path=${sourceEvents}`]);
  let sourceText: string;
  try {
    t.is((await source.call('PUT', 'vm.create', guestConfig(guestPath('counter')))).status, 204);
    t.is((await source.call('PUT', 'vm.boot')).status, 204);
    await waitFor(() => counts(source.stdout()).length >= 20, 10_000, 'twenty counts');

    const running = await source.call('PUT', 'vm.snapshot', { destination_url: `file://${dir}` });
    t.is(running.status, 409, 'a running VM is not snapshotted');
    t.regex(running.text, /must be Paused/);
    t.false(existsSync(join(dir, 'state.json')));

    t.is((await source.call('PUT', 'vm.pause')).status, 204);
    sourceText = await quietOutput(source);
    const snapshot = await source.call('PUT', 'vm.snapshot', { destination_url: `file://${dir}` });
    t.is(snapshot.status, 204, snapshot.text);
    for (const file of ['config.json', 'state.json', 'memory-ranges']) t.true(existsSync(join(dir, file)), file);
    t.is(readFileSync(join(dir, 'memory-ranges')).length, 32 << 20, 'memory-ranges holds all RAM');
    // the counter guest wrote a few pages: only those take room (the rest are holes, read as zero)
    const stored = statSync(join(dir, 'memory-ranges')).blocks * 512;
    t.true(stored < 1 << 20, `memory-ranges is sparse: ${stored} bytes stored of ${32 << 20}`);
    t.like(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { memory: { size: 32 << 20 }, cpus: { boot_vcpus: 1 } });
    t.is(await stateOf(source), 'Paused', 'the source VM stays paused');
    t.is(source.stdout(), sourceText, 'the guest did not run during the snapshot');
  } finally {
    await source.stop();
  }
  const names = eventNames(sourceEvents);
  t.true(names.indexOf('vm/snapshotting') > names.indexOf('vm/paused') && names.indexOf('vm/snapshotted') > names.indexOf('vm/snapshotting'), names.join(' '));
  const before = unbroken(sourceText);
  t.true(before.ok && before.total >= 20, `the source's counts (${before.total}, last ${before.last})`);

  // Over the REST API: Paused after the restore, counting again after vm.resume.
  const restoredEvents = tmpFile(`snapshot-restored-${process.pid}.events`);
  const restored = await startApiVmm(['--event-monitor', `path=${restoredEvents}`]);
  try {
    const reply = await restored.call('PUT', 'vm.restore', { source_url: `file://${dir}`, prefault: true });
    t.is(reply.status, 204, reply.text);
    t.is(await stateOf(restored), 'Paused');
    await sleep(300);
    t.is(counts(restored.stdout()).length, 0, 'a restored VM is paused until resumed');
    t.is((await restored.call('PUT', 'vm.resume')).status, 204);
    await waitFor(() => counts(sourceText + restored.stdout()).length >= before.total + 20, 10_000, 'twenty counts after the restore');
    const after = unbroken(sourceText + restored.stdout());
    t.true(after.ok, `source then restored: one unbroken count (last before ${before.last}, now ${after.last})`);
    t.false(restored.stdout().includes('nodevmm guest: counter'), 'the guest went on; it did not boot again');
    const again = await restored.call('PUT', 'vm.restore', { source_url: `file://${dir}` });
    t.is(again.status, 409, 'a VMM with a VM does not restore over it');
  } finally {
    await restored.stop();
  }
  const restoredNames = eventNames(restoredEvents);
  t.deepEqual(restoredNames.filter((n) => /restor|resum/.test(n)), ['vm/restoring', 'vm/restored', 'vm/resuming', 'vm/resumed']);

  // The same snapshot a second time, by the command line, running at once.
  const cli = startVmm(['--restore', `source_url=file://${dir},resume=on`]);
  try {
    await waitFor(() => counts(sourceText + cli.stdout()).length >= before.total + 10, 10_000, 'ten counts after --restore');
    t.true(unbroken(sourceText + cli.stdout()).ok, 'source then --restore: one unbroken count');
  } finally {
    cli.child.kill('SIGTERM');
  }
  t.is((await cli.exited).code, 0, cli.stderr());
});

/** A copy of the snapshot `from` with `damage` done to it. */
function damaged(from: string, damage: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-damaged-'));
  cpSync(from, dir, { recursive: true });
  damage(dir);
  return `file://${dir}`;
}

kvmSerialTest('a missing, truncated, changed or foreign snapshot is refused with a 400 naming the problem; the VMM stays without a VM and restores a good one after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-snapshot-'));
  const source = await startApiVmm();
  try {
    t.is((await source.call('PUT', 'vm.create', guestConfig(guestPath('counter')))).status, 204);
    t.is((await source.call('PUT', 'vm.boot')).status, 204);
    await waitFor(() => counts(source.stdout()).length >= 3, 10_000, 'counting');
    t.is((await source.call('PUT', 'vm.pause')).status, 204);
    t.is((await source.call('PUT', 'vm.snapshot', { destination_url: `file://${dir}` })).status, 204);
    t.is((await source.call('PUT', 'vm.snapshot', {})).status, 400, 'destination_url is required');
    t.is((await source.call('PUT', 'vm.snapshot', { destination_url: 'http://host/dir' })).status, 400, 'only file:// URLs');
  } finally {
    await source.stop();
  }

  const flipByte = (file: string, at: number) => (d: string) => {
    const path = join(d, file);
    const bytes = readFileSync(path);
    bytes[at] ^= 0xff;
    writeFileSync(path, bytes);
  };
  const editJson = (file: string, edit: (json: Record<string, any>) => void) => (d: string) => {
    const json = JSON.parse(readFileSync(join(d, file), 'utf8'));
    edit(json);
    writeFileSync(join(d, file), JSON.stringify(json));
  };
  const cases: Array<[string, string, RegExp]> = [
    ['a directory that does not exist', `file://${dir}-missing`, /does not exist/],
    ['not a file URL', 'tcp:127.0.0.1:1', /source_url/],
    ['memory-ranges truncated', damaged(dir, (d) => truncateSync(join(d, 'memory-ranges'), 1 << 20)), /truncated/],
    ['memory-ranges missing', damaged(dir, (d) => copyFileSync('/dev/null', join(d, 'memory-ranges'))), /memory-ranges has 0 bytes/],
    ['a byte of RAM changed', damaged(dir, flipByte('memory-ranges', 0x12345)), /memory-ranges does not match its checksum/],
    ['config.json changed', damaged(dir, editJson('config.json', (c) => (c.cpus.boot_vcpus = 2))), /config.json does not match/],
    ['the machine state changed', damaged(dir, editJson('state.json', (s) => (s.machine.vcpus[0].regs.rip = '0x0'))), /machine state .* does not match/],
    ['another format version', damaged(dir, editJson('state.json', (s) => (s.version = 99))), /format version 99/],
    ['state.json not JSON', damaged(dir, (d) => writeFileSync(join(d, 'state.json'), '{"format": "nodevmm-snap')), /not JSON/],
  ];
  const vmm = await startApiVmm();
  try {
    for (const [what, url, message] of cases) {
      const reply = await vmm.call('PUT', 'vm.restore', { source_url: url });
      t.is(reply.status, 400, `${what}: ${reply.status} ${reply.text}`);
      t.regex(reply.text, message, what);
      t.is(await stateOf(vmm), 'none', `${what}: no VM is left behind`);
    }
    t.is((await vmm.call('PUT', 'vm.restore', { source_url: `file://${dir}`, memory_restore_mode: 'OnDemand' })).status, 400);
    t.is((await vmm.call('PUT', 'vm.restore', { source_url: `file://${dir}`, extra: 1 })).status, 400);
    const good = await vmm.call('PUT', 'vm.restore', { source_url: `file://${dir}`, resume: true });
    t.is(good.status, 204, good.text);
    t.is(await stateOf(vmm), 'Running', 'resume: true runs the restored VM');
  } finally {
    await vmm.stop();
  }

  const cli = await runVmm(['--restore', `source_url=file://${dir}-missing,resume=on`]);
  t.is(cli.code, 2, cli.stderr);
  t.regex(cli.stderr, /does not exist/);
  const paused = await runVmm(['--restore', `source_url=file://${dir}`]);
  t.is(paused.code, 2, 'a paused restore with no API socket could never run');
  t.regex(paused.stderr, /--api-socket/);
});
