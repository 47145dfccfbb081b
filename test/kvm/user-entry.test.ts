// How guest *user* mode enters a 64-bit guest kernel on this KVM: guests/user-entry.S, a
// one-second PVH guest that sets up long mode, an IDT, a TSS and the system-call MSRs as Linux does,
// then runs user code that executes int $0x80, sysenter, syscall… and reports what arrived. The
// assertions pin down the kvm_pvm behaviour that shapes the Linux test's /init (docs/PLATFORM.md):
// it is why guests/linux/init.S calls the vDSO and copes with sysretl landing in 64-bit mode.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runVmm } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';

const onPvm = existsSync('/sys/module/kvm_pvm');
// The guest's vendor is the host's; on AMD, sysenter in long mode is #UD and the guest does not try it.
const onAmd = /^vendor_id\s*:\s*AuthenticAMD/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
const SYSENTER_TESTS = ['user32 sysenter', "user32 vDSO-style sysenter, kernel returns with sysretl (Linux's fast path)", 'user32 vDSO-style sysenter, sysretl, no SS reload'];

function buildGuest(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-user-entry-'));
  const source = join(ROOT, 'guests', 'user-entry.S');
  execFileSync('gcc', ['-c', '-nostdlib', '-o', join(dir, 'user-entry.o'), source]);
  execFileSync('ld', ['-m', 'elf_x86_64', '-nostdlib', '--no-warn-rwx-segments', '-T', join(ROOT, 'guests', 'pvh.ld'),
    '-o', join(dir, 'user-entry.elf'), join(dir, 'user-entry.o')]);
  return join(dir, 'user-entry.elf');
}

interface Arrival {
  /** the test's name as the guest prints it */
  name: string;
  /** everything after "name: " up to the end of the line, including the follow-up lines of the test */
  text: string;
}

/** The guest's "UE: <test>: <what arrived>" lines; a test's continuation lines ("UE:   (iretq…)") stay with it. */
function arrivals(stdout: string): Map<string, Arrival> {
  const result = new Map<string, Arrival>();
  let current: Arrival | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^UE: ([^:(][^:]*): (.*)$/.exec(line);
    if (m && !line.startsWith('UE:   ')) {
      current = { name: m[1], text: m[2] };
      result.set(m[1], current);
    } else if (current && line.trim() !== '' && !line.startsWith('UE: done')) {
      current.text += '\n' + line;
    }
  }
  return result;
}

const field = (text: string, name: string): string | undefined => new RegExp(`\\b${name}=([0-9a-f]+)`).exec(text)?.[1];

kvmTest('user-entry: what guest user mode reaches the guest kernel with (int $0x80, sysenter, syscall, sysretl)', async (t) => {
  const run = await runVmm(['--kernel', buildGuest()], 60_000);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /UE: done/);
  const a = arrivals(run.stdout);
  const get = (name: string): string => {
    const found = a.get(name);
    if (!found) throw new Error(`no report for "${name}" in:\n${run.stdout}`);
    return found.text;
  };

  // What every x86 host does: faults from 32-bit and 64-bit user mode arrive with their vector and frame.
  t.is(field(get('user32 ud2'), 'vector'), '6');
  t.is(field(get('user32 ud2'), 'cs'), '23');
  t.is(field(get('user32 hlt (#GP expected)'), 'vector'), 'd');
  t.is(field(get('user64 ud2'), 'vector'), '6');
  t.is(field(get('user64 ud2'), 'cs'), '33');
  t.is(field(get('user64 int3'), 'vector'), '3');
  if (onAmd && !onPvm) {
    // Real AMD virtualization (the nested-KVM box too): int $0x80 arrives through its DPL3 gate, and
    // the sysenter tests are reported as not run.
    t.is(field(get('user32 int $0x80'), 'vector'), '80');
    t.is(field(get('user64 int $0x80'), 'vector'), '80');
    for (const name of SYSENTER_TESTS) t.is(get(name), 'not run: sysenter is #UD in long mode on AMD CPUs');
    // syscall enters kernel mode at LSTAR from 64-bit code and at CSTAR from 32-bit code.
    t.regex(get('user64 syscall'), /^LSTAR entry .*handler-cs=10 /);
    t.regex(get('user32 syscall'), /^CSTAR entry .*handler-cs=10 /);
    return;
  }
  // On AMD (kvm_pvm on an AMD host too) the guest reports its sysenter tests as not run.
  const sysenter = onAmd ? null : get('user32 sysenter');
  if (sysenter === null) {
    for (const name of SYSENTER_TESTS) t.is(get(name), 'not run: sysenter is #UD in long mode on AMD CPUs');
  } else {
    // sysenter from 32-bit user mode reaches IA32_SYSENTER_EIP in kernel mode, and iretq goes back.
    t.regex(sysenter, /^SYSENTER_EIP entry .*handler-cs=10 eax=1\nUE:   \(iretq back to user\)\n\s+SYSENTER_EIP entry .*handler-cs=10 eax=2/);
    // The vDSO-style call (as guests/linux/init.S makes it) comes back to 32-bit user mode every time.
    const vsyscall = get(SYSENTER_TESTS[1]);
    for (const eax of [2, 3, 4]) t.regex(vsyscall, new RegExp(`user-cs-before-call=23 .*eax=${eax}\\b`));
  }

  if (!onPvm) {
    // Real Intel virtualization: int $0x80 arrives through its DPL3 gate, sysretl returns to 32-bit code.
    t.is(field(get('user32 int $0x80'), 'vector'), '80');
    t.is(field(get('user64 int $0x80'), 'vector'), '80');
    t.regex(sysenter!, /sysretl back to user\)\n\s+SYSENTER_EIP entry .*eax=3/);
    t.regex(get(SYSENTER_TESTS[2]), /user-cs-before-call=23 .*eax=2\b/);
    return;
  }
  // kvm_pvm: 32-bit user code is emulated (its loop costs ~100x the 64-bit one)…
  const cycles = (name: string): number => parseInt(field(get(name), 'tsc-delta') ?? '0', 16);
  t.true(cycles('user32 loop of 1M dec/jnz, then ud2') > 20 * cycles('user64 loop of 1M dec/jnz, then ud2'));
  // …by an emulator that cannot execute `int n` in protected mode: #UD at the instruction, from either mode.
  for (const name of ['user32 int3', 'user32 int $0x80', 'user32 int $0x81 (DPL3 gate)', 'user64 int $0x80']) {
    t.is(field(get(name), 'vector'), '6', `${name}: ${get(name)}`);
    t.is(field(get(name), 'handler-cs'), '10');
  }
  // 64-bit syscall jumps to LSTAR but stays in user mode: the first privileged instruction there is a
  // #GP taken from CS 0x33.
  const syscall64 = get('user64 syscall');
  t.is(field(syscall64, 'vector'), 'd', syscall64);
  t.is(field(syscall64, 'cs'), '33');
  if (sysenter === null) return;
  // sysretl lands in 64-bit mode (CS 0x33) instead of 32-bit mode…
  t.regex(sysenter, /sysretl back to user\)\n\s+vector=6 .*cs=33 /);
  // …and leaves the kernel's NULL SS in the emulator's segment cache: back in 32-bit mode without
  // loading SS again, the first stack access raises #SS (vector 0xc).
  const nofix = get('user32 vDSO-style sysenter, sysretl, no SS reload');
  t.regex(nofix, /sysretl back to user\)\n\s+vector=c .*cs=23 /, nofix);
});
