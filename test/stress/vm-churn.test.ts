// VM churn in one VMM: short VMs one after another (create → boot → the guest powers off → delete),
// 1 000 through the library in one embedding process, then 1 000 through the REST API of one VMM
// process. Every guest's poweroff is seen, and the VMM's open fds, threads and RSS at the end stay
// near their values after the first tenth (a structure that grew per VM would show here). How fast
// it goes is logged here and measured against QEMU by `npm run bench -- --only churn`.
import type { ExecutionContext } from 'ava';
import { apiChurn, libraryChurn, type ChurnSeries } from '../../benchmarks/churn.js';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { guestPath } from '../helpers/project.js';
import { scaled } from '../helpers/timing.js';
import { checkUsageFlat } from '../helpers/flat-usage.js';

const CYCLES = Number(process.env.NODEVMM_CHURN_CYCLES ?? 1000);

function checkFlat(t: ExecutionContext, how: string, s: ChurnSeries): void {
  t.log(`${how}: ${s.cycles} VMs, ${s.vmsPerSecond.toFixed(1)} VMs/s, cycle p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms; after ${CYCLES / 10}: ${JSON.stringify(s.usage?.early)}; after ${s.cycles}: ${JSON.stringify(s.usage?.late)}${s.phaseMedianMs ? `; median ms per call ${JSON.stringify(s.phaseMedianMs)}` : ''}`);
  t.is(s.cycles, CYCLES, `${how}: every cycle ran`);
  checkUsageFlat(t, how, s.usage!.early, s.usage!.late);
}

kvmSerialTest(`VM churn: ${CYCLES} VMs through the library in one process, then ${CYCLES} through one VMM's REST API, every poweroff seen, fds, threads and RSS flat`, async (t) => {
  t.timeout(scaled(30 * 60_000));
  // libraryChurn checks that each of its VMs powered off (the VMM's guestShutdowns counter)
  checkFlat(t, 'library', await libraryChurn(guestPath('poweroff'), '', CYCLES));
  // apiChurn waits for each VM's Shutdown state before it deletes it
  checkFlat(t, 'REST API', await apiChurn(guestPath('poweroff'), '', CYCLES));
});
