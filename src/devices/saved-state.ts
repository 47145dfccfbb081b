// Versioned device state for snapshots: each device names its shared words (a field per register,
// arrays for FIFOs and RAM) with the range each may hold. save() copies them into a plain JSON-able
// object; restore() checks every field first and only then writes, so a bad state is refused whole,
// with an error naming the device and the field. Words that are bookkeeping of this process (the lock,
// the irq level last driven, wake-up sequence numbers) are not saved.
import type { SharedState } from './shared-state.js';

export interface WordField {
  name: string;
  index: number;
  /** an array of `length` words from `index` (FIFO, RAM); absent = one word */
  length?: number;
  min: number;
  max: number;
}

/** What every device's save() returns: its format version, then its fields. */
export interface SavedDeviceState {
  version: number;
  [field: string]: number | number[];
}

export const BYTE = { min: 0, max: 0xff } as const;
export const FLAG = { min: 0, max: 1 } as const;
export const INT32 = { min: -0x8000_0000, max: 0x7fff_ffff } as const;

export class DeviceStateError extends Error {
  constructor(device: string, field: string, problem: string) {
    super(`${device}: saved state ${field}: ${problem}`);
    this.name = 'DeviceStateError';
  }
}

/** Runs `fn` under the device lock; snapshots happen with every vCPU paused, so it is free. */
function locked<T>(state: SharedState, device: string, fn: () => T): T {
  if (!state.tryLock()) throw new Error(`${device}: locked during save/restore (a vCPU is still running)`);
  try {
    return fn();
  } finally {
    state.unlock();
  }
}

export function saveWords(state: SharedState, device: string, version: number, fields: readonly WordField[]): SavedDeviceState {
  return locked(state, device, () => {
    const out: SavedDeviceState = { version };
    const w = state.words;
    for (const f of fields) {
      out[f.name] = f.length === undefined ? w[f.index] : Array.from(w.subarray(f.index, f.index + f.length));
    }
    return out;
  });
}

function checkValue(device: string, field: string, value: unknown, f: WordField): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new DeviceStateError(device, field, `expected an integer, got ${JSON.stringify(value)}`);
  if (value < f.min || value > f.max) throw new DeviceStateError(device, field, `${value} is outside ${f.min}..${f.max}`);
  return value;
}

/** Validates `saved` against `fields` and `version`, then writes it; throws before writing anything. */
export function restoreWords(state: SharedState, device: string, version: number, fields: readonly WordField[], saved: unknown): void {
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) throw new DeviceStateError(device, '(root)', 'not an object');
  const s = saved as Record<string, unknown>;
  if (s.version !== version) throw new DeviceStateError(device, 'version', `${JSON.stringify(s.version)} is not the supported version ${version}`);
  const values: Array<[number, number]> = [];
  for (const f of fields) {
    const v = s[f.name];
    if (f.length === undefined) {
      values.push([f.index, checkValue(device, f.name, v, f)]);
      continue;
    }
    if (!Array.isArray(v) || v.length !== f.length) throw new DeviceStateError(device, f.name, `expected an array of ${f.length}`);
    v.forEach((item, i) => values.push([f.index + i, checkValue(device, `${f.name}[${i}]`, item, f)]));
  }
  locked(state, device, () => {
    for (const [index, value] of values) state.words[index] = value;
  });
}

/** A device whose state a snapshot carries. */
export interface Stateful {
  save(): SavedDeviceState;
  restore(saved: unknown): void;
}
