// The CPUID a vCPU sees: what KVM supports, made per-vCPU (APIC ids, topology), marked as a guest of a
// hypervisor, minus the features a policy hides (a platform that cannot run them, see quirks.ts).
// Entries are kvm_cpuid_entry2 as 10 words: function, index, flags, eax, ebx, ecx, edx, padding.
const WORDS = 10;
const FUNCTION = 0, INDEX = 1, EAX = 3, EBX = 4, ECX = 5, EDX = 6;
const REGISTER = { eax: EAX, ebx: EBX, ecx: ECX, edx: EDX } as const;

interface FeatureBit {
  leaf: number;
  subleaf: number;
  register: keyof typeof REGISTER;
  bit: number;
}

/** Feature names as Linux's /proc/cpuinfo and clearcpuid= spell them (Intel SDM vol. 2, CPUID). */
export const CPU_FEATURES: Readonly<Record<string, FeatureBit>> = {
  sse3: { leaf: 1, subleaf: 0, register: 'ecx', bit: 0 },
  pclmulqdq: { leaf: 1, subleaf: 0, register: 'ecx', bit: 1 },
  ssse3: { leaf: 1, subleaf: 0, register: 'ecx', bit: 9 },
  fma: { leaf: 1, subleaf: 0, register: 'ecx', bit: 12 },
  cx16: { leaf: 1, subleaf: 0, register: 'ecx', bit: 13 },
  pcid: { leaf: 1, subleaf: 0, register: 'ecx', bit: 17 },
  sse4_1: { leaf: 1, subleaf: 0, register: 'ecx', bit: 19 },
  sse4_2: { leaf: 1, subleaf: 0, register: 'ecx', bit: 20 },
  x2apic: { leaf: 1, subleaf: 0, register: 'ecx', bit: 21 },
  movbe: { leaf: 1, subleaf: 0, register: 'ecx', bit: 22 },
  popcnt: { leaf: 1, subleaf: 0, register: 'ecx', bit: 23 },
  tsc_deadline_timer: { leaf: 1, subleaf: 0, register: 'ecx', bit: 24 },
  aes: { leaf: 1, subleaf: 0, register: 'ecx', bit: 25 },
  xsave: { leaf: 1, subleaf: 0, register: 'ecx', bit: 26 },
  avx: { leaf: 1, subleaf: 0, register: 'ecx', bit: 28 },
  f16c: { leaf: 1, subleaf: 0, register: 'ecx', bit: 29 },
  rdrand: { leaf: 1, subleaf: 0, register: 'ecx', bit: 30 },
  fsgsbase: { leaf: 7, subleaf: 0, register: 'ebx', bit: 0 },
  bmi1: { leaf: 7, subleaf: 0, register: 'ebx', bit: 3 },
  hle: { leaf: 7, subleaf: 0, register: 'ebx', bit: 4 },
  avx2: { leaf: 7, subleaf: 0, register: 'ebx', bit: 5 },
  smep: { leaf: 7, subleaf: 0, register: 'ebx', bit: 7 },
  bmi2: { leaf: 7, subleaf: 0, register: 'ebx', bit: 8 },
  erms: { leaf: 7, subleaf: 0, register: 'ebx', bit: 9 },
  invpcid: { leaf: 7, subleaf: 0, register: 'ebx', bit: 10 },
  rtm: { leaf: 7, subleaf: 0, register: 'ebx', bit: 11 },
  avx512f: { leaf: 7, subleaf: 0, register: 'ebx', bit: 16 },
  rdseed: { leaf: 7, subleaf: 0, register: 'ebx', bit: 18 },
  adx: { leaf: 7, subleaf: 0, register: 'ebx', bit: 19 },
  smap: { leaf: 7, subleaf: 0, register: 'ebx', bit: 20 },
  clflushopt: { leaf: 7, subleaf: 0, register: 'ebx', bit: 23 },
  clwb: { leaf: 7, subleaf: 0, register: 'ebx', bit: 24 },
  sha_ni: { leaf: 7, subleaf: 0, register: 'ebx', bit: 29 },
  umip: { leaf: 7, subleaf: 0, register: 'ecx', bit: 2 },
  pku: { leaf: 7, subleaf: 0, register: 'ecx', bit: 3 },
  gfni: { leaf: 7, subleaf: 0, register: 'ecx', bit: 8 },
  vaes: { leaf: 7, subleaf: 0, register: 'ecx', bit: 9 },
  rdpid: { leaf: 7, subleaf: 0, register: 'ecx', bit: 22 },
  fsrm: { leaf: 7, subleaf: 0, register: 'edx', bit: 4 },
  serialize: { leaf: 7, subleaf: 0, register: 'edx', bit: 14 },
  xsaveopt: { leaf: 0xd, subleaf: 1, register: 'eax', bit: 0 },
  xsavec: { leaf: 0xd, subleaf: 1, register: 'eax', bit: 1 },
  xsaves: { leaf: 0xd, subleaf: 1, register: 'eax', bit: 3 },
  lahf_lm: { leaf: 0x8000_0001, subleaf: 0, register: 'ecx', bit: 0 },
  abm: { leaf: 0x8000_0001, subleaf: 0, register: 'ecx', bit: 5 },
  pdpe1gb: { leaf: 0x8000_0001, subleaf: 0, register: 'edx', bit: 26 },
  rdtscp: { leaf: 0x8000_0001, subleaf: 0, register: 'edx', bit: 27 },
};

export interface CpuidPolicy {
  vcpuId: number;
  vcpuCount: number;
  /** features to hide, by CPU_FEATURES name */
  hide?: readonly string[];
}

/** Throws for a feature name nodevmm does not know, so a typo never silently hides nothing. */
export function featureBits(names: readonly string[]): FeatureBit[] {
  return names.map((name) => {
    const feature = CPU_FEATURES[name];
    if (!feature) throw new RangeError(`unknown CPU feature '${name}' (known: ${Object.keys(CPU_FEATURES).join(', ')})`);
    return feature;
  });
}

export function cpuidForVcpu(supported: Uint32Array, policy: CpuidPolicy): Uint32Array {
  const entries = supported.slice();
  const hidden = featureBits(policy.hide ?? []);
  for (let at = 0; at < entries.length; at += WORDS) {
    const leaf = entries[at + FUNCTION];
    switch (leaf) {
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
    for (const feature of hidden) {
      if (feature.leaf === leaf && feature.subleaf === entries[at + INDEX]) {
        entries[at + REGISTER[feature.register]] &= ~(1 << feature.bit);
      }
    }
  }
  return entries;
}
