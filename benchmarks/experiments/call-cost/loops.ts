// The bare guest loop (call run, stop at the S5 write) through the experimental bindings, to price
// proposed changes to nodevmm's addon against its current Vcpu.run():
//   napi-fn-copy  a plain N-API function that decodes the exit into a record, as nodevmm does today
//   napi-fn       a plain N-API function; JS reads kvm_run in place
//   v8-fn         a V8 function callback returning a small integer; JS reads kvm_run in place
import { KvmExit } from '../../../src/kvm/constants.js';
import { loadCallCostAddons } from './addons.js';

export type ExperimentMode = 'napi-fn-copy' | 'napi-fn' | 'v8-fn';

const ACPI_SLEEP_PORT = 0x600;
// struct kvm_run: exit_reason (u32) at byte 8; io.direction (u8) at 32, io.port (u16) at 34
const KVM_RUN_REASON_WORD = 2;
const KVM_RUN_IO_DIRECTION = 32;
const KVM_RUN_IO_PORT_HALF = 17;
const KVM_EXIT_IO_OUT = 1;

const ends = (reason: number): boolean => reason !== KvmExit.IO && reason !== KvmExit.MMIO && reason !== KvmExit.HLT;

/** Runs the vCPU (already set up) until the guest writes S5; returns 'guest-exit' or what stopped it. */
export function runExperimentLoop(mode: ExperimentMode, vcpuFd: number, kvmRunMmapSize: number): string {
  const addons = loadCallCostAddons();
  if (!addons) throw new Error('call-cost addons are not built (sh benchmarks/setup.sh)');
  const kvmRun = addons.napi.bind(vcpuFd, kvmRunMmapSize);
  try {
    if (mode === 'napi-fn-copy') {
      const words = new Uint32Array(addons.napi.recordBuffer(), 0, 6);
      const run = addons.napi.runBoundCopy;
      for (;;) {
        run();
        const reason = words[0];
        if (reason === KvmExit.IO && words[4] === ACPI_SLEEP_PORT && words[2] !== 0) return 'guest-exit';
        if (ends(reason)) return `exit ${reason}`;
      }
    }
    if (mode === 'v8-fn') addons.v8.bind(vcpuFd);
    const run = mode === 'v8-fn' ? addons.v8.run : addons.napi.runBound;
    const words = new Uint32Array(kvmRun, 0, 4);
    const halves = new Uint16Array(kvmRun, 0, 32);
    const bytes = new Uint8Array(kvmRun, 0, 64);
    for (;;) {
      run();
      const reason = words[KVM_RUN_REASON_WORD];
      if (reason === KvmExit.IO && halves[KVM_RUN_IO_PORT_HALF] === ACPI_SLEEP_PORT && bytes[KVM_RUN_IO_DIRECTION] === KVM_EXIT_IO_OUT) {
        return 'guest-exit';
      }
      if (ends(reason)) return `exit ${reason}`;
    }
  } finally {
    addons.napi.unbind();
  }
}
