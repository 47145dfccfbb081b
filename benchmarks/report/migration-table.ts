// The migration benchmark's tables: nodevmm beside QEMU, medians [q1–q3] in ms, and the ratio of
// the medians (the goal: at or below 1.00).
import type { MigrationResult } from '../migration.js';
import { GUEST_KINDS } from '../migration.js';
import type { Summary } from '../lib/stats.js';
import { table } from './table.js';

const ms = (s: Summary | undefined, digits = 0): string =>
  !s || !Number.isFinite(s.median) ? '–' : `${s.median.toFixed(digits)} [${s.q1.toFixed(digits)}–${s.q3.toFixed(digits)}]`;
const over = (a: Summary | undefined, b: Summary | undefined): string =>
  a && b && Number.isFinite(a.median) && Number.isFinite(b.median) && b.median > 0 ? `**${(a.median / b.median).toFixed(2)}**` : '–';

export function renderMigration(m: MigrationResult): string {
  const out: string[] = [];
  out.push(`\n### Live migration, 256 MiB guest, unix socket on this host, ${m.rounds} alternating rounds, ms, median [q1–q3]`);
  out.push(`idle: the ${m.guests.idle} guest; dirtying: ${m.guests.dirtying} (16 random pages of an 8 MiB region per count). Downtime: the guest's last count on the source → its next on the destination, as its serial output reached the benchmark (resolution: one count interval). Total: the send request → that next count. Both VMMs asked for a 300 ms downtime.`);
  const rows: string[][] = [];
  for (const kind of GUEST_KINDS) {
    const n = m.migration.nodevmm[kind].summary;
    const q = m.migration.qemu[kind].summary;
    rows.push([`${kind}: total`, ms(n.totalMs), ms(q.totalMs), over(n.totalMs, q.totalMs)]);
    rows.push([`${kind}: downtime (guest-visible)`, ms(n.downtimeMs, 1), ms(q.downtimeMs, 1), over(n.downtimeMs, q.downtimeMs)]);
    rows.push([`${kind}: downtime (the VMM's own account)`, ms(n.reportedDowntimeMs, 1), ms(q.reportedDowntimeMs, 1), '']);
    rows.push([`${kind}: pre-copy passes`, ms(n.passes), ms(q.passes), '']);
    rows.push([`${kind}: count interval (resolution)`, ms(n.countIntervalMs, 2), ms(q.countIntervalMs, 2), '']);
  }
  out.push(table(['metric', 'nodevmm', 'QEMU', 'nodevmm / QEMU'], rows));
  const n = m.snapshot.nodevmm.summary;
  const q = m.snapshot.qemu.summary;
  out.push(`\n### Snapshot and restore of a paused 256 MiB guest (${m.guests.idle}), ms, median [q1–q3]`);
  out.push("nodevmm: vm.snapshot to file://, then a new process with --restore …,resume=on. QEMU: migrate to exec:cat > FILE, then a new process with -incoming exec:cat FILE and cont. Restore: process start → the guest's next count.");
  out.push(table(['metric', 'nodevmm', 'QEMU', 'nodevmm / QEMU'], [
    ['save', ms(n.snapshotMs), ms(q.snapshotMs), over(n.snapshotMs, q.snapshotMs)],
    ['restore', ms(n.restoreMs), ms(q.restoreMs), over(n.restoreMs, q.restoreMs)],
    ['stored on disk, MiB', ms(n.bytes && { ...n.bytes, median: n.bytes.median / 2 ** 20, q1: n.bytes.q1 / 2 ** 20, q3: n.bytes.q3 / 2 ** 20 }), ms(q.bytes && { ...q.bytes, median: q.bytes.median / 2 ** 20, q1: q.bytes.q1 / 2 ** 20, q3: q.bytes.q3 / 2 ** 20 }), ''],
  ]));
  return out.join('\n');
}
