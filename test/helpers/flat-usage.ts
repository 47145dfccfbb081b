// The stress tests' check that a VMM which ran many VMs (or resets) kept no more than it had after the
// first tenth of them: open fds and threads within 2, RSS within a quarter plus 8 MiB (V8's heap
// settles in steps; a leak of even 10 KiB per VM over 900 would add ~9 MiB).
import type { ExecutionContext } from 'ava';
import type { ProcessUsage } from '../../benchmarks/lib/process-usage.js';

export function checkUsageFlat(t: ExecutionContext, what: string, early: ProcessUsage, late: ProcessUsage): void {
  t.true(late.fds <= early.fds + 2, `${what}: open fds ${early.fds}, then ${late.fds}`);
  t.true(late.threads <= early.threads + 2, `${what}: threads ${early.threads}, then ${late.threads}`);
  t.true(late.rssKiB <= early.rssKiB * 1.25 + 8192, `${what}: RSS ${early.rssKiB} KiB, then ${late.rssKiB} KiB`);
}
