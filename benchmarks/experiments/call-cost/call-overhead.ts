// The cost of one JS -> native call by binding style, with no KVM_RUN behind it (the addons count
// instead): what each style adds to every exit. Run in a worker, as nodevmm's vCPU loop is.
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { summarize } from '../../lib/stats.js';
import { loadCallCostAddons } from './addons.js';

export interface CallOverhead {
  /** ns per call, median of repeats */
  [style: string]: number;
}

const CALLS = 3_000_000;
const REPEATS = 5;

function timeCalls(call: () => unknown): number {
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) call();
    times.push(Number(process.hrtime.bigint() - start) / CALLS);
  }
  return summarize(times).median;
}

function measureHere(): CallOverhead {
  const addons = loadCallCostAddons();
  if (!addons) throw new Error('call-cost addons are not built (sh benchmarks/setup.sh)');
  const { napi, v8 } = addons;
  const probe = new napi.Probe();
  let sink = 0;
  const jsFunction = (): number => ++sink & 0xff;
  return {
    'JS function (baseline)': timeCalls(jsFunction),
    'N-API ObjectWrap method → Number (Vcpu.run())': timeCalls(() => probe.run()),
    'N-API function(handle) → Number': timeCalls(() => napi.runWithHandle(1)),
    'N-API function() → undefined': timeCalls(() => napi.runBound()),
    'V8 function callback → Smi (enterGuest\'s style)': timeCalls(() => v8.run()),
  };
}

/** Measures in a fresh worker thread. */
export function measureCallOverhead(): Promise<CallOverhead> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { callOverhead: true } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

if ((workerData as { callOverhead?: boolean } | null)?.callOverhead) parentPort!.postMessage(measureHere());
