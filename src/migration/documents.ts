// The two JSON documents of a migration: Config (the VmConfig, so the destination can make RAM and
// threads before any byte of RAM arrives) and State (the paused build's vCPU, VM and device state, the
// lifecycle events held on the source, and whether the VM was paused). A receiver checks each before it
// acts on it; the VmConfig is then checked again as any VmConfig, and the machine state by the build.
import { MigrationError } from './errors.js';
import { SAVED_MACHINE_VERSION, type SavedMachine } from '../vm/machine.js';
import { VERSION } from '../version.js';

export const STATE_FORMAT = 'nodevmm-migration-state';
export const STATE_VERSION = 1;

/** A held guest exit or reset, as it travels: no build generation (the destination's build is another). */
export type HeldEvent = { kind: 'guest-exit'; reason: 'guest-shutdown' } | { kind: 'reset'; reason: 'acpi-reset' | 'i8042-reset' | 'cmos-reset' | 'triple-fault' };

export interface ConfigDocument {
  vm_config: unknown;
  nodevmm_version: string;
}

export interface StateDocument {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  machine: Omit<SavedMachine, 'ram'>;
  held: HeldEvent[];
  /** the VM was Paused when the migration began: it stays Paused on the destination */
  paused: boolean;
}

const RESET_REASONS = new Set(['acpi-reset', 'i8042-reset', 'cmos-reset', 'triple-fault']);
const MAX_HELD = 16;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new MigrationError(`${what}: not a UTF-8 JSON document (${(error as Error).message})`);
  }
}

export const encodeDocument = (document: ConfigDocument | StateDocument): Buffer => Buffer.from(JSON.stringify(document));

export function configDocument(vmConfig: unknown): ConfigDocument {
  return { vm_config: vmConfig, nodevmm_version: VERSION };
}

export function parseConfigDocument(bytes: Uint8Array): ConfigDocument {
  const document = parseJson(bytes, 'Config');
  if (!isObject(document) || !isObject(document.vm_config)) throw new MigrationError('Config: expected {"vm_config": {…}}');
  return { vm_config: document.vm_config, nodevmm_version: String(document.nodevmm_version ?? 'unknown') };
}

export function stateDocument(machine: Omit<SavedMachine, 'ram'>, held: HeldEvent[], paused: boolean): StateDocument {
  return { format: STATE_FORMAT, version: STATE_VERSION, machine, held, paused };
}

function isHeldEvent(value: unknown): value is HeldEvent {
  if (!isObject(value)) return false;
  if (value.kind === 'guest-exit') return value.reason === 'guest-shutdown';
  return value.kind === 'reset' && typeof value.reason === 'string' && RESET_REASONS.has(value.reason);
}

export function parseStateDocument(bytes: Uint8Array): StateDocument {
  const document = parseJson(bytes, 'State');
  if (!isObject(document) || document.format !== STATE_FORMAT) throw new MigrationError(`State: not a nodevmm migration state (no "format": "${STATE_FORMAT}")`);
  if (document.version !== STATE_VERSION) throw new MigrationError(`State: version ${JSON.stringify(document.version)}; this nodevmm reads version ${STATE_VERSION}`);
  const machine = document.machine;
  if (!isObject(machine) || machine.version !== SAVED_MACHINE_VERSION || !Array.isArray(machine.vcpus) || !isObject(machine.vm) || !isObject(machine.devices)) {
    throw new MigrationError(`State: no machine state of version ${SAVED_MACHINE_VERSION}`);
  }
  if ('ram' in machine) throw new MigrationError('State: RAM travels in Memory commands, not in the state');
  const held = document.held;
  if (!Array.isArray(held) || held.length > MAX_HELD || !held.every(isHeldEvent)) throw new MigrationError('State: "held" must be a short list of guest exits and resets');
  if (typeof document.paused !== 'boolean') throw new MigrationError('State: "paused" must be true or false');
  return { format: STATE_FORMAT, version: STATE_VERSION, machine: machine as unknown as StateDocument['machine'], held: held.map((e) => ({ ...e })), paused: document.paused };
}
