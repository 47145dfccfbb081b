// Paths and process helpers shared by the tests.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { scaled } from './timing.js';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'binding.gyp'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('project root not found');
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot();
export const NODEVMM_BIN = join(ROOT, 'bin', 'nodevmm.js');

export function guestPath(name: string): string {
  const path = join(ROOT, 'dist', 'guests', `${name}.elf`);
  if (!existsSync(path)) throw new Error(`test guest ${path} missing: run npm run build:guests`);
  return path;
}

export interface RunningVmm {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** resolves when stdout has matched `pattern` `times` times */
  waitForOutput(pattern: string | RegExp, times?: number, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** 'pipe' gives the child a pipe on stdin (child.stdin), for serial input; the default is none */
  stdin?: 'pipe' | 'ignore';
  /** a command that execs the VMM (e.g. `ip netns exec NS`), so that the child is the VMM itself */
  prefix?: string[];
}

export function startVmm(args: string[], options: StartOptions = {}): RunningVmm {
  const started = Date.now();
  const [program, ...programArgs] = [...(options.prefix ?? []), process.execPath, NODEVMM_BIN, ...args];
  const child = spawn(program, programArgs, { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('latin1');
    listeners.forEach((l) => l());
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('latin1')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput(pattern, times = 1, timeoutMs = 20_000) {
      const count = (): number => {
        if (typeof pattern === 'string') return out.split(pattern).length - 1;
        return (out.match(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g')) ?? []).length;
      };
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (count() >= times) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${times}× ${pattern} in stdout:\n${out}\nstderr:\n${err}`));
        }, scaled(timeoutMs));
        void exited.then(() => {
          setImmediate(() => {
            if (count() < times) {
              cleanup();
              reject(new Error(`nodevmm exited before ${times}× ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
            }
          });
        });
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs nodevmm to completion (with a deadline) and returns what it printed. */
export async function runVmm(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const vmm = startVmm(args);
  const timer = setTimeout(() => vmm.child.kill('SIGKILL'), scaled(timeoutMs));
  const { code, ms } = await vmm.exited;
  clearTimeout(timer);
  return { code, stdout: vmm.stdout(), stderr: vmm.stderr(), ms };
}

/**
 * Parses an event-monitor file: JSON objects, each followed by a blank line.
 * The VMM may be mid-write while a test polls, so a last record not yet ended
 * by its blank line is left for the next read; every ended record must parse.
 */
export function readEvents(path: string): Array<{ source: string; event: string; properties: Record<string, string> | null; timestamp: { secs: number; nanos: number } }> {
  if (!existsSync(path)) return [];
  const chunks = readFileSync(path, 'utf8').split(/\n\n+/);
  chunks.pop(); // empty when the file ends a record, else a record still being written
  return chunks.filter((chunk) => chunk.trim() !== '').map((chunk) => JSON.parse(chunk));
}

export function eventNames(path: string): string[] {
  return readEvents(path).map((e) => `${e.source}/${e.event}`);
}

/** Polls `condition` until it holds; `timeoutMs` is scaled for the box (test/helpers/timing.ts). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + scaled(timeoutMs);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
