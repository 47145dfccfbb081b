// Guests that flood the VMM: one writes COM1 as fast as it can onto a pty nobody opens, one hammers
// ports and MMIO addresses no device claims. The VMM's memory stays bounded, the API keeps answering
// at once, what cannot be delivered is counted (serial.dropped_bytes), and the unclaimed accesses are
// counted in vm.counters, never logged one by one.
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { guestPath } from '../helpers/project.js';
import { startApiVmm, type ApiVmm } from '../helpers/api-vmm.js';
import { processUsage } from '../../benchmarks/lib/process-usage.js';
import { scaled } from '../helpers/timing.js';

type Counters = Record<string, Record<string, number>>;
const SECONDS = 20;

/** Pings the API once a second for `seconds`; resolves with the slowest answer (ms) and RSS samples (KiB). */
async function watch(vmm: ApiVmm, seconds: number): Promise<{ slowestMs: number; rssKiB: number[] }> {
  let slowestMs = 0;
  const rssKiB: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sent = performance.now();
    const answer = await vmm.call('GET', 'vmm.ping');
    if (answer.status !== 200) throw new Error(`vmm.ping: ${answer.status}`);
    slowestMs = Math.max(slowestMs, performance.now() - sent);
    rssKiB.push(processUsage(vmm.child.pid!).rssKiB);
  }
  return { slowestMs, rssKiB };
}

const counters = async (vmm: ApiVmm): Promise<Counters> => (await vmm.call('GET', 'vm.counters')).json as Counters;

kvmSerialTest(`a guest that floods COM1 onto a pty nobody opens, for ${SECONDS} s: memory bounded, the API answers at once, the overflow counted`, async (t) => {
  const vmm = await startApiVmm(['--kernel', guestPath('serial-flood'), '--serial', 'pty']);
  try {
    const { slowestMs, rssKiB } = await watch(vmm, SECONDS);
    const dropped = (await counters(vmm)).serial.dropped_bytes;
    t.log(`slowest vmm.ping ${slowestMs.toFixed(0)} ms; RSS ${rssKiB[1]} → ${rssKiB.at(-1)} KiB; ${dropped} bytes dropped`);
    t.true(slowestMs < scaled(500), `vmm.ping took ${slowestMs.toFixed(0)} ms`);
    // from the second sample on (start-up is done): what a buffer that grew with the output would show
    t.true(rssKiB.at(-1)! <= rssKiB[1] + 16 * 1024, `RSS ${rssKiB.join(', ')} KiB`);
    t.true(dropped > 0, 'the bytes nobody took are counted');
  } finally {
    await vmm.stop();
  }
});

kvmSerialTest(`a guest that hammers unclaimed ports and MMIO for ${SECONDS} s: every access counted in vm.counters, none logged, the API answers at once`, async (t) => {
  const vmm = await startApiVmm(['--kernel', guestPath('port-hammer'), '-v']);
  try {
    const { slowestMs } = await watch(vmm, SECONDS);
    const { unclaimed, vcpu0 } = await counters(vmm);
    t.log(`slowest vmm.ping ${slowestMs.toFixed(0)} ms; unclaimed ${JSON.stringify(unclaimed)}; vcpu0 exits ${JSON.stringify(vcpu0)}`);
    t.true(slowestMs < scaled(500), `vmm.ping took ${slowestMs.toFixed(0)} ms`);
    for (const kind of ['pio_reads', 'pio_writes', 'mmio_reads', 'mmio_writes']) t.true(unclaimed[kind] > 1000, `${kind}: ${unclaimed[kind]}`);
    // each loop of the guest is one port write, one port read, one MMIO read and one MMIO write
    t.true(Math.abs(unclaimed.pio_reads - unclaimed.mmio_reads) <= 2, JSON.stringify(unclaimed));
    t.true(vcpu0.io >= unclaimed.pio_reads + unclaimed.pio_writes, 'each counted access was an exit');
    t.true(vmm.stderr().length < 4096, `the log stays short: ${vmm.stderr().length} bytes`);
  } finally {
    await vmm.stop();
  }
});
