// A note on the machine the numbers come from: they only mean something next to it.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';
import { existsSync } from 'node:fs';

export interface MachineNote {
  date: string;
  cpu: string;
  cpus: number;
  kernel: string;
  kvmModule: string;
  node: string;
  qemu: string;
  loadAverage: number[];
  /** where the figures come from: absolute numbers from the box are emulation numbers */
  source: string;
}

const IN_BOX = process.env.NODEVMM_IN_BOX === '1';

function qemuVersion(): string {
  try {
    return execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return 'not installed';
  }
}

export function describeMachine(): MachineNote {
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    kernel: release(),
    kvmModule: existsSync('/sys/module/kvm_pvm') ? 'kvm_pvm (nested, no VMX/SVM in this VM)' : existsSync('/sys/module/kvm_intel') ? 'kvm_intel' : existsSync('/sys/module/kvm_amd') ? 'kvm_amd' : 'unknown',
    node: process.version,
    qemu: qemuVersion(),
    loadAverage: loadavg(),
    source: IN_BOX
      ? 'the nested-KVM box (QEMU TCG emulating AMD SVM; scripts/box/): emulation numbers, only the ratios within this run compare'
      : 'this machine\'s own KVM',
  };
}
