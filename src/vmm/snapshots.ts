// vm.snapshot and vm.restore between the VMM and a snapshot directory: the URL, the saved build
// (RAM copied on another thread, src/snapshot/ram-copy.ts), and the snapshot's config checked as any
// VmConfig before a restore builds anything.
import { VmmError } from '../errors.js';
import { parseFileUrl } from '../migration/url.js';
import type { VcpuPool } from '../actors/vcpu-pool.js';
import type { Machine } from '../vm/machine.js';
import { SNAPSHOT_FILES } from '../snapshot/format.js';
import { openSnapshot, writeSnapshot, type CheckedSnapshot } from '../snapshot/files.js';
import { saveBuild } from './builder.js';
import { parseVmConfig, type VmConfig } from './config.js';

/** The directory of a `file:///DIR` URL; `field` names the body field in the message. */
function snapshotDir(url: unknown, field: string): string {
  if (typeof url !== 'string' || url === '') throw new VmmError('invalid-config', `${field} is required: a file:///DIR URL`);
  try {
    return parseFileUrl(url);
  } catch (error) {
    throw new VmmError('invalid-config', `${field}: ${(error as Error).message}`);
  }
}

/** Saves a paused build into the snapshot directory `url` names. */
export async function snapshotTo(url: string, machine: Machine, pool: VcpuPool, config: VmConfig): Promise<void> {
  const dir = snapshotDir(url, 'destination_url');
  const saved = await saveBuild(machine, pool, false);
  await writeSnapshot(dir, { config, machine: saved, ram: machine.ram, regions: machine.regions });
}

export interface RestoreSource {
  config: VmConfig;
  snapshot: CheckedSnapshot;
}

/** Opens and checks the snapshot `url` names; nothing is built yet. */
export async function openRestore(url: string): Promise<RestoreSource> {
  const opened = await openSnapshot(snapshotDir(url, 'source_url'));
  let config: VmConfig;
  try {
    config = parseVmConfig(opened.config, { checkFiles: false });
  } catch (error) {
    throw new VmmError('invalid-config', `snapshot: ${SNAPSHOT_FILES.config}: ${(error as Error).message}`, { cause: error });
  }
  return { config, snapshot: opened.check(config.memory.size) };
}
