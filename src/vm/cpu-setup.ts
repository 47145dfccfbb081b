// A vCPU's state before it first runs: CPUID, FPU, MSRs, local APIC wiring, and (for the boot vCPU)
// the registers the payload's entry protocol asks for. Runs in the vCPU's own worker thread.
import type { NativeVcpu } from '../kvm/native.js';
import { getSregs, setFpuDefaults, setMsrs, setRegs, setSregs, wireLocalApic, type KvmRegs, type KvmSregs } from '../kvm/vcpu-ops.js';
import { pvhCpuState } from '../boot/pvh.js';
import { longModeCpuState } from '../boot/long-mode.js';

/** How the boot vCPU enters the payload. */
export type BootCpuState =
  | { mode: 'pvh'; entry: number; startInfoAddress: number }
  | { mode: 'linux64'; entry: number; bootParamsAddress: number }
  | { mode: 'direct'; regs: KvmRegs; sregs: Partial<KvmSregs> };

interface SetupSpec {
  cpuid: Uint32Array;
}

export function setupVcpu(vcpu: NativeVcpu, spec: SetupSpec): void {
  vcpu.setCpuid(spec.cpuid);
  setFpuDefaults(vcpu);
  setBootMsrs(vcpu);
  // LINT0 delivers ExtINT (the PIC), LINT1 NMI — what firmware sets up on a PC.
  wireLocalApic(vcpu, { lint0: 'extint', lint1: 'nmi' });
}

export function applyBootState(vcpu: NativeVcpu, boot: BootCpuState): void {
  const current = getSregs(vcpu);
  let state: { regs: KvmRegs; sregs: KvmSregs };
  switch (boot.mode) {
    case 'pvh':
      state = pvhCpuState(current, boot);
      break;
    case 'linux64':
      state = longModeCpuState(current, boot);
      break;
    case 'direct':
      state = { regs: boot.regs, sregs: { ...current, ...boot.sregs } };
      break;
  }
  setSregs(vcpu, state.sregs);
  setRegs(vcpu, state.regs);
}

const Msr = {
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  STAR: 0xc0000081,
  LSTAR: 0xc0000082,
  CSTAR: 0xc0000083,
  SYSCALL_MASK: 0xc0000084,
  KERNEL_GS_BASE: 0xc0000102,
  IA32_TSC: 0x10,
  IA32_MISC_ENABLE: 0x1a0,
  MTRR_DEF_TYPE: 0x2ff,
} as const;

const MISC_ENABLE_FAST_STRING = 1n;
const MTRR_ENABLE_WRITEBACK = (1n << 11n) | 6n;

function setBootMsrs(vcpu: NativeVcpu): void {
  const entries: Array<[number, bigint]> = [
    [Msr.IA32_SYSENTER_CS, 0n],
    [Msr.IA32_SYSENTER_ESP, 0n],
    [Msr.IA32_SYSENTER_EIP, 0n],
    [Msr.STAR, 0n],
    [Msr.CSTAR, 0n],
    [Msr.KERNEL_GS_BASE, 0n],
    [Msr.SYSCALL_MASK, 0n],
    [Msr.LSTAR, 0n],
    [Msr.IA32_TSC, 0n],
    [Msr.IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING],
    [Msr.MTRR_DEF_TYPE, MTRR_ENABLE_WRITEBACK],
  ];
  // Some platforms refuse a few of these; the ones that are set come first, and none is essential.
  setMsrs(vcpu, entries.map(([index, value]) => ({ index, value })));
}
