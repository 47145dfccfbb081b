// Runs inside the box: ava once per test file, in order, each file's end marked on standard output
// (`nodevmm-test: done STATUS FILE`). If the box freezes (docs/DECISIONS.md, "The box's freeze"), the
// runner outside knows which files finished and starts a new box for the rest (scripts/test/box-run.ts).
// Usage: node each-file.js [AVA ARGS...] -- FILE...
import { runAva } from './ava.js';

export const DONE_MARKER = 'nodevmm-test: done';

async function main(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  if (split < 0 || split === argv.length - 1) {
    process.stderr.write('usage: each-file.js [AVA ARGS...] -- FILE...\n');
    return 2;
  }
  const avaArgs = argv.slice(0, split);
  let firstFailure = 0;
  for (const file of argv.slice(split + 1)) {
    const status = await runAva([...avaArgs, file]);
    process.stdout.write(`${DONE_MARKER} ${status} ${file}\n`);
    if (firstFailure === 0) firstFailure = status;
  }
  return firstFailure;
}

if (process.argv[1]?.endsWith('each-file.js')) process.exitCode = await main(process.argv.slice(2));
