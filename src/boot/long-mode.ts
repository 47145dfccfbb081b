// The vCPU state at the Linux 64-bit boot protocol entry (boot.rst, "64-bit Boot Protocol"): long
// mode with paging on through an identity map covering the kernel, boot_params and the command line;
// a GDT with flat __BOOT_CS (0x10) and __BOOT_DS (0x18); CS = __BOOT_CS; DS, ES, SS = __BOOT_DS;
// interrupts off; RSI = boot_params.
//
// Choices:
// - CR0 is what Linux itself loads once it runs (CR0_STATE: PE MP ET NE WP AM PG), so the kernel's
//   own write changes nothing; in particular caching is on (CD and NW clear, unlike the reset value).
// - CR4 = PAE only, EFER = LME|LMA: 4-level paging. A kernel that wants 5-level paging switches itself.
// - FS and GS are __BOOT_DS as well (boot.rst leaves them free; Firecracker and Cloud Hypervisor do so).
// - TR is a busy TSS: VMX needs one; Linux loads its own before it could use it.
// - IDTR empty, as at the PVH entry: a fault before the kernel installs its IDT shuts the VM down.
// - RSP = BOOT_STACK_POINTER: the kernel switches stacks at once, but a sane one costs nothing.
import { emptyRegs, type KvmRegs, type KvmSregs } from '../kvm/structs.js';
import { bootTssSegment, flatCode64Segment, flatDataSegment, longModeGdtRegister } from './gdt.js';
import { BOOT_STACK_POINTER } from './memory-layout.js';
import { IDENTITY_MAP_CR3 } from './page-tables.js';
import { CR0_ET, CR0_PE, RFLAGS_RESERVED_ONE } from './pvh.js';

export const CR0_MP = 1n << 1n;
export const CR0_NE = 1n << 5n;
export const CR0_WP = 1n << 16n;
export const CR0_AM = 1n << 18n;
export const CR0_PG = 1n << 31n;
export const CR4_PAE = 1n << 5n;
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;

export const LONG_MODE_CR0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
export const LONG_MODE_CR4 = CR4_PAE;
export const LONG_MODE_EFER = EFER_LME | EFER_LMA;

export interface LongModeCpuState {
  sregs: KvmSregs;
  regs: KvmRegs;
}

/**
 * The vCPU state for entering a kernel loaded by loadBzImage. `current` is the vCPU's sregs as read
 * from KVM: fields the protocol leaves alone (APIC base, CR8, LDT, pending interrupts) are kept.
 */
export function longModeCpuState(
  current: KvmSregs,
  boot: { entry: number; bootParamsAddress: number },
): LongModeCpuState {
  const data = flatDataSegment();
  const sregs: KvmSregs = {
    ...current,
    cs: flatCode64Segment(),
    ds: { ...data },
    es: { ...data },
    fs: { ...data },
    gs: { ...data },
    ss: { ...data },
    tr: bootTssSegment(),
    ldt: { ...current.ldt },
    gdt: longModeGdtRegister(),
    idt: { base: 0n, limit: 0 },
    cr0: LONG_MODE_CR0,
    cr3: IDENTITY_MAP_CR3,
    cr4: LONG_MODE_CR4,
    efer: LONG_MODE_EFER,
    interruptBitmap: [...current.interruptBitmap],
  };
  const regs = emptyRegs();
  regs.rip = BigInt(boot.entry);
  regs.rsi = BigInt(boot.bootParamsAddress);
  regs.rsp = BigInt(BOOT_STACK_POINTER);
  regs.rflags = RFLAGS_RESERVED_ONE;
  return { sregs, regs };
}
