// A VM's in-kernel device state (PIC master/slave and IOAPIC, PIT, kvmclock) as a JSON-able object.
import type { NativeVm, VmStateKind } from './native.js';
import { STATE_SIZES } from './structs.js';
import { StateFormatError, blob, checkVersion, field, hex, toBase64, u64 } from './state-format.js';

export const VM_STATE_VERSION = 1;

export interface VmState {
  version: typeof VM_STATE_VERSION;
  /** kvm_irqchip per chip, base64 */
  picMaster: string;
  picSlave: string;
  ioapic: string;
  /** kvm_pit_state2, base64 */
  pit2: string;
  /** kvmclock in ns, hex */
  clock: string;
}

const CHIPS = ['picMaster', 'picSlave', 'ioapic', 'pit2'] as const satisfies readonly VmStateKind[];

export function saveVmState(vm: NativeVm): VmState {
  const blobs = Object.fromEntries(CHIPS.map((kind) => {
    const out = new Uint8Array(STATE_SIZES[kind]);
    vm.getState(kind, out);
    return [kind, toBase64(out)];
  })) as Record<(typeof CHIPS)[number], string>;
  const clock = new Uint8Array(STATE_SIZES.clock);
  vm.getState('clock', clock);
  return { version: VM_STATE_VERSION, ...blobs, clock: hex(new DataView(clock.buffer).getBigUint64(0, true)) };
}

/** Validates JSON (e.g. parsed from a file) as a VmState; throws StateFormatError naming the field. */
export function decodeVmState(json: unknown): { chips: Record<(typeof CHIPS)[number], Uint8Array<ArrayBuffer>>; clock: bigint } {
  checkVersion(json, VM_STATE_VERSION, 'vm');
  const chips = Object.fromEntries(CHIPS.map((kind) => [kind, blob(field(json, kind, 'vm'), STATE_SIZES[kind], `vm.${kind}`)]));
  return { chips: chips as Record<(typeof CHIPS)[number], Uint8Array<ArrayBuffer>>, clock: u64(field(json, 'clock', 'vm'), 'vm.clock') };
}

export function restoreVmState(vm: NativeVm, state: unknown): void {
  const { chips, clock } = decodeVmState(state); // everything checked before the first ioctl
  for (const kind of CHIPS) vm.setState(kind, chips[kind]);
  // Flags 0: the clock resumes at the saved value rather than jumping by the host time in between.
  const data = new Uint8Array(STATE_SIZES.clock);
  new DataView(data.buffer).setBigUint64(0, clock, true);
  vm.setState('clock', data);
}

export { StateFormatError };
