// Where the guest's serial output goes on the host, by serial mode: the terminal (Tty), a file, a
// Unix socket or a pseudo-terminal whose clients also type into the guest. Null and Off have no host side (serial$ still
// carries the bytes for embedders, except with Off, which has no port at all).
import { createWriteStream } from 'node:fs';
import { SerialSocketServer } from './serial-socket.js';
import { SerialPty } from './serial-pty.js';
import { VmmError } from '../errors.js';

/** A serial port's or console's host side, in Cloud Hypervisor's VmConfig shape. */
export type ConsoleMode = 'Off' | 'Null' | 'Tty' | 'File' | 'Socket' | 'Pty';

export interface ConsoleConfig {
  mode: ConsoleMode;
  file?: string;
  socket?: string;
}

export interface SerialOutput {
  write(bytes: Uint8Array): void;
  /** may finish later (a pty lets its reader take the last output first) */
  close(): void | Promise<void>;
  /** mode Pty: the terminal a user opens (e.g. /dev/pts/3) */
  readonly path?: string;
  /** bytes this output could not deliver (a pty nobody reads, a socket client that fell behind) */
  readonly dropped?: number;
}

export interface SerialOutputDeps {
  /** where mode Tty writes */
  tty: NodeJS.WritableStream;
  /** host → guest bytes (the socket's clients) */
  input(bytes: Uint8Array): Promise<void>;
  log(message: string): void;
}

export async function openSerialOutput(serial: ConsoleConfig, deps: SerialOutputDeps): Promise<SerialOutput | null> {
  switch (serial.mode) {
    case 'Tty':
      return { write: (bytes) => deps.tty.write(bytes), close: () => {} };
    case 'File': {
      const stream = createWriteStream(serial.file!, { flags: 'w' });
      stream.on('error', (e) => deps.log(`serial file: ${e.message}`));
      return {
        write: (bytes) => stream.write(bytes),
        close: () => {
          stream.end();
        },
      };
    }
    case 'Socket':
      return SerialSocketServer.open(serial.socket!, { input: deps.input, log: deps.log });
    case 'Pty':
      try {
        return SerialPty.open({ input: deps.input, log: deps.log });
      } catch (error) {
        throw new VmmError('internal', `serial pty: ${(error as Error).message}`, { cause: error });
      }
    default:
      return null;
  }
}
