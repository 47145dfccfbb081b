// Where things are. The compiled benchmarks may run from dist/ or from a snapshot of it
// (.cache/bench/, made by benchmarks/setup.sh so that a rebuild by someone else mid-run cannot
// change what is measured), so two roots: the compiled tree this file is in, and the repository.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

/** the compiled tree: .../dist, with src/ and benchmarks/ inside */
export const COMPILED = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function findRepository(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'benchmarks', 'build.sh'))) return dir;
  }
  throw new Error(`benchmarks: no nodevmm checkout above ${from}`);
}

export const ROOT = findRepository(COMPILED);
export const BENCH_BUILD = join(ROOT, 'benchmarks', 'build');
export const FLOOR = join(BENCH_BUILD, 'kvm-floor');
export const MEASURE_RUN = join(BENCH_BUILD, 'measure-run');
export const RESULTS = join(ROOT, 'benchmarks', 'results');
/** compiled helper scripts run as child processes (from the same compiled tree) */
export const helper = (name: string): string => join(COMPILED, 'benchmarks', name);
/** bin/nodevmm.js's two lines, compiled alongside, so the CLI runs the same compiled tree */
export const NODEVMM_CLI = helper('lib/nodevmm-cli.js');
export const guest = (name: string): string => join(BENCH_BUILD, `${name}.elf`);
/** the project's own test guests (scripts/build-guests.sh), from the same compiled tree */
export const testGuest = (name: string): string => join(COMPILED, 'guests', `${name}.elf`);
