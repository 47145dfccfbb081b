import test from 'ava';
import { cpuidForVcpu, featureBits } from '../../../src/vm/cpuid.js';
import { PVM_QUIRKS } from '../../../src/vm/quirks.js';

/** kvm_cpuid_entry2 rows: function, index, flags, eax, ebx, ecx, edx (+3 padding words). */
function entries(rows: number[][]): Uint32Array {
  return Uint32Array.from(rows.flatMap((r) => [...r, 0, 0, 0]));
}
const row = (cpuid: Uint32Array, fn: number, index = 0): number[] => {
  for (let at = 0; at < cpuid.length; at += 10) if (cpuid[at] === fn && cpuid[at + 1] === index) return [...cpuid.subarray(at, at + 7)];
  throw new Error(`no leaf ${fn}`);
};

const supported = entries([
  [0x0, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69],
  [0x1, 0, 0, 0x000a0671, 0xff000800, 0x7ffafbbf, 0xbfebfbff],
  [0xb, 0, 1, 1, 1, 0x100, 0xff],
  [0xb, 1, 1, 4, 2, 0x201, 0xff],
  [0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d],
]);

test('each vCPU sees its own APIC id in leaf 1 and the x2APIC topology leaves', (t) => {
  for (const id of [0, 1, 7]) {
    const cpuid = cpuidForVcpu(supported, { vcpuId: id, vcpuCount: 8 });
    const leaf1 = row(cpuid, 1);
    t.is(leaf1[4] >>> 24, id, 'EBX[31:24] initial APIC id');
    t.is((leaf1[4] >>> 16) & 0xff, 8, 'EBX[23:16] logical processors');
    t.is(leaf1[4] & 0xffff, 0x0800, 'EBX[15:0] kept (CLFLUSH size, brand index)');
    t.is(row(cpuid, 0xb, 0)[6], id, 'leaf 0xB EDX: x2APIC id');
    t.is(row(cpuid, 0xb, 1)[6], id);
  }
});

test('the hypervisor bit is set; the other leaves and the input are untouched', (t) => {
  const before = supported.slice();
  const cpuid = cpuidForVcpu(supported, { vcpuId: 3, vcpuCount: 4 });
  t.is(row(cpuid, 1)[5] >>> 31, 1, 'CPUID.1:ECX[31] hypervisor present');
  t.deepEqual(row(cpuid, 0), row(supported, 0));
  t.deepEqual(row(cpuid, 0x40000000), row(supported, 0x40000000));
  t.deepEqual(supported, before, 'the supported list is copied, not changed');
});

test('a policy hides features by name, in whichever leaf and register holds them', (t) => {
  const withLeaf7 = Uint32Array.from([...supported, ...[0x7, 0, 1, 0, 0x00000781, 0x00000004, 0x00000010, 0, 0, 0]]);
  const cpuid = cpuidForVcpu(withLeaf7, { vcpuId: 0, vcpuCount: 1, hide: ['cx16', 'ssse3', 'smep', 'erms', 'fsrm', 'gfni'] });
  const leaf1 = row(cpuid, 1);
  t.is(leaf1[5] & (1 << 13), 0, 'cx16 gone');
  t.is(leaf1[5] & (1 << 9), 0, 'ssse3 gone');
  t.not(leaf1[5] & (1 << 0), 0, 'sse3 kept');
  const leaf7 = row(cpuid, 7);
  t.is(leaf7[4], 0x00000781 & ~(1 << 7) & ~(1 << 9), 'smep and erms gone, the rest of EBX kept');
  t.is(leaf7[6], 0, 'fsrm gone');
});

test('an unknown feature name is an error, not a silent no-op', (t) => {
  t.throws(() => cpuidForVcpu(supported, { vcpuId: 0, vcpuCount: 1, hide: ['cx61'] }), { instanceOf: RangeError, message: /unknown CPU feature 'cx61'/ });
});

test("the kvm_pvm profile's hidden features are all names the CPUID policy knows", (t) => {
  t.notThrows(() => featureBits(PVM_QUIRKS.hiddenCpuFeatures));
  t.true(PVM_QUIRKS.hiddenCpuFeatures.includes('cx16'));
});

test("the kvm_pvm profile hides the same features from Linux's command line", (t) => {
  const cmdline = PVM_QUIRKS.linuxCmdline;
  t.deepEqual(cmdline.slice(0, 3), ['noxsave', 'clearcpuid=cx16,smap,smep,ssse3,popcnt,rdtscp,erms,fsrm', 'nofsgsbase']);
});
