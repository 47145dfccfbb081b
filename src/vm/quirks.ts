// Platform quirks: what this VMM adds on a KVM that is not real hardware virtualization. The `kvm_pvm`
// module runs guest kernel mode in the host's instruction emulator, which gives up on some
// instructions a real CPU runs; nodevmm completes those itself. Detected from /sys/module/kvm_pvm,
// reported with -v (the payload line shows the final command line), switchable off with --quirks off.
// docs/PLATFORM.md has the evidence for every item.
import { existsSync } from 'node:fs';
import { KvmExit, KvmInternalError } from '../kvm/constants.js';
import { advanceRip, completerScratch, injectVector } from '../kvm/vcpu-ops.js';
import type { NativeVcpu } from '../kvm/native.js';
import type { ExitRecordView } from '../kvm/exit-record.js';
import { emulationBytes, type ExitCompleter } from '../kvm/internal-error.js';

export interface PlatformQuirks {
  /** the KVM module the quirks are for */
  platform: string;
  /** complete int n / int3 / fwait at CPL0 when the emulator gives up on them */
  completeInstructions: boolean;
  /** added to a Linux guest's command line, in order (PVM_LINUX_CMDLINE has the reason for each) */
  linuxCmdline: string[];
  /**
   * CPU features the platform cannot run, hidden from every guest's CPUID (src/vm/cpuid.ts). kvm_pvm
   * mostly ignores KVM_SET_CPUID2, which is why Linux also gets them on its command line.
   */
  hiddenCpuFeatures: readonly string[];
}

/**
 * CPU features kvm_pvm's emulator cannot run. Hidden from every vCPU's CPUID, and, since this module
 * mostly ignores KVM_SET_CPUID2, from Linux by its command line too: xsave and fsgsbase by their own
 * parameters, the rest by clearcpuid=.
 */
const PVM_HIDDEN_FEATURES = ['xsave', 'cx16', 'smap', 'smep', 'ssse3', 'popcnt', 'rdtscp', 'erms', 'fsrm', 'fsgsbase'];
const OWN_PARAMETER: Readonly<Record<string, string>> = { xsave: 'noxsave', fsgsbase: 'nofsgsbase' };

/**
 * What a Linux guest needs on kvm_pvm, beyond what the user's command line says. Two kinds: features
 * the host's emulator cannot run (hidden, so Linux picks other code), and boot work that only pays
 * off on real hardware but costs minutes when every kernel instruction is emulated (~2-4 million
 * instructions per second). Only documented kernel parameters; what they skip are boot-time checks
 * (self-tests, ftrace's weak-function scan), no feature of the running guest. Names an older or newer
 * kernel does not know are ignored by it.
 */
export const PVM_LINUX_CMDLINE: ReadonlyArray<{ arg: string; why: string }> = [
  { arg: OWN_PARAMETER.xsave, why: 'the emulator has no xsave/xrstor: Linux uses fxsave for FPU state' },
  {
    arg: `clearcpuid=${PVM_HIDDEN_FEATURES.filter((feature) => !(feature in OWN_PARAMETER)).join(',')}`,
    why: 'instructions the emulator lacks (cmpxchg16b, clac/stac, ldmxcsr in SSSE3 paths…), hidden so Linux does not use them',
  },
  { arg: OWN_PARAMETER.fsgsbase, why: 'rd/wrfsbase and rd/wrgsbase are not emulated' },
  {
    arg: 'cryptomgr.notests',
    why:
      "crypto self-tests: 6.1 runs the deferred ones in crypto_algapi_init (374 s emulated), and the X.509 " +
      'loader gives up on its algorithm after 60 s (-ETIMEDOUT) while the RSA test runs',
  },
  {
    arg: 'initcall_blacklist=ftrace_check_for_weak_functions,crypto_kdf108_init,blake2s_mod_init',
    why:
      "ftrace's check of its 37,697 call sites for overridden __weak functions runs in a worker that " +
      'never yields (minutes emulated; it starves the CPU that runs the initcalls and triggers the soft-lockup ' +
      'watchdog); the other two are library self-tests cryptomgr.notests does not cover (8.8 s and 9.9 s)',
  },
];

export const PVM_QUIRKS: PlatformQuirks = {
  platform: 'kvm_pvm',
  completeInstructions: true,
  linuxCmdline: PVM_LINUX_CMDLINE.map((q) => q.arg),
  hiddenCpuFeatures: PVM_HIDDEN_FEATURES,
};

export function detectPlatformQuirks(sysModule = '/sys/module'): PlatformQuirks | null {
  return existsSync(`${sysModule}/kvm_pvm`) ? PVM_QUIRKS : null;
}

/**
 * Completes `int3` (CC), `int n` (CD nn) and `fwait` (9B) when KVM reports an emulation failure on
 * them: move RIP past the instruction and, for the interrupts, inject the vector (an exception below
 * 32, else an interrupt), as the last state change before the next KVM_RUN. The guest's own handler
 * and iret do the rest.
 */
export function instructionCompleter(vcpu: NativeVcpu): ExitCompleter {
  const scratch = completerScratch();
  return (reason: number, record: ExitRecordView): boolean => {
    if (reason !== KvmExit.INTERNAL_ERROR || Number(record.aux) !== KvmInternalError.EMULATION) return false;
    const bytes = emulationBytes(record);
    if (!bytes) return false;
    const opcode = bytes.split(' ').map((b) => parseInt(b, 16));
    let length: number;
    let vector: number | null;
    if (opcode[0] === 0xcc) [length, vector] = [1, 3];
    else if (opcode[0] === 0xcd && opcode.length > 1) [length, vector] = [2, opcode[1]];
    else if (opcode[0] === 0x9b) [length, vector] = [1, null];
    else return false;
    advanceRip(vcpu, length, scratch.regs);
    if (vector !== null) injectVector(vcpu, vector, scratch.events);
    return true;
  };
}
