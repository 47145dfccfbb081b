// Runs inside the box: ava once per test file, in order, each file's end marked on standard output
// (`nodevmm-test: done STATUS FILE`). If the box freezes (docs/DECISIONS.md, "The box's freeze"), the
// runner outside knows which files finished and starts a new box for the rest (scripts/test/box-run.ts).
// Usage: node each-file.js [AVA ARGS...] -- FILE...
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../box/repo.js';

export const DONE_MARKER = 'nodevmm-test: done';

function runAva(args: readonly string[]): Promise<number> {
  const ava = join(repoRoot(), 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ava, ...args], { stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  if (split < 0 || split === argv.length - 1) {
    process.stderr.write('usage: each-file.js [AVA ARGS...] -- FILE...\n');
    return 2;
  }
  const avaArgs = argv.slice(0, split);
  let worst = 0;
  for (const file of argv.slice(split + 1)) {
    const status = await runAva([...avaArgs, file]);
    process.stdout.write(`${DONE_MARKER} ${status} ${file}\n`);
    if (worst === 0) worst = status;
  }
  return worst;
}

if (process.argv[1]?.endsWith('each-file.js')) process.exitCode = await main(process.argv.slice(2));
