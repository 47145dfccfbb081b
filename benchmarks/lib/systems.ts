// The systems under test, each as "run this guest with N exits as a process". All three boot the same
// PVH guest program with 64 MiB of RAM; QEMU's twin differs only in its last instruction (it ends
// through isa-debug-exit, as microvm has no ACPI sleep register at 0x600).
import { FLOOR, NODEVMM_CLI, guest, helper } from './paths.js';
import { runProcess, type ProcessRun } from './run-process.js';

export type ExitKind = 'pio' | 'mmio';
export type SystemName = 'floor' | 'qemu' | 'nodevmm' | 'nodevmm-lib';

export const MEMORY_MIB = 64;

/**
 * -cpu host and max fail on kvm_pvm (QEMU cannot set MSR 0x10a, IA32_ARCH_CAPABILITIES, and
 * asserts); without that one feature both run, there and on real KVM, and add no exits to the loop.
 */
export const QEMU_CPU = 'max,-arch-capabilities';
/** isa-debug-exit at 0xf4: the guest writes 0, QEMU exits with status (0 << 1) | 1 = 1 */
export const QEMU_EXIT_STATUS = 1;

export function qemuArgs(kernel: string, cmdline: string): string[] {
  return [
    '-M', 'microvm', '-accel', 'kvm', '-cpu', QEMU_CPU, '-m', String(MEMORY_MIB),
    '-nodefaults', '-no-user-config', '-nographic',
    '-kernel', kernel, '-append', cmdline,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ];
}

export interface Invocation {
  command: string;
  args: string[];
  expectedCode: number;
}

export function invocation(system: SystemName, kind: ExitKind, n: number): Invocation {
  const cmdline = String(n);
  switch (system) {
    case 'floor':
      return { command: FLOOR, args: [guest(kind), cmdline, String(MEMORY_MIB)], expectedCode: 0 };
    case 'qemu':
      return { command: 'qemu-system-x86_64', args: qemuArgs(guest(`${kind}-qemu`), cmdline), expectedCode: QEMU_EXIT_STATUS };
    case 'nodevmm':
      return {
        command: process.execPath,
        args: [NODEVMM_CLI, '--kernel', guest(kind), '--cmdline', cmdline, '--memory', `size=${MEMORY_MIB}M`],
        expectedCode: 0,
      };
    case 'nodevmm-lib':
      return { command: process.execPath, args: [helper('lib/boot-with-library.js'), guest(kind), cmdline], expectedCode: 0 };
  }
}

export interface SystemRun extends ProcessRun {
  /** the system's own clock around the guest's run, when it reports one (floor, nodevmm-lib), ns */
  innerNs?: number;
  /** the floor's CPU time over its KVM_RUN loop, ns */
  innerCpuNs?: number;
  /** nodevmm-lib: where the whole run's time went, ms */
  phasesMs?: Record<string, number>;
}

export async function runSystem(system: SystemName, kind: ExitKind, n: number): Promise<SystemRun> {
  const { command, args, expectedCode } = invocation(system, kind, n);
  const run: SystemRun = await runProcess(command, args);
  if (run.code !== expectedCode) {
    throw new Error(`${system} ${kind} N=${n}: exit status ${run.code} (expected ${expectedCode})\n${run.stderr.trim()}`);
  }
  if (system === 'floor') {
    const floor = JSON.parse(run.stdout) as { run_ns: number; run_cpu_ns: number };
    run.innerNs = floor.run_ns;
    run.innerCpuNs = floor.run_cpu_ns;
  }
  if (system === 'nodevmm-lib') {
    const lib = JSON.parse(run.stdout) as { bootToShutdownNs: number; phasesMs: Record<string, number> };
    run.innerNs = lib.bootToShutdownNs;
    run.phasesMs = lib.phasesMs;
  }
  return run;
}
