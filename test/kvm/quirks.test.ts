// The platform quirks profile: instruction completion for int3 / int n on kvm_pvm, and switching it off.
import test from 'ava';
import { existsSync } from 'node:fs';
import { guestPath, runVmm } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';
import { detectPlatformQuirks, PVM_QUIRKS } from '../../src/vm/quirks.js';

const onPvm = existsSync('/sys/module/kvm_pvm');

test('the profile is detected from /sys/module/kvm_pvm and only there', (t) => {
  t.is(detectPlatformQuirks(), onPvm ? PVM_QUIRKS : null);
  t.is(detectPlatformQuirks('/nonexistent'), null);
});

kvmTest('int3 and int $0x80 in guest kernel mode run to completion with the profile on', async (t) => {
  const run = await runVmm(['--kernel', guestPath('int-completion'), '-v']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /int3 handled\nint 0x80 handled\ninterrupts done/);
  if (onPvm) t.regex(run.stderr, /platform quirks: kvm_pvm/);
});

kvmTest('with --quirks off the emulator gap is a fatal exit that says where (on kvm_pvm)', async (t) => {
  const run = await runVmm(['--kernel', guestPath('int-completion'), '--quirks', 'off']);
  if (!onPvm) {
    // Real hardware virtualization runs these instructions itself.
    t.is(run.code, 0, run.stderr);
    return;
  }
  t.is(run.code, 1);
  t.regex(run.stderr, /fatal: vCPU 0: KVM internal error, suberror 1 \(emulation failure\) at RIP 0x[0-9a-f]+, instruction bytes cc cd 80/);
  t.notRegex(run.stdout, /int3 handled/);
});
