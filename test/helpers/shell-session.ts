// Commands typed into a guest's busybox shell on the VMM's serial console, each answered by the text
// it printed. The shell echoes (and wraps) what is typed, so the answer is framed by two markers the
// shell computes (`$((n+0))`): the typed line never contains the markers it prints.
import type { RunningVmm } from './project.js';

export class ShellSession {
  private asked = 0;

  constructor(private readonly vmm: RunningVmm) {}

  /** Types `command` and resolves with its output (CRs removed, trimmed). */
  async ask(command: string, timeoutMs = 120_000): Promise<string> {
    const n = ++this.asked;
    const from = this.vmm.stdout().length;
    // a command sent to the background ends in `&`, which takes no `;` after it
    const joined = command.trimEnd().endsWith('&') ? `${command} ` : `${command}; `;
    this.vmm.child.stdin!.write(`echo "@@$((${n}+0))<"; ${joined}echo "@@$((${n}+0))>"\n`);
    const [open, close] = [`@@${n}<`, `@@${n}>`];
    await this.vmm.waitForOutput(close, 1, timeoutMs);
    const text = this.vmm.stdout().slice(from);
    const start = text.indexOf(open) + open.length;
    return text.slice(start, text.indexOf(close, start)).replace(/\r/g, '').trim();
  }

  /** Types a line and waits for nothing (poweroff, reboot). */
  type(line: string): void {
    this.vmm.child.stdin!.write(`${line}\n`);
  }
}
