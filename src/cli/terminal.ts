// Serial mode Tty, input side: the VMM's stdin feeds the guest's serial port while a VM with serial Tty
// boots or runs. A terminal is put in raw mode for that time (keys, Ctrl-C included, reach the guest;
// Ctrl-A escapes control the VMM; libuv's raw mode keeps the output's \n → \r\n) and restored when
// the VM stops, when the VMM ends, and on any process exit (fatal paths end in process.exit). A pipe
// or file is forwarded byte for byte, without escape keys; its end just stops the input. Reading
// pauses while the guest has not taken the bytes already read, so a large input waits in the pipe
// rather than in memory.
import type { Subscription } from 'rxjs';
import type { Vmm } from '../api/vmm.js';
import { EscapeKeys, escapeKeysHelp, type TerminalAction } from './escape-keys.js';
import type { ServiceStarter } from './service.js';

export interface TerminalInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

export interface SerialTerminalOptions {
  input: TerminalInput;
  /** where the escape keys' messages go (stderr) */
  messages: NodeJS.WritableStream;
  log(message: string): void;
}

/** What the terminal needs of the VMM. */
export type TerminalVmm = Pick<Vmm, 'events$' | 'state$' | 'vmState' | 'info' | 'writeSerial' | 'shutdown' | 'powerButton' | 'exited'>;

export interface SerialTerminal {
  /** Stops reading and restores the terminal. Idempotent. */
  detach(): void;
}

export function attachSerialTerminal(vmm: TerminalVmm, options: SerialTerminalOptions): SerialTerminal {
  const { input, messages, log } = options;
  const isTerminal = input.isTTY === true && typeof input.setRawMode === 'function';
  const keys = isTerminal ? new EscapeKeys() : null;
  let active = false;
  let listening = false;
  let ended = false;
  let inFlight = 0;
  let raw = false;

  const setRaw = (on: boolean): void => {
    if (!isTerminal || raw === on) return;
    raw = on;
    try {
      input.setRawMode!(on);
    } catch (error) {
      log(`terminal: cannot ${on ? 'enter' : 'leave'} raw mode: ${(error as Error).message}`);
    }
    if (on) process.on('exit', restore);
    else process.off('exit', restore);
  };
  const restore = (): void => setRaw(false);

  const forward = (bytes: Uint8Array): void => {
    inFlight++;
    input.pause();
    vmm
      .writeSerial(bytes)
      .catch((error: Error) => log(`serial input dropped: ${error.message}`))
      .finally(() => {
        if (--inFlight === 0 && active && !ended) input.resume();
      });
  };

  const perform = (action: TerminalAction): void => {
    switch (action.kind) {
      case 'input':
        forward(action.bytes);
        return;
      case 'quit':
        messages.write('\nnodevmm: Ctrl-A x: shutting down\n');
        void vmm.shutdown('api');
        return;
      case 'power-button':
        messages.write('\nnodevmm: Ctrl-A p: power button pressed\n');
        vmm.powerButton().catch((error: Error) => messages.write(`nodevmm: power button: ${error.message}\n`));
        return;
      case 'help':
        messages.write(`\nnodevmm escape keys:\n${escapeKeysHelp('  ', 16)}`);
        return;
    }
  };

  const onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    if (!keys) return forward(bytes);
    for (const action of keys.feed(bytes)) perform(action);
  };
  const onEnd = (): void => {
    ended = true;
    log('serial input: stdin ended');
  };
  const onError = (error: Error): void => log(`serial input: stdin: ${error.message}`);

  const activate = (): void => {
    if (active) return;
    active = true;
    setRaw(true);
    if (!listening) {
      listening = true;
      input.on('data', onData);
      input.on('end', onEnd);
      input.on('error', onError);
    }
    if (inFlight === 0 && !ended) input.resume();
  };
  const deactivate = (): void => {
    if (!active) return;
    active = false;
    input.pause();
    setRaw(false);
  };

  const servesTty = (): boolean => {
    try {
      return vmm.info().config.serial.mode === 'Tty';
    } catch {
      return false; // no VM config
    }
  };

  // events$ replays its history on subscribe: only what happens from now on counts.
  let attached = false;
  const subscriptions: Subscription[] = [
    vmm.events$.subscribe((event) => {
      if (attached && event.source === 'vm' && event.event === 'booting' && servesTty()) activate();
    }),
    vmm.state$.subscribe((state) => {
      if (!attached) return;
      if (state === 'Running' || state === 'Paused') {
        if (servesTty()) activate();
      } else {
        deactivate();
      }
    }),
  ];
  attached = true;
  if ((vmm.vmState === 'Running' || vmm.vmState === 'Paused') && servesTty()) activate();

  const detach = (): void => {
    subscriptions.forEach((s) => s.unsubscribe());
    deactivate();
    if (listening) {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      listening = false;
    }
  };
  void vmm.exited.then(detach);
  return { detach };
}

/** The runner's service: its own stdin as the serial terminal of any VM with serial Tty. */
export const serialTerminalService: ServiceStarter = async (vmm, _options, log) => {
  const terminal = attachSerialTerminal(vmm, { input: process.stdin, messages: process.stderr, log });
  return async () => terminal.detach();
};
