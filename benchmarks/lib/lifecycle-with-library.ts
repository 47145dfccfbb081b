// Child process for the lifecycle benchmark: boots a stamp guest (guests/bench-lifecycle.S) through the
// embedding API and prints, as JSON, the hrtime (ns, CLOCK_MONOTONIC: the clock behind the guest's PM
// timer) of every lifecycle event and of `exited`, plus what the guest printed on COM1.
//   node lifecycle-with-library.js GUEST.elf REBOOTS
// With REBOOTS > 0 (a reset guest) it shuts the VMM down after that many vm/rebooted events.
import { Vmm } from '../../src/api/vmm.js';

const [kernel, rebootsArg = '0'] = process.argv.slice(2);
const reboots = Number(rebootsArg);
const now = (): string => process.hrtime.bigint().toString();

const vmm = new Vmm({ quirks: 'auto' });
const events: Array<{ name: string; ns: string }> = [];
let serial = '';
vmm.serial$.subscribe((bytes) => (serial += Buffer.from(bytes).toString('latin1')));
vmm.events$.subscribe((e) => {
  const name = `${e.source}/${e.event}`;
  events.push({ name, ns: now() });
  if (name === 'vm/rebooted' && events.filter((x) => x.name === name).length === reboots) void vmm.shutdown('api');
});
await vmm.createVm({ cpus: { boot_vcpus: 1 }, memory: { size: 64 * 1024 * 1024 }, payload: { kernel, cmdline: '' }, serial: { mode: 'Null' } });
await vmm.boot();
const exit = await vmm.exited;
const exitedNs = now();
process.stdout.write(JSON.stringify({ exit, events, exitedNs, serial }) + '\n');
