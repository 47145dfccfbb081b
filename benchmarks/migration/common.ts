// What one migration or snapshot round yields, for either VMM, and how it is read off the guest's
// count lines: the source's (or snapshotted guest's) last count and the destination's (or restored
// guest's) first one must follow each other, and the time between their arrival is the downtime the
// guest's user sees. The VMMs' own figures are kept beside it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CountLine, WatchedProcess } from '../lib/count-watch.js';

export const MEMORY_MIB = 256;
/** the downtime both VMMs are asked to stay under (Cloud Hypervisor's downtime_ms, QEMU's downtime-limit) */
export const DOWNTIME_LIMIT_MS = 300;
/** counts the guest prints before a round starts: it is past boot and in its steady loop */
export const WARM_COUNTS = 50;
/** counts the destination must print after the handover */
export const AFTER_COUNTS = 20;
export const ROUND_TIMEOUT_MS = 180_000;

export type GuestKind = 'idle' | 'dirtying';
/**
 * idle: the counter guest (a few pages change); dirtying: memdirty (memcheck without its checks,
 * which stall the guest for seconds on kvm_pvm: 16 random pages of an 8 MiB region per count)
 */
export const GUEST_OF: Record<GuestKind, string> = { idle: 'counter', dirtying: 'memdirty' };

export interface MigrationRound {
  /** send request → first count on the destination, ms */
  totalMs: number;
  /** last count on the source → first count on the destination, ms */
  downtimeMs: number;
  /** the VMM's own account: QEMU's query-migrate total-time and downtime; nodevmm's log line */
  reportedTotalMs?: number;
  reportedDowntimeMs?: number;
  /** pre-copy passes (nodevmm's iterations; QEMU's dirty-sync-count) */
  passes?: number;
  /** the guest's usual time between two counts before the round, ms: the resolution of downtimeMs */
  countIntervalMs: number;
}

export interface SnapshotRound {
  /** the save request on a paused VM, ms */
  snapshotMs: number;
  /** process start → first count of the restored guest, ms */
  restoreMs: number;
  /** the room the snapshot takes on disk (allocated blocks: a sparse file's holes take none), bytes */
  bytes: number;
}

export const scratch = (): string => mkdtempSync(join(tmpdir(), 'nodevmm-bench-migration-'));

export function lastCount(p: WatchedProcess): CountLine {
  const last = p.counts[p.counts.length - 1];
  if (!last) throw new Error('the guest printed no count');
  return last;
}

/** The median time between the guest's counts so far. */
export function countInterval(p: WatchedProcess): number {
  const gaps = p.counts.slice(1).map((c, i) => c.at - p.counts[i].at).sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? NaN;
}

/** The guest went on where it stopped: the next count comes from `after`, and nothing was lost. */
export async function handover(before: WatchedProcess, after: WatchedProcess, what: string): Promise<{ last: CountLine; first: CountLine }> {
  const first = await after.countWhere(() => true, ROUND_TIMEOUT_MS, `${what}: the first count after the handover`);
  const last = lastCount(before);
  if (first.count !== last.count + 1 && !(first.count === last.count + 2 && splitLine(before, after) === last.count + 1)) {
    throw new Error(`${what}: count ${last.count} was followed by ${first.count}`);
  }
  await after.countWhere((c) => c.count >= first.count + AFTER_COUNTS, ROUND_TIMEOUT_MS, `${what}: ${AFTER_COUNTS} counts after the handover`);
  if (after.output().includes('MISMATCH')) throw new Error(`${what}: the guest's memory check failed after the handover`);
  return { last, first };
}

/** The count whose line the guest began before the handover and ended after it, if it did. */
function splitLine(before: WatchedProcess, after: WatchedProcess): number | undefined {
  const joined = /^count ([0-9a-f]{8})\n/.exec(before.output() + after.head());
  return joined ? parseInt(joined[1], 16) : undefined;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
