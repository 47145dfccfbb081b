// Platform quirks: what this VMM adds on a KVM that is not real hardware virtualization. The `kvm_pvm`
// module runs guest kernel mode in the host's instruction emulator, which gives up on some
// instructions a real CPU runs; nodevmm completes those itself. Detected from /sys/module/kvm_pvm,
// reported with -v, switchable off (see docs/PLATFORM.md).
import { existsSync } from 'node:fs';
import { KvmExit, KvmInternalError } from '../kvm/constants.js';
import { KVM_REGS_SIZE, KVM_VCPU_EVENTS_SIZE } from '../kvm/structs.js';
import type { NativeVcpu } from '../kvm/native.js';
import { emulationBytes, type ExitCompleter, type ExitRecordView } from '../actors/vcpu-loop.js';

export interface PlatformQuirks {
  /** the KVM module the quirks are for */
  platform: string;
  /** complete int n / int3 / fwait at CPL0 when the emulator gives up on them */
  completeInstructions: boolean;
  /** added to a Linux guest's command line: features the emulator cannot run */
  linuxCmdline: string[];
}

export const PVM_QUIRKS: PlatformQuirks = {
  platform: 'kvm_pvm',
  completeInstructions: true,
  linuxCmdline: ['noxsave', 'clearcpuid=cx16,smap,smep,ssse3,popcnt,rdtscp,erms,fsrm', 'nofsgsbase'],
};

export function detectPlatformQuirks(sysModule = '/sys/module'): PlatformQuirks | null {
  return existsSync(`${sysModule}/kvm_pvm`) ? PVM_QUIRKS : null;
}

const RIP_OFFSET = 16 * 8;

/**
 * Completes `int3` (CC), `int n` (CD nn) and `fwait` (9B) when KVM reports an emulation failure on
 * them: move RIP past the instruction and, for the interrupts, inject the vector (an exception below
 * 32, else an interrupt), as the last state change before the next KVM_RUN. The guest's own handler
 * and iret do the rest.
 */
export function instructionCompleter(vcpu: NativeVcpu): ExitCompleter {
  const regs = new Uint8Array(KVM_REGS_SIZE);
  const regsView = new DataView(regs.buffer);
  const events = new Uint8Array(KVM_VCPU_EVENTS_SIZE);
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
    vcpu.getRegs(regs);
    regsView.setBigUint64(RIP_OFFSET, regsView.getBigUint64(RIP_OFFSET, true) + BigInt(length), true);
    vcpu.setRegs(regs);
    if (vector !== null) {
      vcpu.getVcpuEvents(events);
      if (vector < 32) {
        events[0] = 1; // exception.injected
        events[1] = vector; // exception.nr
        events[2] = 0; // no error code
        events[3] = 0; // not pending: delivered on entry
      } else {
        // KVM takes only vectors 0–31 as exceptions; a higher `int n` goes in as an external
        // interrupt, which delivers the same gate with RIP (already past the instruction) pushed.
        events[8] = 1; // interrupt.injected
        events[9] = vector; // interrupt.nr
        events[10] = 0; // interrupt.soft
      }
      vcpu.setVcpuEvents(events);
    }
    return true;
  };
}
