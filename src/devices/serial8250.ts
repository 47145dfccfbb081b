// A 16550A UART, as on a PC's COM1 (8 byte registers; DLAB in LCR switches offsets 0/1 to the divisor).
//
// Transmission is instant: a byte written to THR goes to the ByteSink at once, so THR and the shift
// register are always empty (LSR THRE|TEMT) and a THRE interrupt is pending again after every write.
// Reception goes through a 16-byte FIFO (1 byte in 16450 mode) filled by `receive()` on the host side.
//
// What Linux's 8250 driver checks, and so what this model must get right:
// - autoconfig: IER keeps exactly its low 4 bits (IER test, and the XScale UUE-bit test must fail);
//   loopback with MCR = LOOP|OUT2|RTS reads MSR[7:4] = 0x90; after FCR = 1, IIR[7:6] = 11 (16550A);
//   with DLAB or LCR = 0xbf, offset 2 still reads IIR, which is non-zero, so no EFR is found; IIR
//   bit 5 stays clear (not a 16750); the FIFO test in loopback overruns after 16 bytes.
// - startup THRE test: enabling THRI with THR empty raises a THRE interrupt, reading IIR clears it,
//   and disabling then re-enabling THRI raises it again.
// - Interrupts reach the PIC only while MCR OUT2 is set, as on PC boards; Linux sets OUT2 once it owns
//   the IRQ, so nothing fires at the irqchip before the driver is ready. Loopback does not gate it.
// Interrupt priority (IIR): line status > received data (or character timeout) > THR empty > modem status.
// Received data below the FIFO trigger level reports the character-timeout ID at once rather than after
// four character times: host input comes in bursts and waiting would only add latency.
//
// All registers live in a SharedState so every vCPU worker and the main thread see one UART.
import type { ByteSink, IrqLine } from './device.js';
import { ByteRegisterDevice } from './byte-registers.js';
import { asSharedState, deviceWords } from './device-state.js';
import { SharedState } from './shared-state.js';
import { applyLevel, NO_CHANGE, updateLevel } from './irq-level.js';
import { restoreWords, saveWords, type SavedDeviceState } from './saved-state.js';
import {
  FIFO_SIZE, W_IER, W_LCR, W_MCR, W_LSR_ERRORS, W_MSR, W_SCR, W_DLL, W_DLM, W_FCR, W_THRE_PENDING, W_RX_HEAD, W_RX_COUNT, W_IRQ_LEVEL, W_RX_SPACE_SEQ, W_RX_FIFO, OWN_WORDS, SERIAL_FIELDS, SERIAL_STATE_VERSION,
} from './serial8250-state.js';
import {
  IER_RDI, IER_THRI, IER_RLSI, IER_MSI, IER_VALID, IIR_NO_INT, IIR_MSI, IIR_THRI, IIR_RDI, IIR_RLSI, IIR_RX_TIMEOUT, IIR_FIFO_ENABLED, FCR_ENABLE, FCR_CLEAR_RX, FCR_DMA, FCR_TRIGGER, TRIGGER_LEVELS, LCR_DLAB, MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP, MCR_VALID, LSR_DR, LSR_OE, LSR_ERRORS, LSR_THRE, LSR_TEMT, MSR_DCTS, MSR_DDSR, MSR_TERI, MSR_DDCD, MSR_DELTAS, MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD, EXTERNAL_LINES,
} from './serial8250-state.js';

/** Register offsets from the UART's base port. */
export const UartRegister = {
  RBR: 0, THR: 0, DLL: 0,
  IER: 1, DLM: 1,
  IIR: 2, FCR: 2,
  LCR: 3, MCR: 4, LSR: 5, MSR: 6, SCR: 7,
} as const;

/** Lines the UART sees on its modem inputs: its own outputs in loopback, the host's otherwise. */
function modemInputs(mcr: number): number {
  if ((mcr & MCR_LOOP) === 0) return EXTERNAL_LINES;
  return ((mcr & MCR_DTR) !== 0 ? MSR_DSR : 0)
    | ((mcr & MCR_RTS) !== 0 ? MSR_CTS : 0)
    | ((mcr & MCR_OUT1) !== 0 ? MSR_RI : 0)
    | ((mcr & MCR_OUT2) !== 0 ? MSR_DCD : 0);
}

export interface Serial8250Deps {
  /** the UART's interrupt output (IRQ 4 for COM1), driven only on level changes */
  irq: IrqLine;
  /** where transmitted bytes go; must not block */
  output: ByteSink;
  name?: string;
}

export class Serial8250 extends ByteRegisterDevice {
  /** Device words in the shared state (besides the lock). */
  static readonly stateWords = OWN_WORDS;
  static readonly fifoSize = FIFO_SIZE;

  /** A UART in its power-on state: 9600 baud divisor, FIFO off, no interrupts enabled. */
  static createState(): SharedState {
    const state = SharedState.create(OWN_WORDS);
    state.words[W_DLL] = 12; // 115200 / 12 = 9600 baud
    state.words[W_MSR] = EXTERNAL_LINES;
    return state;
  }

  override readonly name: string;
  readonly state: SharedState;
  private readonly words: Int32Array;
  private readonly irq: IrqLine;
  private readonly output: ByteSink;
  /** set under the lock when receive room opened, signalled after it (this thread's call only) */
  private rxSpaceFreed = false;

  constructor(deps: Serial8250Deps, state: SharedState | SharedArrayBuffer = Serial8250.createState()) {
    super();
    this.name = deps.name ?? 'serial8250';
    this.state = asSharedState(state);
    this.words = deviceWords(this.state, OWN_WORDS, this.name);
    this.irq = deps.irq;
    this.output = deps.output;
  }

  /**
   * Host → guest: queues as many bytes as the receive FIFO has room for and returns that count (0 in
   * loopback mode, where the UART is cut off from the line). Raises the data interrupt if enabled.
   */
  receive(bytes: Uint8Array): number {
    let accepted: number;
    let level: number;
    this.state.lock();
    try {
      accepted = this.pushReceived(bytes);
      level = this.rxLevel;
    } finally {
      this.state.unlock();
    }
    applyLevel(this.irq, this.words, W_IRQ_LEVEL, level);
    return accepted;
  }

  /** receive() for the main thread: never blocks on the lock. */
  async receiveAsync(bytes: Uint8Array): Promise<number> {
    let level = NO_CHANGE;
    const accepted = await this.state.runAsync(() => {
      const n = this.pushReceived(bytes);
      level = this.rxLevel;
      return n;
    });
    applyLevel(this.irq, this.words, W_IRQ_LEVEL, level);
    return accepted;
  }

  /** pushReceived()'s second answer, read by its caller while still under the lock */
  private rxLevel = NO_CHANGE;

  /** Under the lock: queues what fits; leaves the new irq level in rxLevel. */
  private pushReceived(bytes: Uint8Array): number {
    let accepted = 0;
    this.rxLevel = NO_CHANGE;
    if ((this.words[W_MCR] & MCR_LOOP) === 0) {
      while (accepted < bytes.length && this.pushRx(bytes[accepted])) accepted++;
      if (accepted > 0) this.rxLevel = this.updateIrq();
    }
    return accepted;
  }

  /**
   * How many bytes `receive()` would accept now. Read without the lock (a hint: waitForRxSpace's
   * sequence word catches any change that races with it), so the main thread never waits here.
   */
  get rxSpace(): number {
    const w = this.words;
    if ((Atomics.load(w, W_MCR) & MCR_LOOP) !== 0) return 0;
    const capacity = (Atomics.load(w, W_FCR) & FCR_ENABLE) !== 0 ? FIFO_SIZE : 1;
    return Math.max(0, capacity - Atomics.load(w, W_RX_COUNT));
  }

  /**
   * Resolves when the guest may have made room in the receive FIFO (it read a byte, cleared the FIFO,
   * or left loopback), at once if there is room now; resolves false on timeout. Never blocks: for the
   * main thread feeding host input.
   */
  waitForRxSpace(timeoutMs = Infinity): Promise<boolean> {
    const seq = Atomics.load(this.words, W_RX_SPACE_SEQ);
    if (this.rxSpace > 0) return Promise.resolve(true);
    const result = Atomics.waitAsync(this.words, W_RX_SPACE_SEQ, seq, timeoutMs);
    if (!result.async) return Promise.resolve(result.value !== 'timed-out');
    return result.value.then((outcome) => outcome !== 'timed-out');
  }

  save(): SavedDeviceState {
    return saveWords(this.state, this.name, SERIAL_STATE_VERSION, SERIAL_FIELDS);
  }

  /** Restores registers and FIFO; the line counts as low until reassertIrq() drives what they imply. */
  restore(saved: unknown): void {
    restoreWords(this.state, this.name, SERIAL_STATE_VERSION, SERIAL_FIELDS, saved);
    Atomics.store(this.words, W_IRQ_LEVEL, 0);
    this.signalRxSpace();
  }

  /** Drives the irq line to the level the registers imply (after a restore into a fresh irqchip). */
  reassertIrq(): void {
    this.state.lock();
    let level: number;
    try {
      Atomics.store(this.words, W_IRQ_LEVEL, -1); // unknown: forces a set()
      level = this.updateIrq();
    } finally {
      this.state.unlock();
    }
    applyLevel(this.irq, this.words, W_IRQ_LEVEL, level);
  }

  protected readByte(offset: number): number {
    const w = this.words;
    let value: number;
    let level: number;
    this.state.lock();
    try {
      switch (offset) {
        case 0:
          value = (w[W_LCR] & LCR_DLAB) !== 0 ? w[W_DLL] : this.popRx();
          break;
        case 1:
          value = (w[W_LCR] & LCR_DLAB) !== 0 ? w[W_DLM] : w[W_IER];
          break;
        case 2:
          value = this.readIir();
          break;
        case 3:
          value = w[W_LCR];
          break;
        case 4:
          value = w[W_MCR];
          break;
        case 5:
          value = this.readLsr();
          break;
        case 6:
          value = w[W_MSR];
          w[W_MSR] = value & ~MSR_DELTAS;
          break;
        case 7:
          value = w[W_SCR];
          break;
        default:
          value = 0xff;
      }
      level = this.updateIrq();
    } finally {
      this.state.unlock();
    }
    this.signalRxSpaceIfFreed();
    applyLevel(this.irq, w, W_IRQ_LEVEL, level);
    return value;
  }

  protected writeByte(offset: number, value: number): void {
    const w = this.words;
    let transmit = -1;
    let level: number;
    this.state.lock();
    try {
      switch (offset) {
        case 0:
          if ((w[W_LCR] & LCR_DLAB) !== 0) {
            w[W_DLL] = value;
          } else {
            if ((w[W_MCR] & MCR_LOOP) !== 0) this.loopBack(value);
            else transmit = value;
            w[W_THRE_PENDING] = 1; // sent at once: THR is empty again
          }
          break;
        case 1:
          if ((w[W_LCR] & LCR_DLAB) !== 0) w[W_DLM] = value;
          else this.writeIer(value);
          break;
        case 2:
          this.writeFcr(value);
          break;
        case 3:
          w[W_LCR] = value;
          break;
        case 4:
          this.writeMcr(value);
          break;
        case 7:
          w[W_SCR] = value;
          break;
        default:
          break; // LSR and MSR are read-only
      }
      level = this.updateIrq();
    } finally {
      this.state.unlock();
    }
    this.signalRxSpaceIfFreed();
    applyLevel(this.irq, w, W_IRQ_LEVEL, level);
    // outside the lock: a sink may feed bytes back through receive()
    if (transmit >= 0) this.output.write(transmit);
  }

  // --- everything below runs with the lock held ---

  private rxCapacity(): number {
    return (this.words[W_FCR] & FCR_ENABLE) !== 0 ? FIFO_SIZE : 1;
  }

  private pushRx(byte: number): boolean {
    const w = this.words;
    const count = w[W_RX_COUNT];
    if (count >= this.rxCapacity()) return false;
    w[W_RX_FIFO + ((w[W_RX_HEAD] + count) & (FIFO_SIZE - 1))] = byte;
    w[W_RX_COUNT] = count + 1;
    return true;
  }

  private popRx(): number {
    const w = this.words;
    const count = w[W_RX_COUNT];
    if (count === 0) return 0;
    const head = w[W_RX_HEAD];
    const byte = w[W_RX_FIFO + head];
    w[W_RX_HEAD] = (head + 1) & (FIFO_SIZE - 1);
    w[W_RX_COUNT] = count - 1;
    this.rxSpaceFreed = true;
    return byte;
  }

  private clearRx(): void {
    this.words[W_RX_HEAD] = 0;
    this.words[W_RX_COUNT] = 0;
    this.rxSpaceFreed = true;
  }

  /** After unlocking: wakes a host waiting for FIFO room if a locked step freed some (a notify is a system call). */
  private signalRxSpaceIfFreed(): void {
    if (!this.rxSpaceFreed) return;
    this.rxSpaceFreed = false;
    this.signalRxSpace();
  }

  private signalRxSpace(): void {
    Atomics.add(this.words, W_RX_SPACE_SEQ, 1);
    Atomics.notify(this.words, W_RX_SPACE_SEQ);
  }

  /** TX looped to RX. A full receiver overruns: in FIFO mode the new byte is lost, in 16450 mode it replaces the unread one. */
  private loopBack(byte: number): void {
    if (this.pushRx(byte)) return;
    const w = this.words;
    w[W_LSR_ERRORS] |= LSR_OE;
    if ((w[W_FCR] & FCR_ENABLE) === 0) w[W_RX_FIFO + w[W_RX_HEAD]] = byte;
  }

  private writeIer(value: number): void {
    const w = this.words;
    const ier = value & IER_VALID;
    // THR is always empty, so turning THRI on raises the THRE interrupt at once (Linux's THRE test).
    if ((ier & IER_THRI) !== 0 && (w[W_IER] & IER_THRI) === 0) w[W_THRE_PENDING] = 1;
    w[W_IER] = ier;
  }

  private writeFcr(value: number): void {
    const w = this.words;
    const enable = value & FCR_ENABLE;
    // switching between 16450 and FIFO mode empties the FIFOs
    if (enable !== (w[W_FCR] & FCR_ENABLE)) this.clearRx();
    if (enable === 0) {
      w[W_FCR] = 0; // the other FCR bits only take while FIFOs are enabled
      return;
    }
    if ((value & FCR_CLEAR_RX) !== 0) this.clearRx();
    w[W_FCR] = value & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
  }

  private writeMcr(value: number): void {
    const w = this.words;
    const mcr = value & MCR_VALID;
    const leavingLoopback = (w[W_MCR] & MCR_LOOP) !== 0 && (mcr & MCR_LOOP) === 0;
    w[W_MCR] = mcr;
    const old = w[W_MSR];
    const lines = modemInputs(mcr);
    const changed = (old ^ lines) & ~MSR_DELTAS;
    let deltas = old & MSR_DELTAS;
    if ((changed & MSR_CTS) !== 0) deltas |= MSR_DCTS;
    if ((changed & MSR_DSR) !== 0) deltas |= MSR_DDSR;
    if ((changed & MSR_DCD) !== 0) deltas |= MSR_DDCD;
    if ((old & MSR_RI) !== 0 && (lines & MSR_RI) === 0) deltas |= MSR_TERI; // trailing edge only
    w[W_MSR] = lines | deltas;
    if (leavingLoopback) this.rxSpaceFreed = true;
  }

  private readIir(): number {
    const w = this.words;
    const id = this.pendingInterrupt();
    if (id === IIR_THRI) w[W_THRE_PENDING] = 0; // reading IIR acknowledges THRE (only when it is the one shown)
    return id | ((w[W_FCR] & FCR_ENABLE) !== 0 ? IIR_FIFO_ENABLED : 0);
  }

  private readLsr(): number {
    const w = this.words;
    let lsr = LSR_THRE | LSR_TEMT | w[W_LSR_ERRORS];
    if (w[W_RX_COUNT] > 0) lsr |= LSR_DR;
    w[W_LSR_ERRORS] = 0;
    return lsr;
  }

  /** The highest-priority enabled interrupt, as an IIR interrupt ID. */
  private pendingInterrupt(): number {
    const w = this.words;
    const ier = w[W_IER];
    if ((ier & IER_RLSI) !== 0 && (w[W_LSR_ERRORS] & LSR_ERRORS) !== 0) return IIR_RLSI;
    const count = w[W_RX_COUNT];
    if ((ier & IER_RDI) !== 0 && count > 0) {
      const fcr = w[W_FCR];
      return (fcr & FCR_ENABLE) !== 0 && count < TRIGGER_LEVELS[fcr >>> 6] ? IIR_RX_TIMEOUT : IIR_RDI;
    }
    if ((ier & IER_THRI) !== 0 && w[W_THRE_PENDING] !== 0) return IIR_THRI;
    if ((ier & IER_MSI) !== 0 && (w[W_MSR] & MSR_DELTAS) !== 0) return IIR_MSI;
    return IIR_NO_INT;
  }

  /** The line's new level if it changed, else NO_CHANGE; the caller applies it after unlocking. */
  private updateIrq(): number {
    const w = this.words;
    return updateLevel(w, W_IRQ_LEVEL, (w[W_MCR] & MCR_OUT2) !== 0 && this.pendingInterrupt() !== IIR_NO_INT ? 1 : 0);
  }
}
