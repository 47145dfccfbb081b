// QEMU's side of the migration benchmark, on the same guest ELF (PVH, `-M microvm`, 256 MiB, the
// 8250 at 0x3f8 on stdio): `migrate` over QMP to a second QEMU started with `-incoming unix:…`,
// polled with `query-migrate` (which reports QEMU's own total time and downtime); and a paused VM
// saved with `migrate exec:cat > FILE`, restored by a fresh QEMU with `-incoming "exec:cat FILE"`
// and `cont` (a VM saved paused comes back paused, as nodevmm's does before resume=on).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { QEMU_CPU } from '../lib/systems.js';
import { testGuest } from '../lib/paths.js';
import { Qmp } from '../lib/qmp.js';
import { watchCounts, type WatchedProcess } from '../lib/count-watch.js';
import {
  DOWNTIME_LIMIT_MS, GUEST_OF, MEMORY_MIB, ROUND_TIMEOUT_MS, WARM_COUNTS,
  countInterval, handover, scratch, sleep, type GuestKind, type MigrationRound, type SnapshotRound,
} from './common.js';

interface QemuProcess extends WatchedProcess {
  qmp: Qmp;
}

interface MigrateStatus {
  status: string;
  'total-time'?: number;
  downtime?: number;
  'error-desc'?: string;
  ram?: { 'dirty-sync-count'?: number };
}

async function startQemu(dir: string, name: string, kernel: string, extra: string[] = []): Promise<QemuProcess> {
  const socket = join(dir, `${name}.qmp`);
  const qemu = watchCounts('qemu-system-x86_64', [
    '-M', 'microvm', '-accel', 'kvm', '-cpu', QEMU_CPU, '-m', String(MEMORY_MIB),
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio',
    '-kernel', kernel, '-qmp', `unix:${socket},server=on,wait=off`, ...extra,
  ]);
  try {
    return { ...qemu, qmp: await Qmp.open(socket) };
  } catch (error) {
    await qemu.kill();
    throw new Error(`${(error as Error).message}\n${qemu.stderr()}`);
  }
}

/** Polls query-migrate until the migration is over; throws unless it completed. */
async function migrated(qemu: QemuProcess): Promise<MigrateStatus> {
  const deadline = performance.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    const status = await qemu.qmp.execute<MigrateStatus>('query-migrate');
    if (status.status === 'completed') return status;
    if (status.status === 'failed' || status.status === 'cancelled') throw new Error(`QEMU migration ${status.status}: ${status['error-desc'] ?? ''}`);
    if (performance.now() > deadline) throw new Error(`QEMU migration still ${status.status} after ${ROUND_TIMEOUT_MS} ms`);
    await sleep(5);
  }
}

/** Both VMMs get the same downtime limit; QEMU's default bandwidth cap is lifted, as nodevmm has none. */
async function migrationParameters(qemu: QemuProcess): Promise<void> {
  await qemu.qmp.execute('migrate-set-parameters', { 'downtime-limit': DOWNTIME_LIMIT_MS, 'max-bandwidth': 64 * 1024 ** 3 });
}

async function runningGuest(dir: string, kind: GuestKind): Promise<QemuProcess> {
  const source = await startQemu(dir, 'source', testGuest(GUEST_OF[kind]));
  await source.countWhere((c) => c.count >= WARM_COUNTS, ROUND_TIMEOUT_MS, 'QEMU: the guest to start counting');
  return source;
}

export async function migrateWithQemu(kind: GuestKind): Promise<MigrationRound> {
  const dir = scratch();
  const processes: QemuProcess[] = [];
  try {
    const source = await runningGuest(dir, kind);
    processes.push(source);
    const url = `unix:${join(dir, 'migration.sock')}`;
    const destination = await startQemu(dir, 'destination', testGuest(GUEST_OF[kind]), ['-incoming', url]);
    processes.push(destination);
    await migrationParameters(source);
    const countIntervalMs = countInterval(source);
    const started = performance.now();
    await source.qmp.execute('migrate', { uri: url });
    const { last, first } = await handover(source, destination, `QEMU ${kind} migration`);
    const status = await migrated(source);
    return {
      totalMs: first.at - started,
      downtimeMs: first.at - last.at,
      reportedTotalMs: status['total-time'],
      reportedDowntimeMs: status.downtime,
      passes: status.ram?.['dirty-sync-count'],
      countIntervalMs,
    };
  } finally {
    await Promise.all(processes.map((p) => (p.qmp.close(), p.kill())));
  }
}

export async function snapshotWithQemu(): Promise<SnapshotRound> {
  const dir = scratch();
  const processes: QemuProcess[] = [];
  try {
    const source = await runningGuest(dir, 'idle');
    processes.push(source);
    await source.qmp.execute('stop');
    await migrationParameters(source);
    const file = join(dir, 'snapshot');
    const started = performance.now();
    await source.qmp.execute('migrate', { uri: `exec:cat > ${file}` });
    await migrated(source);
    const snapshotMs = performance.now() - started;
    await source.kill();
    const restoreStarted = performance.now();
    const restored = await startQemu(dir, 'restored', testGuest(GUEST_OF.idle), ['-incoming', `exec:cat ${file}`]);
    processes.push(restored);
    await pausedAfterIncoming(restored);
    await restored.qmp.execute('cont');
    const { first } = await handover(source, restored, 'QEMU restore');
    return { snapshotMs, restoreMs: first.at - restoreStarted, bytes: statSync(file).blocks * 512 };
  } finally {
    await Promise.all(processes.map((p) => (p.qmp.close(), p.kill())));
  }
}

async function pausedAfterIncoming(qemu: QemuProcess): Promise<void> {
  const deadline = performance.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    const { status } = await qemu.qmp.execute<{ status: string }>('query-status');
    if (status === 'paused' || status === 'postmigrate') return;
    if (status !== 'inmigrate') throw new Error(`QEMU restore: the VM is ${status}, not paused`);
    if (performance.now() > deadline) throw new Error(`QEMU restore: still ${status} after ${ROUND_TIMEOUT_MS} ms`);
    await sleep(2);
  }
}
