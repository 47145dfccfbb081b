// PCI configuration mechanism #1 at ports 0xCF8..0xCFF with no devices behind it. Linux probes it by
// writing 0x80000000 to CONFIG_ADDRESS and reading it back; after that every configuration read sees
// all ones, which is what an empty bus answers (vendor ID 0xFFFF: no function here).
// Only 32-bit accesses at 0xCF8 reach CONFIG_ADDRESS, as the spec says; narrower ones (Linux's probe for
// the old mechanism #2 writes bytes at 0xCF8 and 0xCFA) fall through and read as all ones.
import type { BusDevice } from './device.js';
import { allOnes } from './byte-registers.js';
import { asSharedState, deviceWords } from './device-state.js';
import { SharedState } from './shared-state.js';
import { INT32, restoreWords, saveWords, type SavedDeviceState, type WordField } from './saved-state.js';

/** enable (31), bus (23:16), device (15:11), function (10:8), register (7:2); 30:24 and 1:0 read 0 */
const ADDRESS_WRITABLE = 0x80ff_fffc;

const W_ADDRESS = 1;
const OWN_WORDS = 1;

const PCI_STATE_VERSION = 1;
const PCI_FIELDS: readonly WordField[] = [{ name: 'address', index: W_ADDRESS, ...INT32 }];

export class PciNoDevices implements BusDevice {
  static readonly stateWords = OWN_WORDS;

  static createState(): SharedState {
    return SharedState.create(OWN_WORDS);
  }

  readonly name: string;
  readonly state: SharedState;
  private readonly words: Int32Array;

  constructor(deps: { name?: string } = {}, state: SharedState | SharedArrayBuffer = PciNoDevices.createState()) {
    this.name = deps.name ?? 'pci-config';
    this.state = asSharedState(state);
    this.words = deviceWords(this.state, OWN_WORDS, this.name);
  }

  save(): SavedDeviceState {
    return saveWords(this.state, this.name, PCI_STATE_VERSION, PCI_FIELDS);
  }

  restore(saved: unknown): void {
    restoreWords(this.state, this.name, PCI_STATE_VERSION, PCI_FIELDS, saved);
  }

  read(offset: number, size: number): number {
    if (offset === 0 && size === 4) return Atomics.load(this.words, W_ADDRESS) >>> 0;
    return allOnes(size);
  }

  write(offset: number, size: number, value: number): void {
    if (offset === 0 && size === 4) Atomics.store(this.words, W_ADDRESS, value & ADDRESS_WRITABLE);
    // CONFIG_DATA writes go nowhere: there is no function to take them
  }
}
