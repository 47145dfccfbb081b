// A vCPU's state before it first runs: CPUID, FPU, MSRs, local APIC wiring, and (for the boot vCPU)
// the registers the payload's entry protocol asks for. Runs in the vCPU's own worker thread.
import type { NativeVcpu } from '../kvm/native.js';
import { KVM_REGS_SIZE, KVM_SREGS_SIZE, decodeSregs, encodeRegs, encodeSregs, type KvmRegs, type KvmSregs } from '../kvm/structs.js';
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
  setDefaultFpu(vcpu);
  setBootMsrs(vcpu);
  wireLocalApic(vcpu);
}

export function applyBootState(vcpu: NativeVcpu, boot: BootCpuState): void {
  const raw = new Uint8Array(KVM_SREGS_SIZE);
  vcpu.getSregs(raw);
  const current = decodeSregs(raw);
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
  vcpu.setSregs(encodeSregs(state.sregs, raw));
  vcpu.setRegs(encodeRegs(state.regs, new Uint8Array(KVM_REGS_SIZE)));
}

// kvm_fpu: fcw at byte 128, mxcsr at byte 408 — the x87 and SSE control words a CPU has after reset.
const FPU_SIZE = 416;
function setDefaultFpu(vcpu: NativeVcpu): void {
  const fpu = new Uint8Array(FPU_SIZE);
  const view = new DataView(fpu.buffer);
  view.setUint16(128, 0x37f, true);
  view.setUint32(408, 0x1f80, true);
  vcpu.setFpu(fpu);
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
  const indices = Uint32Array.from(entries.map(([index]) => index));
  const values = BigUint64Array.from(entries.map(([, value]) => value));
  // Some platforms refuse a few of these; the ones that are set come first, and none is essential.
  vcpu.setMsrs(indices, values);
}

// Local APIC: LINT0 delivers ExtINT (the PIC), LINT1 NMI — what firmware sets up on a PC.
const APIC_LVT_LINT0 = 0x350;
const APIC_LVT_LINT1 = 0x360;
const DELIVERY_EXTINT = 7;
const DELIVERY_NMI = 4;

function wireLocalApic(vcpu: NativeVcpu): void {
  const lapic = new Uint8Array(1024);
  vcpu.getLapic(lapic);
  const view = new DataView(lapic.buffer);
  const setDelivery = (offset: number, mode: number): void => {
    const lvt = view.getUint32(offset, true);
    view.setUint32(offset, (lvt & ~0x700) | (mode << 8), true);
  };
  setDelivery(APIC_LVT_LINT0, DELIVERY_EXTINT);
  setDelivery(APIC_LVT_LINT1, DELIVERY_NMI);
  vcpu.setLapic(lapic);
}
