// A VMM process whose guest prints "count XXXXXXXX" lines on its serial port (the counter and
// memcheck guests), with the moment each line reached us. Two processes that run the same guest one
// after the other (a migration's source and destination, a snapshot and its restore) show when the
// guest stopped and started again, the same way for every VMM: downtime as the guest's user sees it.
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface CountLine {
  count: number;
  /** performance.now() when the line arrived */
  at: number;
}

export interface WatchedProcess {
  child: ChildProcess;
  counts: CountLine[];
  /** what followed the last count line (with "MISMATCH" first if the guest reported one) */
  output: () => string;
  /** the first bytes the guest printed */
  head: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** resolves with the first count line that satisfies `accept`, or rejects after `timeoutMs` */
  countWhere: (accept: (line: CountLine) => boolean, timeoutMs: number, what: string) => Promise<CountLine>;
  kill: () => Promise<void>;
}

const COUNT = /count ([0-9a-f]{8})\n/g;
/** what is kept of a guest's output for error messages and the MISMATCH check */
const KEEP = 64 * 1024;

export function watchCounts(command: string, args: string[]): WatchedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const counts: CountLine[] = [];
  let tail = '';
  let stderr = '';
  let mismatch = false;
  let head = '';
  child.stdout!.setEncoding('latin1').on('data', (text: string) => {
    const at = performance.now();
    if (head.length < 256) head += text.slice(0, 256 - head.length);
    const joined = tail + text;
    let end = 0;
    for (const m of joined.matchAll(COUNT)) {
      counts.push({ count: parseInt(m[1], 16), at });
      end = m.index! + m[0].length;
    }
    if (joined.includes('MISMATCH')) mismatch = true;
    tail = joined.slice(Math.max(end, joined.length - KEEP));
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-KEEP)));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const output = () => (mismatch ? 'MISMATCH\n' : '') + tail;
  return {
    child,
    counts,
    output,
    head: () => head,
    stderr: () => stderr,
    exited,
    async countWhere(accept, timeoutMs, what) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = counts.find(accept);
        if (found) return found;
        if (mismatch) throw new Error(`${what}: the guest reported a memory MISMATCH`);
        if (child.exitCode !== null) throw new Error(`${what}: ${command} exited with ${child.exitCode}\n${stderr.trim()}`);
        if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${stderr.trim()}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
