// nodevmm's side of the migration benchmark: two CLI processes with API sockets, Cloud Hypervisor's
// vm.receive-migration / vm.send-migration between them over a unix socket; and vm.snapshot of a
// paused VM, then `--restore …,resume=on` in a fresh process.
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiClient } from '../../src/api/remote-client.js';
import { NODEVMM_CLI, testGuest } from '../lib/paths.js';
import { watchCounts, type WatchedProcess } from '../lib/count-watch.js';
import {
  DOWNTIME_LIMIT_MS, GUEST_OF, MEMORY_MIB, ROUND_TIMEOUT_MS, WARM_COUNTS,
  countInterval, handover, scratch, type GuestKind, type MigrationRound, type SnapshotRound,
} from './common.js';

interface ApiProcess extends WatchedProcess {
  api: ApiClient;
}

async function startVmm(socket: string, extra: string[] = []): Promise<ApiProcess> {
  const vmm = watchCounts(process.execPath, [NODEVMM_CLI, '-v', '--api-socket', `path=${socket}`, ...extra]);
  const api = new ApiClient(socket, { timeoutMs: ROUND_TIMEOUT_MS });
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (vmm.child.exitCode !== null) throw new Error(`nodevmm exited (${vmm.child.exitCode}) before serving:\n${vmm.stderr()}`);
    try {
      if ((await api.request('GET', 'vmm.ping')).status === 200) return { ...vmm, api };
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`nodevmm's API socket never answered:\n${vmm.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function put(vmm: ApiProcess, endpoint: string, body?: unknown): Promise<void> {
  const answer = await vmm.api.request('PUT', endpoint, body === undefined ? undefined : JSON.stringify(body));
  if (answer.status !== 204 && answer.status !== 200) throw new Error(`nodevmm ${endpoint}: ${answer.status} ${answer.text}`);
}

/** A VMM running `kind`'s guest with 256 MiB, past its first WARM_COUNTS counts. */
async function runningGuest(dir: string, kind: GuestKind): Promise<ApiProcess> {
  const source = await startVmm(join(dir, 'source.sock'));
  await put(source, 'vm.create', { payload: { kernel: testGuest(GUEST_OF[kind]) }, memory: { size: MEMORY_MIB << 20 }, serial: { mode: 'Tty' } });
  await put(source, 'vm.boot');
  await source.countWhere((c) => c.count >= WARM_COUNTS, ROUND_TIMEOUT_MS, 'nodevmm: the guest to start counting');
  return source;
}

export async function migrateWithNodevmm(kind: GuestKind): Promise<MigrationRound> {
  const dir = scratch();
  const processes: WatchedProcess[] = [];
  try {
    const source = await runningGuest(dir, kind);
    processes.push(source);
    const destination = await startVmm(join(dir, 'destination.sock'));
    processes.push(destination);
    const url = `unix:${join(dir, 'migration.sock')}`;
    await put(destination, 'vm.receive-migration', { receiver_url: url });
    const countIntervalMs = countInterval(source);
    const started = performance.now();
    await put(source, 'vm.send-migration', { destination_url: url, downtime_ms: DOWNTIME_LIMIT_MS });
    const { last, first } = await handover(source, destination, `nodevmm ${kind} migration`);
    if ((await source.exited) !== 0) throw new Error(`nodevmm: the source did not exit 0 after the migration:\n${source.stderr()}`);
    const report = /sent \d+ bytes in (\d+) iterations; downtime ([\d.]+) ms/.exec(source.stderr());
    return {
      totalMs: first.at - started,
      downtimeMs: first.at - last.at,
      reportedDowntimeMs: report ? Number(report[2]) : undefined,
      passes: report ? Number(report[1]) : undefined,
      countIntervalMs,
    };
  } finally {
    await Promise.all(processes.map((p) => p.kill()));
  }
}

export async function snapshotWithNodevmm(): Promise<SnapshotRound> {
  const dir = scratch();
  const processes: WatchedProcess[] = [];
  try {
    const source = await runningGuest(dir, 'idle');
    processes.push(source);
    await put(source, 'vm.pause');
    const snapshot = join(dir, 'snapshot');
    const started = performance.now();
    await put(source, 'vm.snapshot', { destination_url: `file://${snapshot}` });
    const snapshotMs = performance.now() - started;
    await source.kill();
    const restoreStarted = performance.now();
    const restored = watchCounts(process.execPath, [NODEVMM_CLI, '--restore', `source_url=file://${snapshot},resume=on`]);
    processes.push(restored);
    const { first } = await handover(source, restored, 'nodevmm restore');
    const bytes = readdirSync(snapshot).reduce((sum, name) => sum + statSync(join(snapshot, name)).blocks * 512, 0);
    return { snapshotMs, restoreMs: first.at - restoreStarted, bytes };
  } finally {
    await Promise.all(processes.map((p) => p.kill()));
  }
}
