// `npm test` and `npm run test:linux`: the unit tests on this machine, and the tests that run real
// guests where real KVM is: natively when /dev/kvm opens here, else inside the nested-KVM box
// (scripts/box/). Skipping the guest tests takes NODEVMM_SKIP_KVM_TESTS=1, and is announced.
import { existsSync } from 'node:fs';
import { expandPattern, runFilesInBox } from './box-run.js';
import { AVA_CLI, runAva } from './ava.js';
import { kvmProblem } from '../../src/kvm/availability.js';
import { detectPlatformQuirks } from '../../src/vm/quirks.js';
import { suiteFor, SKIP_VARIABLE, type Suite } from './suites.js';

const UNIT_LIMIT_SECONDS = 10 * 60;

function banner(lines: string[]): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n${lines.map((l) => `!! ${l}`).join('\n')}\n${bar}\n\n`);
}

/** NODEVMM_TEST_IN_BOX=1 runs the guest tests in the box even where /dev/kvm works: CI's path, checked from a KVM host. */
const FORCE_BOX_VARIABLE = 'NODEVMM_TEST_IN_BOX';
/** NODEVMM_TEST_NATIVE=1 runs a suite that needs hardware virtualization natively on kvm_pvm all the same. */
const FORCE_NATIVE_VARIABLE = 'NODEVMM_TEST_NATIVE';

/** Why the guest tests cannot run natively here, or null when they can. */
function nativeProblem(suite: Suite): string | null {
  if (process.env[FORCE_BOX_VARIABLE] === '1') return `${FORCE_BOX_VARIABLE}=1`;
  const problem = kvmProblem();
  if (problem !== null) return problem;
  const quirks = detectPlatformQuirks();
  if (suite.needsHardwareVirtualization && quirks !== null && process.env[FORCE_NATIVE_VARIABLE] !== '1') {
    return `/dev/kvm is ${quirks.platform}, which emulates guest kernel code (minutes per Linux boot) and cannot run 64-bit user mode (docs/PLATFORM.md); ${FORCE_NATIVE_VARIABLE}=1 runs them here anyway`;
  }
  return null;
}

async function runGuestTests(suite: Suite): Promise<number> {
  const problem = nativeProblem(suite);
  if (process.env[SKIP_VARIABLE] === '1') {
    banner([`${SKIP_VARIABLE}=1: the tests that run real guests are NOT run:`, ...suite.guestFiles.map((f) => `  ${f}`)]);
    // ava lists each of them as skipped (test/helpers/kvm-test.ts), so the count is on record.
    return runAva([...suite.avaArgs, ...suite.guestFiles], suite.boxTimeoutSeconds);
  }
  if (problem === null) {
    process.stderr.write(`${suite.name}: /dev/kvm is usable: the guest tests run natively\n`);
    return runAva([...suite.avaArgs, ...suite.guestFiles], suite.boxTimeoutSeconds);
  }
  process.stderr.write(`${suite.name}: ${problem}\n${suite.name}: so the guest tests run inside the nested-KVM box (scripts/box/README.md)\n`);
  const files = suite.guestFiles.flatMap((pattern) => expandPattern(pattern));
  const result = await runFilesInBox(suite.name, [...suite.avaArgs, ...suite.boxAvaArgs], files, suite.boxTimeoutSeconds);
  if (result.freezes.length > 0) {
    banner([`The box faulted ${result.freezes.length} time(s) (its kernel froze or stalled under QEMU's TCG; docs/DECISIONS.md, "The box's freeze"):`, ...result.freezes.map((f) => `  ${f}`)]);
  }
  return result.status;
}

async function main(): Promise<number> {
  const suite = suiteFor(process.argv[2] ?? 'default');
  if (!existsSync(AVA_CLI)) throw new Error(`${AVA_CLI} is missing: run npm install`);
  const started = Date.now();
  let unitStatus = 0;
  if (suite.unitFiles.length > 0) {
    unitStatus = await runAva([...suite.avaArgs, ...suite.unitFiles], UNIT_LIMIT_SECONDS);
    process.stderr.write(`${suite.name}: unit tests ${unitStatus === 0 ? 'passed' : `FAILED (status ${unitStatus})`} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  const guestStarted = Date.now();
  const guestStatus = await runGuestTests(suite);
  process.stderr.write(`${suite.name}: guest tests ${guestStatus === 0 ? 'passed' : `FAILED (status ${guestStatus})`} in ${((Date.now() - guestStarted) / 1000).toFixed(0)} s\n`);
  return unitStatus !== 0 ? unitStatus : guestStatus;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`test: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
