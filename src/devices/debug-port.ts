// Debug ports.
//
// PostCodePort (0x80): firmware writes POST codes here, and Linux writes it as an I/O delay
// (`outb(0, 0x80)`) thousands of times, so writes are only counted and the last code kept, never
// logged. Lock-free: the last code and a count split over two words are each updated atomically (a
// reader racing the carry at 2^32 writes may see the count low for an instant; it is a statistic).
// Reads return the last code, as the port's latch on a PC does.
//
// DebugConsole (0x402, QEMU's isa-debugcon and OVMF; 0xE9, Bochs): each byte written goes to a ByteSink
// (the debug log). Reads return 0xE9 on either port, which is how firmware detects the console.
// Stateless, so one instance can be registered at both ports.
import type { BusDevice, ByteSink } from './device.js';
import { asSharedState, deviceWords } from './device-state.js';
import { SharedState } from './shared-state.js';
import { BYTE, INT32, restoreWords, saveWords, type SavedDeviceState, type WordField } from './saved-state.js';
import { TWO_32 } from '../util/units.js';

const W_LAST_CODE = 1;
const W_COUNT_LOW = 2;
const W_COUNT_HIGH = 3;
const OWN_WORDS = 3;

const POST_CODE_STATE_VERSION = 1;
const POST_CODE_FIELDS: readonly WordField[] = [
  { name: 'lastCode', index: W_LAST_CODE, ...BYTE },
  { name: 'countLow', index: W_COUNT_LOW, ...INT32 },
  { name: 'countHigh', index: W_COUNT_HIGH, ...INT32 },
];

export class PostCodePort implements BusDevice {
  static readonly stateWords = OWN_WORDS;

  static createState(): SharedState {
    return SharedState.create(OWN_WORDS);
  }

  readonly name: string;
  readonly state: SharedState;
  private readonly words: Int32Array;

  constructor(deps: { name?: string } = {}, state: SharedState | SharedArrayBuffer = PostCodePort.createState()) {
    this.name = deps.name ?? 'post-code';
    this.state = asSharedState(state);
    this.words = deviceWords(this.state, OWN_WORDS, this.name);
  }

  save(): SavedDeviceState {
    return saveWords(this.state, this.name, POST_CODE_STATE_VERSION, POST_CODE_FIELDS);
  }

  restore(saved: unknown): void {
    restoreWords(this.state, this.name, POST_CODE_STATE_VERSION, POST_CODE_FIELDS, saved);
  }

  read(_offset: number, _size: number): number {
    return Atomics.load(this.words, W_LAST_CODE);
  }

  write(_offset: number, _size: number, value: number): void {
    Atomics.store(this.words, W_LAST_CODE, value & 0xff);
    // the low word wraps from 0xffffffff (-1 as Int32) to 0: carry into the high word
    if (Atomics.add(this.words, W_COUNT_LOW, 1) === -1) Atomics.add(this.words, W_COUNT_HIGH, 1);
  }

  /** Writes seen by every instance over this state. */
  get count(): number {
    for (;;) {
      const high = Atomics.load(this.words, W_COUNT_HIGH);
      const low = Atomics.load(this.words, W_COUNT_LOW) >>> 0;
      if (Atomics.load(this.words, W_COUNT_HIGH) === high) return (high >>> 0) * TWO_32 + low;
    }
  }

  get lastCode(): number {
    return Atomics.load(this.words, W_LAST_CODE);
  }
}

const BOCHS_READBACK = 0xe9;

export class DebugConsole implements BusDevice {
  readonly name: string;
  private readonly log: ByteSink;

  constructor(deps: { log: ByteSink; name?: string }) {
    this.name = deps.name ?? 'debug-console';
    this.log = deps.log;
  }

  read(_offset: number, _size: number): number {
    return BOCHS_READBACK;
  }

  /** A byte port: wider writes send only their low byte, as the next port is not the console. */
  write(_offset: number, _size: number, value: number): void {
    this.log.write(value & 0xff);
  }
}
