// Child process for the churn benchmark's "nodevmm-lib": one embedding process runs CYCLES short VMs
// one after another through the library (createVm → boot → the guest powers off → deleteVm), and
// prints each cycle's time (ms) as JSON, split into its four calls (the profile of a cycle), with the
// process's fds, threads and RSS after the first tenth and at the end.
//   node churn-with-library.js GUEST.elf CMDLINE CYCLES
import { filter, firstValueFrom } from 'rxjs';
import { processUsage as usage } from './process-usage.js';

const { Vmm } = await import('../../src/api/vmm.js');
const [kernel, cmdline = '', cyclesText = '100'] = process.argv.slice(2);
const cycles = Number(cyclesText);

const vmm = new Vmm({ quirks: 'auto', noShutdown: true });
let guestShutdowns = 0;
vmm.guestExit$.subscribe(() => guestShutdowns++);
const cycleMs: number[] = [];
// where a cycle's time goes: the four calls, each as a list of ms
const phases: Record<'create' | 'boot' | 'guest run' | 'delete', number[]> = { create: [], boot: [], 'guest run': [], delete: [] };
let early: ReturnType<typeof usage> | null = null;
for (let i = 0; i < cycles; i++) {
  const t0 = performance.now();
  await vmm.createVm({ cpus: { boot_vcpus: 1 }, memory: { size: 64 * 1024 * 1024 }, payload: { kernel, cmdline }, serial: { mode: 'Null' } });
  const t1 = performance.now();
  const stopped = firstValueFrom(vmm.state$.pipe(filter((state) => state === 'Shutdown')));
  await vmm.boot();
  const t2 = performance.now();
  await stopped;
  const t3 = performance.now();
  await vmm.deleteVm();
  const t4 = performance.now();
  cycleMs.push(t4 - t0);
  phases.create.push(t1 - t0);
  phases.boot.push(t2 - t1);
  phases['guest run'].push(t3 - t2);
  phases.delete.push(t4 - t3);
  if (i + 1 === Math.ceil(cycles / 10)) early = usage();
}
const late = usage();
await vmm.shutdown();
process.stdout.write(JSON.stringify({ cycleMs, phases, early, late, guestShutdowns }) + '\n');
