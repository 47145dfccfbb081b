// The CPUID a vCPU sees: what KVM supports, made per-vCPU (APIC ids, topology) and marked as a guest
// of a hypervisor. Entries are kvm_cpuid_entry2 as 10 words: function, index, flags, eax, ebx, ecx, edx.
const WORDS = 10;
const F = 0, EBX = 4, ECX = 5, EDX = 6;

export interface CpuidPolicy {
  vcpuId: number;
  vcpuCount: number;
}

export function cpuidForVcpu(supported: Uint32Array, policy: CpuidPolicy): Uint32Array {
  const entries = supported.slice();
  for (let at = 0; at < entries.length; at += WORDS) {
    switch (entries[at + F]) {
      case 0x1:
        // EBX[31:24] initial APIC id, EBX[23:16] logical processors per package; ECX[31] hypervisor
        entries[at + EBX] = (entries[at + EBX] & 0x0000ffff) | (policy.vcpuId << 24) | (policy.vcpuCount << 16);
        entries[at + ECX] |= 1 << 31;
        break;
      case 0xb:
      case 0x1f:
        entries[at + EDX] = policy.vcpuId; // x2APIC id
        break;
    }
  }
  return entries;
}
