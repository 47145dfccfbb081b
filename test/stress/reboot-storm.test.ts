// A reboot storm in one VMM: guests that reset at once, through each reset path in turn (ACPI,
// i8042, CMOS, triple fault), 1 000 resets in all. Every reset is counted in vm.counters and has its
// vm/rebooting and vm/rebooted pair; the VMM's open fds, threads and RSS after all of them stay near
// their values after the first tenth (a structure that grew per reset would show here).
import { processUsage as usage, type ProcessUsage as Usage } from '../../benchmarks/lib/process-usage.js';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { guestPath, readEvents, waitFor } from '../helpers/project.js';
import { startApiVmm, tmpFile, type ApiVmm } from '../helpers/api-vmm.js';
import { scaled } from '../helpers/timing.js';
import { checkUsageFlat } from '../helpers/flat-usage.js';

const RESETS = Number(process.env.NODEVMM_STORM_RESETS ?? 1000);
const PATHS = ['acpi-reset', 'i8042-reset', 'cmos-reset', 'triple-fault'] as const;


async function reboots(vmm: ApiVmm): Promise<number> {
  const counters = (await vmm.call('GET', 'vm.counters')).json as { lifecycle: { reboots: number } };
  return counters.lifecycle.reboots;
}

kvmSerialTest(`reboot storm: ${RESETS} resets through the four paths in one VMM, each counted and paired, fds, threads and RSS flat`, async (t) => {
  t.timeout(scaled(25 * 60_000));
  const events = tmpFile(`storm-${process.pid}.events`);
  const vmm = await startApiVmm(['--event-monitor', `path=${events}`]);
  const started = performance.now();
  let total = 0;
  let early: Usage | null = null;
  try {
    for (const [i, path] of PATHS.entries()) {
      // the counter is the VMM's, across its VMs
      const target = Math.round((RESETS * (i + 1)) / PATHS.length);
      t.is((await vmm.call('PUT', 'vm.create', { payload: { kernel: guestPath(path) }, memory: { size: 32 << 20 }, serial: { mode: 'Null' } })).status, 204);
      t.is((await vmm.call('PUT', 'vm.boot')).status, 204);
      await waitFor(async () => {
        const count = await reboots(vmm);
        if (early === null && count >= RESETS / 10) early = usage(vmm.child.pid!);
        return count >= target;
      }, scaled(10 * 60_000), `${target - total} resets by ${path}`);
      t.is((await vmm.call('PUT', 'vm.shutdown')).status, 204);
      const counted = (await reboots(vmm)) - total;
      // pairs: vm/rebooting and vm/rebooted for each reset of this VM
      const these = readEvents(events).filter((e) => e.source === 'vm' && e.properties?.reason === path);
      t.is(these.filter((e) => e.event === 'rebooting').length, counted, `${path}: one vm/rebooting per counted reset`);
      t.is(these.filter((e) => e.event === 'rebooted').length, counted, `${path}: one vm/rebooted per counted reset`);
      total += counted;
      t.is((await vmm.call('PUT', 'vm.delete')).status, 204);
    }
    const late = usage(vmm.child.pid!);
    const seconds = (performance.now() - started) / 1000;
    t.log(`${total} resets in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(1)}/s); after ${RESETS / 10}: ${JSON.stringify(early)}; after ${total}: ${JSON.stringify(late)}`);
    t.true(total >= RESETS);
    t.truthy(early);
    checkUsageFlat(t, `after ${RESETS / 10} resets, then ${total}`, early as unknown as Usage, late);
    t.is((await vmm.call('GET', 'vmm.ping')).status, 200);
  } finally {
    await vmm.stop();
  }
});
