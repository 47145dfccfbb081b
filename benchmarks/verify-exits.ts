// Checks that every loop iteration of the guest really is one exit to the VMM's userspace (not
// handled inside KVM) for each system: count successful KVM_RUN ioctls under strace for N = 1 and
// N = 1000. The difference must be 999.
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from './lib/run-process.js';
import { invocation, type ExitKind, type SystemName } from './lib/systems.js';

export interface ExitCountCheck {
  system: SystemName;
  kind: ExitKind;
  /** extra KVM_RUN returns for N = 1000 over N = 1 */
  extraRuns: number;
  ok: boolean;
}

const N = 1000;

async function countRuns(system: SystemName, kind: ExitKind, n: number): Promise<number> {
  const { command, args } = invocation(system, kind, n);
  const out = join(tmpdir(), `nodevmm-bench-strace-${process.pid}.txt`);
  const run = await runProcess('strace', ['-f', '-e', 'trace=ioctl', '-o', out, command, ...args]);
  if (run.code >= 128) throw new Error(`strace ${system}: killed`);
  const trace = readFileSync(out, 'utf8');
  rmSync(out, { force: true });
  return trace.split('\n').filter((l) => l.includes('KVM_RUN') && /= 0$/.test(l.trim())).length;
}

export async function verifyExitCounts(systems: SystemName[], kinds: ExitKind[]): Promise<ExitCountCheck[]> {
  const checks: ExitCountCheck[] = [];
  for (const system of systems) {
    for (const kind of kinds) {
      const extraRuns = (await countRuns(system, kind, N)) - (await countRuns(system, kind, 1));
      checks.push({ system, kind, extraRuns, ok: extraRuns === N - 1 });
    }
  }
  return checks;
}
