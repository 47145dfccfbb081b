// `node dist/scripts/where-kvm.js COMMAND [ARGS...]`: runs COMMAND where real KVM is. With a usable
// /dev/kvm that is here; without one, after a one-line notice naming why, inside the nested-KVM box
// (scripts/box/). `npm start` and `npm run bench` go through it; the CLI and the library never do.
import { spawn } from 'node:child_process';
import { kvmProblem } from '../src/kvm/availability.js';
import { runInBox } from './box/box.js';

function runHere(command: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
    child.on('error', (error) => {
      process.stderr.write(`cannot run ${command[0]}: ${error.message}\n`);
      resolve(127);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 143)));
  });
}

async function main(command: string[]): Promise<number> {
  if (command.length === 0) {
    process.stderr.write('usage: node dist/scripts/where-kvm.js COMMAND [ARGS...]\n');
    return 2;
  }
  const problem = kvmProblem();
  if (problem === null) return runHere(command);
  process.stderr.write(`nodevmm: ${problem}: running in the nested-KVM box instead (QEMU TCG; ~20 s to start; scripts/box/README.md)\n`);
  return (await runInBox({ command, quiet: true, timeoutSeconds: 3 * 3600 })).status;
}

process.exitCode = await main(process.argv.slice(2));
