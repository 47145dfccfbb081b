// `npm run bench`: exit latency (nodevmm, the bare-KVM floor, QEMU), nodevmm's loop measured from
// inside, lifecycle latency, footprint, live migration and snapshot/restore, virtio-blk and -net throughput
// against QEMU, and VM churn (VMs per second) against QEMU.
// Prints tables, writes benchmarks/results/<date>.json and <date>.svg. Never part of `npm test`: timings belong in results, not in assertions.
//
//   node dist/benchmarks/run.js [--rounds R] [--n N] [--quick] [--only verify,exit,inside,calls,lifecycle,linux-boot,vm-build,footprint,migration,virtio-blk,virtio-net,churn]
//   node dist/benchmarks/run.js --from benchmarks/results/<date>.json     (tables and plot again)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measureExitLatency } from './exit-latency.js';
import { measureInside } from './inside/exit-profile.js';
import { measureLifecycle } from './lifecycle.js';
import { measureLinuxBoot } from './linux-boot.js';
import { measureFootprint } from './footprint.js';
import { verifyExitCounts } from './verify-exits.js';
import { measureCallOverhead } from './experiments/call-cost/call-overhead.js';
import { loadCallCostAddons } from './experiments/call-cost/addons.js';
import { measureVmBuildCosts } from './experiments/vm-build-costs.js';
import { measureMigration } from './migration.js';
import { measureVirtioBlk } from './virtio-blk.js';
import { measureVirtioNet } from './virtio-net.js';
import { measureChurn } from './churn.js';
import { FLOOR, RESULTS, guest } from './lib/paths.js';
import { describeMachine } from './report/machine.js';
import { KINDS, SYSTEMS, plot, render, type Results, type Suite } from './report/render.js';

interface Options {
  rounds: number;
  n: number;
  suites: Suite[];
  /** re-render the tables and the plot of a saved results file instead of measuring */
  from?: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rounds: 7, n: 200_000, suites: ['verify', 'exit', 'inside', 'calls', 'lifecycle', 'linux-boot', 'vm-build', 'footprint', 'migration', 'virtio-blk', 'virtio-net', 'churn'] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--quick') Object.assign(options, { rounds: 3, n: 50_000 });
    else if (flag === '--rounds') options.rounds = Number(argv[++i]);
    else if (flag === '--n') options.n = Number(argv[++i]);
    else if (flag === '--only') options.suites = argv[++i].split(',') as Suite[];
    else if (flag === '--from') options.from = argv[++i];
    else throw new Error(`unknown option ${flag}`);
  }
  if (!(options.rounds >= 1 && options.n >= 2)) throw new Error('--rounds must be >= 1 and --n >= 2');
  return options;
}

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

function checkPrerequisites(): void {
  const missing = [FLOOR, guest('pio'), guest('pio-qemu')].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run sh benchmarks/setup.sh first`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.from) {
    const saved = JSON.parse(readFileSync(options.from, 'utf8')) as Results;
    process.stdout.write(render(saved));
    const svg = plot(saved);
    if (svg) writeFileSync(options.from.replace(/\.json$/, '') + '.svg', svg);
    return;
  }
  checkPrerequisites();
  const results: Results = { machine: describeMachine(), options };
  const has = (s: Suite): boolean => options.suites.includes(s);
  log(`N = ${options.n}, ${options.rounds} rounds, suites ${options.suites.join(', ')}`);

  if (has('verify')) results.verify = await verifyExitCounts(['floor', 'qemu', 'nodevmm'], KINDS);
  if (has('exit')) results.exitLatency = await measureExitLatency({ n: options.n, rounds: options.rounds, kinds: KINDS, systems: SYSTEMS, log });
  if (has('inside')) results.inside = await measureInside({ n: options.n, rounds: Math.max(3, Math.ceil(options.rounds / 2)), kinds: KINDS, log });
  if (has('calls') && loadCallCostAddons()) results.callOverhead = await measureCallOverhead();
  if (has('lifecycle')) results.lifecycle = await measureLifecycle({ runs: options.rounds, reboots: 5, log });
  if (has('linux-boot')) results.linuxBoot = await measureLinuxBoot({ rounds: options.rounds, log });
  if (has('vm-build')) results.vmBuild = measureVmBuildCosts();
  if (has('footprint')) results.footprint = await measureFootprint(['floor', 'qemu', 'nodevmm', 'nodevmm-lib'], 3);
  if (has('migration')) results.migration = await measureMigration({ rounds: Math.max(3, Math.ceil(options.rounds / 2)), log });
  if (has('virtio-blk')) results.virtioBlk = await measureVirtioBlk({ rounds: Math.max(3, Math.ceil(options.rounds / 2)), log });
  if (has('virtio-net')) results.virtioNet = await measureVirtioNet({ rounds: Math.max(3, Math.ceil(options.rounds / 2)), log });
  if (has('churn')) results.churn = await measureChurn({ cycles: options.rounds >= 7 ? 1000 : 200, processCycles: options.rounds >= 7 ? 100 : 20, log });
  results.machineAfter = describeMachine();

  process.stdout.write(render(results));
  mkdirSync(RESULTS, { recursive: true });
  const stem = join(RESULTS, results.machine.date.replace(/[:]/g, '-').replace(/\..*$/, ''));
  writeFileSync(`${stem}.json`, JSON.stringify(results, null, 2) + '\n');
  const svg = plot(results);
  if (svg) writeFileSync(`${stem}.svg`, svg);
  log(`wrote ${stem}.json${svg ? ` and ${stem}.svg` : ''}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
