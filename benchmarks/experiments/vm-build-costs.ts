// What building and destroying a KVM VM costs here, ioctl by ioctl, through nodevmm's addon: the
// kernel work behind the lifecycle latencies (a reset destroys the VM and builds a new one; a guest
// poweroff destroys it). Two orders for the same VM: nodevmm's (irqchip and PIT, then RAM) and RAM
// first; and the destroy with and without the in-kernel PIT. Several of these ioctls wait for an
// SRCU grace period (synchronize_srcu), whose length depends on the whole machine: hence medians.
import { native } from '../../src/kvm/native.js';
import { summarize, type Summary } from '../lib/stats.js';

const KVM_IDENTITY_MAP_ADDRESS = 0xfffb_c000;
const KVM_TSS_ADDRESS = 0xfffb_d000;
const RAM = 64 * 1024 * 1024;

export type VmBuildCosts = Record<string, Summary>;

type Order = 'irqchip, PIT, then RAM (nodevmm)' | 'RAM, then irqchip and PIT' | 'irqchip, then RAM, no PIT' | 'RAM, then irqchip, no PIT';

export function measureVmBuildCosts(iterations = 15): VmBuildCosts {
  const addon = native();
  const kvm = new addon.Kvm();
  const samples: Record<string, number[]> = {};
  const add = (name: string, ns: bigint): void => void (samples[name] ??= []).push(Number(ns));
  const orders: Order[] = ['irqchip, PIT, then RAM (nodevmm)', 'RAM, then irqchip and PIT', 'irqchip, then RAM, no PIT', 'RAM, then irqchip, no PIT'];
  try {
    for (let i = 0; i < iterations; i++) {
      for (const order of orders) {
        const t0 = process.hrtime.bigint();
        const vm = new addon.Vm(kvm);
        const tVm = process.hrtime.bigint();
        vm.setTssAddr(KVM_TSS_ADDRESS);
        const tTss = process.hrtime.bigint();
        vm.setIdentityMapAddr(KVM_IDENTITY_MAP_ADDRESS);
        const memory = new addon.GuestMemory(RAM);
        const ram = (): void => vm.setMemoryRegion(0, 0, memory, 0, RAM);
        const t1 = process.hrtime.bigint();
        if (order.startsWith('RAM')) ram();
        const t2 = process.hrtime.bigint();
        vm.createIrqchip();
        const t3 = process.hrtime.bigint();
        if (!order.includes('no PIT')) vm.createPit2();
        const t4 = process.hrtime.bigint();
        if (!order.startsWith('RAM')) ram();
        const t5 = process.hrtime.bigint();
        const vcpu = new addon.Vcpu(vm.fd, 0, kvm.vcpuMmapSize());
        vcpu.close();
        const t6 = process.hrtime.bigint();
        vm.close();
        const t7 = process.hrtime.bigint();
        memory.close();
        add(`${order}: KVM_CREATE_VM`, tVm - t0);
        add(`${order}: KVM_SET_TSS_ADDR`, tTss - tVm);
        add(`${order}: KVM_SET_IDENTITY_MAP_ADDR + new GuestMemory (memfd, mmap)`, t1 - tTss);
        add(`${order}: KVM_SET_USER_MEMORY_REGION`, order.startsWith('RAM') ? t2 - t1 : t5 - t4);
        add(`${order}: KVM_CREATE_IRQCHIP`, t3 - t2);
        if (!order.includes('no PIT')) add(`${order}: KVM_CREATE_PIT2`, t4 - t3);
        add(`${order}: vCPU create + close`, t6 - t5);
        add(`${order}: close the VM fd (destroy)`, t7 - t6);
        add(`${order}: total`, t7 - t0);
      }
    }
  } finally {
    kvm.close();
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, summarize(values)]));
}
