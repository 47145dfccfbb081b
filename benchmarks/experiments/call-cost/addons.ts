// Loads the call-cost experiment addons (benchmarks/experiments/call-cost, built by benchmarks/setup.sh
// with node-gyp); null when they are not built.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../lib/paths.js';

export interface NapiVariants {
  Probe: new () => { run(): number };
  runWithHandle(handle: number): number;
  runBound(): void;
  /** runBound, then the exit decoded into recordBuffer(): u32 reason, size, isWrite, count; u64 address */
  runBoundCopy(): void;
  recordBuffer(): ArrayBuffer;
  /** maps the vCPU's kvm_run again; returns it */
  bind(vcpuFd: number, mmapSize: number): ArrayBuffer;
  unbind(): void;
}

export interface V8Variant {
  run(): number;
  bind(vcpuFd: number): void;
}

const BUILD = join(ROOT, 'benchmarks', 'experiments', 'call-cost', 'build', 'Release');

export function loadCallCostAddons(): { napi: NapiVariants; v8: V8Variant } | null {
  const napiPath = join(BUILD, 'call_cost_napi.node');
  const v8Path = join(BUILD, 'call_cost_v8.node');
  if (!existsSync(napiPath) || !existsSync(v8Path)) return null;
  const require = createRequire(import.meta.url);
  return { napi: require(napiPath) as NapiVariants, v8: require(v8Path) as V8Variant };
}
