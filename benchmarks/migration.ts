// Migration and snapshot benchmark: a 256 MiB guest migrated between two VMMs on this host over a
// unix socket, idle (the counter guest) and dirtying (memcheck), by nodevmm (Cloud Hypervisor's
// endpoints) and by QEMU (`migrate` over QMP), alternating round by round; then a paused VM saved
// and restored in a fresh process. Downtime is read off the guest's own count lines (the same way
// for both); each VMM's own account is kept beside it.
import { summarize, type Summary } from './lib/stats.js';
import { GUEST_OF, type GuestKind, type MigrationRound, type SnapshotRound } from './migration/common.js';
import { migrateWithNodevmm, snapshotWithNodevmm } from './migration/nodevmm.js';
import { migrateWithQemu, snapshotWithQemu } from './migration/qemu.js';

export type MigrationSystem = 'nodevmm' | 'qemu';
export const MIGRATION_SYSTEMS: MigrationSystem[] = ['nodevmm', 'qemu'];
export const GUEST_KINDS: GuestKind[] = ['idle', 'dirtying'];

type Metrics<T> = { [K in keyof T]-?: Summary };

export interface MigrationResult {
  rounds: number;
  guests: Record<GuestKind, string>;
  migration: Record<MigrationSystem, Record<GuestKind, { rounds: MigrationRound[]; summary: Metrics<MigrationRound> }>>;
  snapshot: Record<MigrationSystem, { rounds: SnapshotRound[]; summary: Metrics<SnapshotRound> }>;
}

function summarizeRounds<T extends object>(rounds: T[]): Metrics<T> {
  const keys = [...new Set(rounds.flatMap((r) => Object.keys(r)))] as (keyof T)[];
  return Object.fromEntries(keys.map((k) => [k, summarize(rounds.map((r) => Number(r[k] ?? NaN)))])) as Metrics<T>;
}

const MIGRATE = { nodevmm: migrateWithNodevmm, qemu: migrateWithQemu };
const SNAPSHOT = { nodevmm: snapshotWithNodevmm, qemu: snapshotWithQemu };

export async function measureMigration(options: { rounds: number; log: (line: string) => void }): Promise<MigrationResult> {
  const migration = { nodevmm: { idle: [], dirtying: [] }, qemu: { idle: [], dirtying: [] } } as Record<MigrationSystem, Record<GuestKind, MigrationRound[]>>;
  const snapshot: Record<MigrationSystem, SnapshotRound[]> = { nodevmm: [], qemu: [] };
  for (let round = 0; round < options.rounds; round++) {
    // alternate who goes first, so that a drift of the machine's speed falls on both
    const order = round % 2 === 0 ? MIGRATION_SYSTEMS : [...MIGRATION_SYSTEMS].reverse();
    for (const kind of GUEST_KINDS) {
      for (const system of order) {
        const r = await MIGRATE[system](kind);
        migration[system][kind].push(r);
        options.log(`migration: ${system} ${kind} round ${round + 1}: total ${r.totalMs.toFixed(0)} ms, downtime ${r.downtimeMs.toFixed(1)} ms`);
      }
    }
    for (const system of order) {
      const r = await SNAPSHOT[system]();
      snapshot[system].push(r);
      options.log(`snapshot: ${system} round ${round + 1}: save ${r.snapshotMs.toFixed(0)} ms, restore ${r.restoreMs.toFixed(0)} ms`);
    }
  }
  const per = <T extends object>(rounds: T[]) => ({ rounds, summary: summarizeRounds(rounds) });
  return {
    rounds: options.rounds,
    guests: GUEST_OF,
    migration: {
      nodevmm: { idle: per(migration.nodevmm.idle), dirtying: per(migration.nodevmm.dirtying) },
      qemu: { idle: per(migration.qemu.idle), dirtying: per(migration.qemu.dirtying) },
    },
    snapshot: { nodevmm: per(snapshot.nodevmm), qemu: per(snapshot.qemu) },
  };
}
