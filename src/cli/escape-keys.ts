// QEMU-style escape keys on the serial terminal: Ctrl-A followed by a letter controls the VMM instead
// of reaching the guest. A pure byte parser, so an escape split across two reads still works.

export const ESCAPE_BYTE = 0x01; // Ctrl-A

export type TerminalAction =
  | { kind: 'input'; bytes: Uint8Array }
  | { kind: 'quit' }
  | { kind: 'power-button' }
  | { kind: 'help' };

/** The keys after Ctrl-A, for --help and for Ctrl-A h. */
export const ESCAPE_KEYS: ReadonlyArray<{ keys: string; action: string }> = [
  { keys: 'Ctrl-A x', action: 'quit: shut the VMM down in order (exit status 0)' },
  { keys: 'Ctrl-A p', action: 'press the ACPI power button' },
  { keys: 'Ctrl-A h', action: 'list these keys' },
  { keys: 'Ctrl-A Ctrl-A', action: 'send one Ctrl-A to the guest' },
];

const COMMANDS: Record<number, TerminalAction['kind']> = {
  [0x78]: 'quit', // x
  [0x58]: 'quit', // X
  [0x70]: 'power-button', // p
  [0x68]: 'help', // h
  [0x3f]: 'help', // ?
};

export class EscapeKeys {
  private escaped = false;

  /** Splits typed bytes into guest input and VMM commands, in order. Unknown keys after Ctrl-A are dropped. */
  feed(bytes: Uint8Array): TerminalAction[] {
    const actions: TerminalAction[] = [];
    let start = 0; // first byte of the guest input run being collected
    const flushInput = (end: number): void => {
      if (end > start) actions.push({ kind: 'input', bytes: bytes.subarray(start, end) });
    };
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (this.escaped) {
        this.escaped = false;
        start = i + 1;
        if (byte === ESCAPE_BYTE) start = i; // Ctrl-A Ctrl-A: the second one is input
        else if (COMMANDS[byte]) actions.push({ kind: COMMANDS[byte] } as TerminalAction);
      } else if (byte === ESCAPE_BYTE) {
        flushInput(i);
        this.escaped = true;
      }
    }
    if (!this.escaped) flushInput(bytes.length);
    return actions;
  }
}

export function escapeKeysHelp(indent = '  ', width = 25, newline = '\n'): string {
  return ESCAPE_KEYS.map(({ keys, action }) => `${indent}${keys.padEnd(width)}${action}${newline}`).join('');
}
