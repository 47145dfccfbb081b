// The guest's serial port and debug console as the host sees them, across VM builds: the rings the
// vCPU workers write into (they outlive builds), the pumps that drain them while a build runs, where
// the serial output goes (a tty, a file, a socket, a pty) and the queue of host input for the UART.
import { ByteRing, pumpRing } from '../host/byte-ring.js';
import { SerialInput, type UartReceiver } from '../host/serial-input.js';
import { openSerialOutput, type ConsoleConfig, type SerialOutput } from '../host/serial-output.js';
import type { PlatformHostSide } from '../vm/platform.js';
import { Subject, type Observable } from '../rx.js';

export interface GuestConsoleDeps {
  /** where serial mode Tty writes */
  tty: NodeJS.WritableStream;
  log: (message: string) => void;
}

export class GuestConsole {
  private readonly serialOut = new Subject<Uint8Array>();
  private readonly debugOut = new Subject<Uint8Array>();
  /** every chunk of serial output, after it went to the configured output */
  readonly serial$: Observable<Uint8Array> = this.serialOut.asObservable();
  /** what the guest wrote to the debug console ports */
  readonly debugConsole$: Observable<Uint8Array> = this.debugOut.asObservable();
  private readonly serialRing = ByteRing.create();
  private readonly debugRing = ByteRing.create(1 << 12);
  private readonly input = new SerialInput();
  private output: SerialOutput | null = null;
  private pumps: Array<{ stop(): void }> = [];
  private droppedByClosedOutputs = 0;

  constructor(private readonly deps: GuestConsoleDeps) {}

  /** The rings' buffers, for every VM build's devices. */
  get host(): PlatformHostSide {
    return { serialOut: this.serialRing.buffer, debugOut: this.debugRing.buffer };
  }

  /** serial bytes lost: written while the ring was full, or not taken by the output (a pty nobody reads) */
  get droppedBytes(): number {
    return this.serialRing.dropped + this.droppedByClosedOutputs + (this.output?.dropped ?? 0);
  }

  /** the serial pty's path, in serial mode Pty */
  get ptyPath(): string | undefined {
    return this.output?.path;
  }

  /** Opens the serial output for a boot. A pty keeps its path for the VM's life: a user attached to it stays attached across boots. */
  async open(serial: ConsoleConfig): Promise<void> {
    if (serial.mode === 'Pty' && this.output?.path) return;
    await this.close();
    this.output = await openSerialOutput(serial, {
      tty: this.deps.tty,
      input: (bytes) => this.write(bytes),
      log: this.deps.log,
    });
  }

  /** A build starts running: drain its bytes, feed its UART (null: the build has no serial port). */
  attach(uart: UartReceiver | null): void {
    this.pumps = [
      pumpRing(this.serialRing, (bytes) => {
        this.output?.write(bytes);
        this.serialOut.next(bytes);
      }),
      pumpRing(this.debugRing, (bytes) => this.debugOut.next(bytes)),
    ];
    this.input.attach(uart);
  }

  /** A build is ending: host input for it is discarded (its writes reject). */
  detachInput(): void {
    this.input.detach();
  }

  /** The build's vCPUs have stopped: take their last bytes and stop draining. */
  stopPumps(): void {
    const pumps = this.pumps;
    this.pumps = [];
    for (const pump of pumps) pump.stop();
  }

  /** Host → guest serial bytes (see SerialInput). */
  write(bytes: Uint8Array): Promise<void> {
    return this.input.write(bytes);
  }

  /** For the VMM's end: takes the guest's last bytes, closes the output and ends serial$ and debugConsole$. */
  async end(): Promise<void> {
    this.stopPumps();
    await this.close();
    this.serialOut.complete();
    this.debugOut.complete();
  }

  async close(): Promise<void> {
    const output = this.output;
    this.output = null;
    await output?.close();
    this.droppedByClosedOutputs += output?.dropped ?? 0;
  }
}
