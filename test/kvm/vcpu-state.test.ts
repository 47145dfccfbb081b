// vCPU and VM state survive save → fresh VM → restore → save, on real KVM. Nothing runs the vCPUs,
// so making them in this (the test's) thread is fine.
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { native, type NativeKvm, type NativeVcpu, type NativeVm } from '../../src/kvm/native.js';
import { emptyRegs } from '../../src/kvm/structs.js';
import { getRegs, setMsrs, setRegs } from '../../src/kvm/vcpu-ops.js';
import { restoreVcpuState, saveVcpuState, stateCaps, type VcpuState } from '../../src/kvm/vcpu-state.js';
import { restoreVmState, saveVmState } from '../../src/kvm/vm-state.js';
import { setupVcpu } from '../../src/vm/cpu-setup.js';
import { cpuidForVcpu } from '../../src/vm/cpuid.js';

const RAM = 16 << 20;
const KERNEL_GS_BASE = 0xc0000102;
const IA32_TSC = 0x10;
// Hyper-V counters KVM keeps from host time: VP_RUNTIME and TIME_REF_COUNT.
const RUNNING_MSRS = new Set([IA32_TSC, 0x40000010, 0x40000020]);

function machine(kvm: NativeKvm): { vm: NativeVm; vcpu: NativeVcpu; close(): void } {
  const addon = native();
  const vm = new addon.Vm(kvm);
  vm.setTssAddr(0xfffb_d000);
  vm.setIdentityMapAddr(0xfffb_c000);
  vm.createIrqchip();
  vm.createPit2();
  const memory = new addon.GuestMemory(RAM);
  vm.setMemoryRegion(0, 0, memory, 0, RAM);
  const vcpu = new addon.Vcpu(vm.fd, 0, kvm.vcpuMmapSize());
  setupVcpu(vcpu, { cpuid: cpuidForVcpu(kvm.supportedCpuid(), { vcpuId: 0, vcpuCount: 1 }) });
  return { vm, vcpu, close: () => { vcpu.close(); vm.close(); memory.close(); } };
}

// What KVM changes by itself between two saves: time counters run, and the APIC timer's current count.
function comparable(s: VcpuState): unknown {
  const lapic = Buffer.from(s.lapic, 'base64');
  lapic.fill(0, 0x390, 0x394);
  return { ...s, lapic: lapic.toString('base64'), msrs: s.msrs.filter((m) => !RUNNING_MSRS.has(m.index)) };
}

kvmSerialTest('vCPU state: save, restore into a fresh VM, save again gives the same state', (t) => {
  const kvm = new (native().Kvm)();
  const caps = stateCaps(kvm);
  const indices = Array.from(kvm.msrIndexList());
  const first = machine(kvm);
  setRegs(first.vcpu, { ...emptyRegs(), rax: 0x1234n, rsp: 0x8000n, rip: 0x1000n, rflags: 0x2n });
  setMsrs(first.vcpu, [{ index: KERNEL_GS_BASE, value: 0xabcd000n }]);
  const saved = saveVcpuState(first.vcpu, indices, caps);
  const json = JSON.parse(JSON.stringify(saved)) as VcpuState;
  t.log(`caps ${JSON.stringify(caps)}; ${saved.msrs.length} of ${indices.length} MSRs readable; xcrs ${saved.xcrs.length}`);
  t.true(saved.msrs.some((m) => m.index === KERNEL_GS_BASE && m.value === '0xabcd000'));

  const second = machine(kvm);
  const { refusedMsrs } = restoreVcpuState(second.vcpu, json);
  t.log(`refused MSRs: ${refusedMsrs.map((i) => '0x' + i.toString(16)).join(' ') || 'none'}`);
  t.is(getRegs(second.vcpu).rax, 0x1234n);
  const again = saveVcpuState(second.vcpu, indices, caps);
  const refused = new Set(refusedMsrs);
  t.deepEqual(comparable(again), comparable({ ...saved, msrs: saved.msrs.filter((m) => !refused.has(m.index)) }));
  const tsc = (s: VcpuState): bigint => BigInt(s.msrs.find((m) => m.index === IA32_TSC)?.value ?? '0');
  t.true(tsc(again) >= tsc(saved), 'the TSC continues from the saved value');
  first.close();
  second.close();
  kvm.close();
});

kvmSerialTest('VM state: irqchips, PIT and clock survive a round trip', (t) => {
  const kvm = new (native().Kvm)();
  const first = machine(kvm);
  first.vm.irqLine(4, true); // something for the PIC and IOAPIC to remember
  const saved = saveVmState(first.vm);
  const second = machine(kvm);
  restoreVmState(second.vm, JSON.parse(JSON.stringify(saved)));
  const again = saveVmState(second.vm);
  t.is(again.picMaster, saved.picMaster);
  t.is(again.picSlave, saved.picSlave);
  t.is(again.ioapic, saved.ioapic);
  // A PIT channel is 24 bytes; its last 8 (count_load_time) are host time when KVM reloaded it.
  const channels = (b64: string): Buffer => {
    const b = Buffer.from(b64, 'base64');
    for (let c = 0; c < 3; c++) b.fill(0, c * 24 + 16, c * 24 + 24);
    return b;
  };
  t.deepEqual(channels(again.pit2), channels(saved.pit2));
  const drift = BigInt(again.clock) - BigInt(saved.clock);
  t.log(`kvmclock after restore: +${drift} ns`);
  t.true(drift >= 0n && drift < 10_000_000_000n);
  first.close();
  second.close();
  kvm.close();
});
