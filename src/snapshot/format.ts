// A snapshot on disk: Cloud Hypervisor's three files in one directory. `config.json` is the VmConfig,
// `memory-ranges` the guest RAM ranges concatenated, and `state.json` everything else: a format name
// and version, checksums of the other two files and of the machine state itself (vCPUs, in-kernel
// irqchip/PIT/clock, devices), and the RAM ranges' layout. A reader checks all of it before it builds
// anything, so a changed, cut or foreign snapshot is refused whole, with the reason.
import { createHash } from 'node:crypto';
import { VmmError } from '../errors.js';
import { ramRegions, type RamRegion } from '../boot/memory-layout.js';
import { SAVED_MACHINE_VERSION, type SavedMachine } from '../vm/machine.js';
import { VERSION } from '../version.js';

export const SNAPSHOT_FORMAT = 'nodevmm-snapshot';
/**
 * Bumped when the layout of state.json or memory-ranges changes, or how it is checked; a reader
 * takes only its own. 2: memory.sha256 covers the non-zero pages only (below), and memory-ranges
 * may be sparse.
 */
export const SNAPSHOT_VERSION = 2;
export const SNAPSHOT_FILES = { config: 'config.json', state: 'state.json', memory: 'memory-ranges' } as const;

export interface MemoryRange {
  gpa: number;
  length: number;
}

export interface SnapshotState {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  /** the nodevmm that wrote it, for the reader's messages */
  nodevmm_version: string;
  config_sha256: string;
  /**
   * sha256: over the maximal runs of non-zero 4 KiB pages of memory-ranges, in order, each as its file
   * offset and length (u64, little-endian) then its bytes. Zero pages add nothing, so the sum is the
   * same whether the file is sparse or not, and nobody hashes the zeros of a mostly empty guest.
   */
  memory: { ranges: MemoryRange[]; bytes: number; sha256: string };
  machine: Omit<SavedMachine, 'ram'>;
  /** of JSON.stringify(machine): an edit anywhere in the state is caught */
  machine_sha256: string;
}

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

const bad = (message: string): VmmError => new VmmError('invalid-config', `snapshot: ${message}`);

export function memoryRangesOf(regions: readonly RamRegion[]): MemoryRange[] {
  return regions.map((r) => ({ gpa: r.gpa, length: r.size }));
}

/** The state.json document for a saved machine (without RAM) whose config and RAM hashed as given. */
export function snapshotState(configText: string, machine: Omit<SavedMachine, 'ram'>, regions: readonly RamRegion[], memorySha256: string): SnapshotState {
  const ranges = memoryRangesOf(regions);
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    nodevmm_version: VERSION,
    config_sha256: sha256(configText),
    memory: { ranges, bytes: ranges.reduce((sum, r) => sum + r.length, 0), sha256: memorySha256 },
    machine,
    machine_sha256: sha256(JSON.stringify(machine)),
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a state.json's text, and the config.json text beside it against its checksum; returns the
 * document. The RAM layout is checked once the config is parsed (checkMemoryRanges), and the RAM's
 * own checksum as it is read (ram-copy.ts).
 */
export function parseSnapshotState(stateText: string, configText: string): SnapshotState {
  let state: unknown;
  try {
    state = JSON.parse(stateText);
  } catch (error) {
    throw bad(`${SNAPSHOT_FILES.state} is not JSON (${(error as Error).message})`);
  }
  if (!isObject(state) || state.format !== SNAPSHOT_FORMAT) throw bad(`${SNAPSHOT_FILES.state} is not a nodevmm snapshot (no "format": "${SNAPSHOT_FORMAT}")`);
  if (state.version !== SNAPSHOT_VERSION) {
    throw bad(`${SNAPSHOT_FILES.state} has format version ${JSON.stringify(state.version)} (written by nodevmm ${String(state.nodevmm_version)}); this nodevmm reads version ${SNAPSHOT_VERSION}`);
  }
  if (state.config_sha256 !== sha256(configText)) throw bad(`${SNAPSHOT_FILES.config} does not match the checksum in ${SNAPSHOT_FILES.state}: it changed after the snapshot was taken`);
  if (!isObject(state.machine) || state.machine_sha256 !== sha256(JSON.stringify(state.machine))) {
    throw bad(`the machine state in ${SNAPSHOT_FILES.state} does not match its checksum: it changed after the snapshot was taken`);
  }
  const machine = state.machine as SnapshotState['machine'];
  if (machine.version !== SAVED_MACHINE_VERSION) throw bad(`machine state version ${String(machine.version)}, this nodevmm reads ${SAVED_MACHINE_VERSION}`);
  const memory = state.memory;
  if (!isObject(memory) || !Array.isArray(memory.ranges) || typeof memory.sha256 !== 'string' || typeof memory.bytes !== 'number') {
    throw bad(`${SNAPSHOT_FILES.state} has no valid "memory" section`);
  }
  return state as unknown as SnapshotState;
}

/** The snapshot's RAM ranges must be those of the config's RAM size. */
export function checkMemoryRanges(state: SnapshotState, memoryBytes: number): void {
  const memory = state.memory;
  const expected = memoryRangesOf(ramRegions(memoryBytes));
  if (JSON.stringify(memory.ranges) !== JSON.stringify(expected) || memory.bytes !== expected.reduce((sum, r) => sum + r.length, 0)) {
    throw bad(`the memory ranges in ${SNAPSHOT_FILES.state} do not fit the config's ${memoryBytes} bytes of RAM`);
  }
}
