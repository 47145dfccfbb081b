// The i8042 keyboard controller's ports 0x60..0x64, as far as a guest with no keyboard or mouse needs:
// - 0x64 command 0xFE pulses the CPU reset line: the classic reboot ('i8042-reset'). Linux writes it
//   after the ACPI reset, polling status bit 1 (input buffer full) to be clear first, which it always is.
// - Linux's i8042 probe (when the firmware says a controller exists): self-test 0xAA → 0x55, keyboard
//   interface test 0xAB → 0x00, command byte read 0x20 / write 0x60, port enable/disable 0xA7/0xA8/
//   0xAD/0xAE reflected in the command byte (Linux checks them there), output port 0xD0/0xD1. Replies
//   sit in a one-byte output buffer flagged by status bit 0 until the guest reads port 0x60.
// - No AUX (mouse) port is wired: the AUX loopback 0xD3 gets no reply and the AUX interface test 0xA9
//   reports 0x01 (clock line stuck), which is how Linux learns to skip the port quickly.
// - 0x61, system control port B: bit 5 reads 1 so Linux's PIT-based calibration loops, which wait for
//   it, end. The low 4 bits (speaker gate/data, parity/channel check enables) read back as written.
// Keystrokes and the keyboard's own command set are not emulated; bytes for the keyboard are dropped.
import type { LifecycleSink } from './device.js';
import { ByteRegisterDevice } from './byte-registers.js';
import { asSharedState, deviceWords } from './device-state.js';
import { SharedState } from './shared-state.js';
import { BYTE, FLAG, restoreWords, saveWords, type SavedDeviceState, type WordField } from './saved-state.js';

const DATA = 0; // port 0x60
const PORT_B = 1; // port 0x61
const COMMAND = 4; // port 0x64

const STATUS_OBF = 0x01;
const STATUS_SYS = 0x04;
const STATUS_CMD = 0x08; // last write went to 0x64
const STATUS_UNLOCKED = 0x10;

const CTR_SYS = 0x04;
const CTR_KBD_DISABLED = 0x10;
const CTR_AUX_DISABLED = 0x20;
/** keyboard interrupt on, POST passed, scancode translation: what a PC BIOS leaves; AUX off (no mouse) */
const CTR_DEFAULT = 0x01 | CTR_SYS | CTR_AUX_DISABLED | 0x40;
/** reset line high (not asserted), A20 enabled */
const OUTPUT_PORT_DEFAULT = 0x03;

const PORT_B_TIMER2_OUT = 0x20;
const PORT_B_WRITABLE = 0x0f;

export const I8042Command = {
  READ_CTR: 0x20,
  WRITE_CTR: 0x60,
  AUX_DISABLE: 0xa7,
  AUX_ENABLE: 0xa8,
  AUX_TEST: 0xa9,
  SELF_TEST: 0xaa,
  KBD_TEST: 0xab,
  KBD_DISABLE: 0xad,
  KBD_ENABLE: 0xae,
  READ_OUTPUT_PORT: 0xd0,
  WRITE_OUTPUT_PORT: 0xd1,
  WRITE_KBD_OUTPUT: 0xd2,
  WRITE_AUX_OUTPUT: 0xd3,
  WRITE_AUX: 0xd4,
  RESET_CPU: 0xfe,
} as const;

const W_CTR = 1;
const W_OUTPUT = 2;
const W_OBF = 3;
const W_LAST_WAS_COMMAND = 4;
/** a command waiting for its data byte at 0x60, or 0 */
const W_PENDING_COMMAND = 5;
const W_PORT_B = 6;
const W_OUTPUT_PORT = 7;
const OWN_WORDS = 7;

const I8042_STATE_VERSION = 1;
const I8042_FIELDS: readonly WordField[] = [
  { name: 'ctr', index: W_CTR, ...BYTE },
  { name: 'output', index: W_OUTPUT, ...BYTE },
  { name: 'obf', index: W_OBF, ...FLAG },
  { name: 'lastWasCommand', index: W_LAST_WAS_COMMAND, ...FLAG },
  { name: 'pendingCommand', index: W_PENDING_COMMAND, ...BYTE },
  { name: 'portB', index: W_PORT_B, ...BYTE },
  { name: 'outputPort', index: W_OUTPUT_PORT, ...BYTE },
];

export class I8042 extends ByteRegisterDevice {
  static readonly stateWords = OWN_WORDS;

  static createState(): SharedState {
    const state = SharedState.create(OWN_WORDS);
    state.words[W_CTR] = CTR_DEFAULT;
    state.words[W_OUTPUT_PORT] = OUTPUT_PORT_DEFAULT;
    return state;
  }

  override readonly name: string;
  readonly state: SharedState;
  private readonly words: Int32Array;
  private readonly lifecycle: LifecycleSink;

  constructor(deps: { lifecycle: LifecycleSink; name?: string }, state: SharedState | SharedArrayBuffer = I8042.createState()) {
    super();
    this.name = deps.name ?? 'i8042';
    this.state = asSharedState(state);
    this.words = deviceWords(this.state, OWN_WORDS, this.name);
    this.lifecycle = deps.lifecycle;
  }

  save(): SavedDeviceState {
    return saveWords(this.state, this.name, I8042_STATE_VERSION, I8042_FIELDS);
  }

  restore(saved: unknown): void {
    restoreWords(this.state, this.name, I8042_STATE_VERSION, I8042_FIELDS, saved);
  }

  protected readByte(offset: number): number {
    const w = this.words;
    this.state.lock();
    try {
      switch (offset) {
        case DATA:
          w[W_OBF] = 0;
          return w[W_OUTPUT];
        case PORT_B:
          return PORT_B_TIMER2_OUT | (w[W_PORT_B] & PORT_B_WRITABLE);
        case COMMAND:
          return (w[W_OBF] !== 0 ? STATUS_OBF : 0)
            | ((w[W_CTR] & CTR_SYS) !== 0 ? STATUS_SYS : 0)
            | (w[W_LAST_WAS_COMMAND] !== 0 ? STATUS_CMD : 0)
            | STATUS_UNLOCKED;
        default:
          return 0xff;
      }
    } finally {
      this.state.unlock();
    }
  }

  protected writeByte(offset: number, value: number): void {
    let reset = false;
    this.state.lock();
    try {
      switch (offset) {
        case DATA:
          this.words[W_LAST_WAS_COMMAND] = 0;
          this.writeData(value);
          break;
        case PORT_B:
          this.words[W_PORT_B] = value & PORT_B_WRITABLE;
          break;
        case COMMAND:
          this.words[W_LAST_WAS_COMMAND] = 1;
          reset = this.command(value);
          break;
        default:
          break;
      }
    } finally {
      this.state.unlock();
    }
    if (reset) this.lifecycle.reset('i8042-reset');
  }

  /** Runs a controller command (lock held); true if it asks for a CPU reset. */
  private command(cmd: number): boolean {
    const w = this.words;
    w[W_PENDING_COMMAND] = 0;
    switch (cmd) {
      case I8042Command.READ_CTR:
        this.reply(w[W_CTR]);
        break;
      case I8042Command.WRITE_CTR:
      case I8042Command.WRITE_OUTPUT_PORT:
      case I8042Command.WRITE_KBD_OUTPUT:
      case I8042Command.WRITE_AUX_OUTPUT:
      case I8042Command.WRITE_AUX:
        w[W_PENDING_COMMAND] = cmd;
        break;
      case I8042Command.AUX_DISABLE:
        w[W_CTR] |= CTR_AUX_DISABLED;
        break;
      case I8042Command.AUX_ENABLE:
        w[W_CTR] &= ~CTR_AUX_DISABLED;
        break;
      case I8042Command.AUX_TEST:
        this.reply(0x01);
        break;
      case I8042Command.SELF_TEST:
        this.reply(0x55);
        break;
      case I8042Command.KBD_TEST:
        this.reply(0x00);
        break;
      case I8042Command.KBD_DISABLE:
        w[W_CTR] |= CTR_KBD_DISABLED;
        break;
      case I8042Command.KBD_ENABLE:
        w[W_CTR] &= ~CTR_KBD_DISABLED;
        break;
      case I8042Command.READ_OUTPUT_PORT:
        this.reply(w[W_OUTPUT_PORT]);
        break;
      case I8042Command.RESET_CPU:
        return true;
      default:
        break;
    }
    return false;
  }

  /** A byte at 0x60: the data of a pending command, else meant for the (absent) keyboard. */
  private writeData(value: number): void {
    const w = this.words;
    const pending = w[W_PENDING_COMMAND];
    w[W_PENDING_COMMAND] = 0;
    switch (pending) {
      case I8042Command.WRITE_CTR:
        w[W_CTR] = value;
        break;
      case I8042Command.WRITE_OUTPUT_PORT:
        w[W_OUTPUT_PORT] = value; // bit 0 clear would reset a real PC; Linux never relies on it
        break;
      case I8042Command.WRITE_KBD_OUTPUT:
        this.reply(value);
        break;
      default:
        break; // AUX data, or keyboard commands: nothing is attached
    }
  }

  private reply(byte: number): void {
    this.words[W_OUTPUT] = byte;
    this.words[W_OBF] = 1;
  }
}
