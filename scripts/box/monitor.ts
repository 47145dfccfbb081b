// The box's QEMU monitor (HMP on a Unix socket beside the job): when the box freezes, its vCPUs'
// registers are the only account of where they are, so the runner asks for them before it stops QEMU.
import { createConnection } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';

/** QEMU's -monitor argument for a socket at `path`. */
export function monitorArgs(path: string): string[] {
  return ['-monitor', `unix:${path},server=on,wait=off`];
}

/** Sends HMP `commands` and returns what QEMU printed within `waitMs`, or why it could not. */
export function askMonitor(path: string, commands: readonly string[], waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(path);
    const finish = (): void => {
      socket.destroy();
      // HMP echoes with terminal escapes; keep the text.
      resolve(text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, ''));
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('connect', () => socket.write(commands.map((c) => `${c}\n`).join('')));
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', (error) => {
      clearTimeout(timer);
      text += `\n(monitor: ${error.message})`;
      finish();
    });
  });
}

interface KernelSymbol {
  address: bigint;
  name: string;
}

/** Text symbols from a kallsyms file (`ADDRESS t NAME [MODULE]`). */
function readSymbols(kallsyms: string): KernelSymbol[] {
  if (!existsSync(kallsyms)) return [];
  return readFileSync(kallsyms, 'latin1')
    .split('\n')
    .map((line) => line.split(/\s+/))
    .filter((f) => f.length >= 3 && /^[tT]$/.test(f[1]))
    .map((f) => ({ address: BigInt(`0x${f[0]}`), name: f[3] ? `${f[2]} ${f[3]}` : f[2] }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Each vCPU's RIP from `info registers -a`, named from kallsyms where it falls in kernel text. */
export function describeRips(registers: string, kallsyms: string): string[] {
  const symbols = readSymbols(kallsyms);
  const name = (rip: bigint): string => {
    let lo = 0;
    let hi = symbols.length - 1;
    let found: KernelSymbol | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (symbols[mid].address <= rip) {
        found = symbols[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Beyond the kernel's own text (a module, user space, a guest): the address is all there is.
    if (!found || rip - found.address > 0x10000n) return '';
    return ` (${found.name}+0x${(rip - found.address).toString(16)})`;
  };
  return [...registers.matchAll(/RIP=([0-9a-f]{16})[^\n]*?CPL=(\d)/g)].map((m, cpu) => {
    const rip = BigInt(`0x${m[1]}`);
    return `vCPU ${cpu}: RIP=${m[1]} CPL=${m[2]}${name(rip)}`;
  });
}
