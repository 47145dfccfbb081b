// Tests that run real guests. Where /dev/kvm is unusable they FAIL with the reason, so that a run
// without KVM can never pass by skipping them; `npm test` runs them in the nested-KVM box there
// (scripts/test/run.ts). NODEVMM_SKIP_KVM_TESTS=1 skips them instead, and ava lists each as skipped.
import test from 'ava';
import { kvmProblem } from '../../src/kvm/availability.js';
import { SKIP_VARIABLE } from './opt-out.js';

const problem = kvmProblem();
const optedOut = process.env[SKIP_VARIABLE] === '1';

/** Stands in for a guest test where KVM is missing: fails, naming why and what to do. */
function failing(serial: boolean): typeof test.skip {
  const register = serial ? test.serial : test;
  return ((title: string) =>
    register(title, (t) => {
      t.fail(`needs KVM: ${problem}. Run it with \`npm test\` (which uses the nested-KVM box), or set ${SKIP_VARIABLE}=1 to skip it.`);
    })) as unknown as typeof test.skip;
}

function pick(serial: boolean): typeof test.skip {
  if (problem === null && !optedOut) return (serial ? test.serial : test) as typeof test.skip;
  if (optedOut) return serial ? test.serial.skip : test.skip;
  return failing(serial);
}

export const kvmTest = pick(false);
export const kvmSerialTest = pick(true);
