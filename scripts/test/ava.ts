// Running ava's CLI as a child, for the test runner on the host and for each-file.ts in the box.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../box/repo.js';

export const AVA_CLI = join(repoRoot(), 'node_modules', 'ava', 'entrypoints', 'cli.mjs');

/**
 * Runs ava with `args` in the repository and resolves with its status. Past `limitSeconds`, if given,
 * it is killed and the run fails, so a hung guest cannot eat CI's budget.
 */
export function runAva(args: readonly string[], limitSeconds?: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AVA_CLI, ...args], { cwd: repoRoot(), stdio: 'inherit' });
    const timer =
      limitSeconds === undefined
        ? undefined
        : setTimeout(() => {
            process.stderr.write(`test: FAILED: ava did not finish within ${limitSeconds} s; killed\n`);
            child.kill('SIGKILL');
          }, limitSeconds * 1000);
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}
