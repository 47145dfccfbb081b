// The guest tests in the nested-KVM box, one ava per file (each-file.ts). A box whose own kernel
// stops making progress (its CPUs freeze, or it reports a lockup or stall: QEMU's TCG, not the tests;
// docs/DECISIONS.md, "The box's freeze") is stopped by its watch; a new box then runs the file it
// faulted in and those after it, at most MAX_FREEZES times, and every fault is reported. A test that
// fails is never run again.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BoxStatus, runInBox } from '../box/box.js';
import { repoRoot } from '../box/repo.js';
import { DONE_MARKER } from './each-file.js';

export const MAX_FREEZES = 2;

/** The files a `DIR/**\/*.SUFFIX` pattern names, sorted; a plain path stands for itself. */
export function expandPattern(pattern: string, root = repoRoot()): string[] {
  const match = /^(.*)\/\*\*\/\*(\.[\w.]+)$/.exec(pattern);
  if (!match) return [pattern];
  const [, dir, suffix] = match;
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative)).sort()) {
      const path = `${relative}/${name}`;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith(suffix)) found.push(path);
    }
  };
  walk(dir);
  return found;
}

/** Passes the box's output on and records each DONE_MARKER line. */
export class DoneTracker extends Writable {
  readonly done = new Map<string, number>();
  private partial = '';
  constructor(private readonly out: NodeJS.WritableStream) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.out.write(chunk);
    const lines = (this.partial + chunk.toString('latin1')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = new RegExp(`^${DONE_MARKER} (\\d+) (.+?)\\r?$`).exec(line);
      if (m) this.done.set(m[2], Number(m[1]));
    }
    callback();
  }
}

export interface BoxRunResult {
  status: number;
  /** one line per freeze: where and what the monitor said */
  freezes: string[];
}

export async function runFilesInBox(name: string, avaArgs: readonly string[], files: readonly string[], limitSeconds: number): Promise<BoxRunResult> {
  const eachFile = join(repoRoot(), 'dist', 'scripts', 'test', 'each-file.js');
  const deadline = Date.now() + limitSeconds * 1000;
  const statuses = new Map<string, number>();
  const freezes: string[] = [];
  let remaining = [...files];
  for (;;) {
    const tracker = new DoneTracker(process.stdout);
    const result = await runInBox({
      command: [process.execPath, eachFile, ...avaArgs, '--', ...remaining],
      cwd: repoRoot(),
      output: tracker,
      timeoutSeconds: Math.max(1, Math.round((deadline - Date.now()) / 1000)),
    });
    for (const [file, status] of tracker.done) statuses.set(file, status);
    remaining = remaining.filter((file) => !statuses.has(file));
    if (result.status !== BoxStatus.FAULTED || remaining.length === 0) {
      const failed = files.filter((file) => (statuses.get(file) ?? 1) !== 0);
      if (result.status === BoxStatus.TIMED_OUT || result.status === BoxStatus.BOX_FAILED) {
        process.stderr.write(`${name}: FAILED: the box did not finish the guest tests: ${result.failure}\n`);
      }
      if (failed.length > 0) process.stderr.write(`${name}: files that failed or did not finish:\n${failed.map((f) => `  ${f}`).join('\n')}\n`);
      return { status: failed.length > 0 ? result.status || 1 : result.status, freezes };
    }
    freezes.push(`in ${remaining[0]}: ${result.failure}`);
    if (freezes.length > MAX_FREEZES) {
      process.stderr.write(`${name}: FAILED: the box faulted ${freezes.length} times; not trying again\n`);
      return { status: BoxStatus.FAULTED, freezes };
    }
    process.stderr.write(`${name}: the box faulted in ${remaining[0]} (fault ${freezes.length} of at most ${MAX_FREEZES}); a new box runs it and the ${remaining.length - 1} files after it\n`);
  }
}
