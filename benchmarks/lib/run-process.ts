// Runs a command under benchmarks/build/measure-run (benchmarks/tools/measure-run.c), which reports the
// child's wall time (fork -> wait4), CPU time (user + system, all threads) and peak RSS, measured the
// same way for every system under test.
import { spawn } from 'node:child_process';
import { MEASURE_RUN } from './paths.js';

export interface ProcessRun {
  /** fork -> wait4, ns */
  wallNs: number;
  /** user + system CPU time of all the child's threads, ns (µs resolution) */
  cpuNs: number;
  /** peak resident set, KiB */
  maxRssKib: number;
  /** CLOCK_MONOTONIC ns when the child had exited (process.hrtime's clock) */
  exitedAtNs: bigint;
  code: number;
  stdout: string;
  stderr: string;
}

const MARK = '@@measure-run ';

export function runProcess(command: string, args: readonly string[], timeoutMs = 300_000): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(MEASURE_RUN, [command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const at = stderr.lastIndexOf(MARK);
      if (at < 0) return reject(new Error(`${command}: no measurement (killed?)\n${stderr.trim()}`));
      const fields = Object.fromEntries(
        stderr.slice(at + MARK.length).trim().split(' ').map((kv) => kv.split('=') as [string, string]),
      );
      resolve({
        wallNs: Number(fields.wall_ns),
        cpuNs: (Number(fields.user_us) + Number(fields.sys_us)) * 1000,
        maxRssKib: Number(fields.maxrss_kib),
        exitedAtNs: BigInt(fields.exited_at_ns),
        code: Number(fields.status),
        stdout,
        stderr: stderr.slice(0, at),
      });
    });
  });
}
