// Writing and opening a snapshot directory. Each file is written under a temporary name and renamed
// into place only once all three are complete (state.json last), so a failed snapshot never leaves a
// mix of old and new files that would restore as something that never ran.
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VmmError } from '../errors.js';
import type { RamRegion } from '../boot/memory-layout.js';
import type { RamHandle, SavedMachine } from '../vm/machine.js';
import { SNAPSHOT_FILES, checkMemoryRanges, parseSnapshotState, snapshotState, type SnapshotState } from './format.js';
import { loadRam, saveRam } from './ram-copy.js';

const bad = (message: string, cause?: unknown): VmmError => new VmmError('invalid-config', `snapshot: ${message}`, { cause });

async function writeText(path: string, text: string): Promise<void> {
  const file = await open(path, 'w', 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Writes config.json, memory-ranges and state.json into `dir` (made if missing). */
export async function writeSnapshot(
  dir: string,
  what: { config: unknown; machine: Omit<SavedMachine, 'ram'>; ram: RamHandle; regions: readonly RamRegion[] },
): Promise<SnapshotState> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw bad(`cannot make the directory ${dir} (${(error as NodeJS.ErrnoException).code})`, error);
  }
  const temporary = (name: string) => join(dir, `.${name}.partial`);
  const names = [SNAPSHOT_FILES.config, SNAPSHOT_FILES.memory, SNAPSHOT_FILES.state];
  try {
    const configText = JSON.stringify(what.config, null, 2);
    await writeText(temporary(SNAPSHOT_FILES.config), configText);
    const memorySha256 = await saveRam(what.ram, what.regions, temporary(SNAPSHOT_FILES.memory));
    const state = snapshotState(configText, what.machine, what.regions, memorySha256);
    await writeText(temporary(SNAPSHOT_FILES.state), JSON.stringify(state));
    for (const name of names) await rename(temporary(name), join(dir, name));
    return state;
  } catch (error) {
    await Promise.all(names.map((name) => rm(temporary(name), { force: true })));
    if (error instanceof VmmError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw bad(`cannot write into ${dir}${code ? ` (${code})` : ''}: ${(error as Error).message}`, error);
  }
}

export interface OpenedSnapshot {
  /** config.json, parsed and matching its checksum, but not validated: the VMM validates it as a VmConfig */
  config: unknown;
  /** checks state.json against the config once the VMM knows its RAM size, and loads the rest */
  check(memoryBytes: number): CheckedSnapshot;
}

export interface CheckedSnapshot {
  state: SnapshotState;
  /** fills a new build's RAM from memory-ranges; rejects if its checksum does not match */
  loadRam(ram: RamHandle, regions: readonly RamRegion[]): Promise<void>;
}

async function readSnapshotFile(dir: string, name: string): Promise<string> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw bad(code === 'ENOENT' ? `${join(dir, name)} does not exist` : `cannot read ${join(dir, name)} (${code})`, error);
  }
}

/** Reads a snapshot directory's config and state; nothing is built. */
export async function openSnapshot(dir: string): Promise<OpenedSnapshot> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw bad(error.code === 'ENOENT' ? `${dir} does not exist` : `cannot open ${dir} (${error.code})`, error);
  });
  if (!info.isDirectory()) throw bad(`${dir} is not a directory`);
  const configText = await readSnapshotFile(dir, SNAPSHOT_FILES.config);
  const stateText = await readSnapshotFile(dir, SNAPSHOT_FILES.state);
  const memoryPath = join(dir, SNAPSHOT_FILES.memory);
  const memoryInfo = await stat(memoryPath).catch((error: NodeJS.ErrnoException) => {
    throw bad(error.code === 'ENOENT' ? `${memoryPath} does not exist` : `cannot open ${memoryPath} (${error.code})`, error);
  });
  const state = parseSnapshotState(stateText, configText);
  let config: unknown;
  try {
    config = JSON.parse(configText);
  } catch (error) {
    throw bad(`${SNAPSHOT_FILES.config} is not JSON (${(error as Error).message})`, error);
  }
  return {
    config,
    check(memoryBytes) {
      checkMemoryRanges(state, memoryBytes);
      if (memoryInfo.size !== state.memory.bytes) {
        throw bad(`${SNAPSHOT_FILES.memory} has ${memoryInfo.size} bytes, the snapshot's RAM is ${state.memory.bytes}: it is truncated or not this snapshot's`);
      }
      return {
        state,
        async loadRam(ram, regions) {
          const got = await loadRam(ram, regions, memoryPath).catch((error: Error) => {
            throw bad(`cannot read ${memoryPath}: ${error.message}`, error);
          });
          if (got !== state.memory.sha256) throw bad(`${SNAPSHOT_FILES.memory} does not match its checksum in ${SNAPSHOT_FILES.state}: it changed after the snapshot was taken`);
        },
      };
    },
  };
}
