import test from 'ava';
import { native, type NativeVcpu } from '../../../src/kvm/native.js';
import { structSizeMismatches, emptyRegs, KVM_VCPU_EVENTS_SIZE } from '../../../src/kvm/structs.js';
import { advanceRip, getMsrs, getRegs, injectVector, setFpuDefaults, setMsrs, setRegs, wireLocalApic } from '../../../src/kvm/vcpu-ops.js';

// A stand-in vCPU that keeps the byte blobs the addon would copy to and from KVM.
function fakeVcpu(): NativeVcpu & { blobs: Record<string, Uint8Array>; msrs: Map<number, bigint> } {
  const blobs: Record<string, Uint8Array> = {
    regs: new Uint8Array(144), fpu: new Uint8Array(416), events: new Uint8Array(KVM_VCPU_EVENTS_SIZE), lapic: new Uint8Array(1024),
  };
  const msrs = new Map<number, bigint>();
  const get = (k: string) => (out: Uint8Array) => out.set(blobs[k]);
  const set = (k: string) => (b: Uint8Array) => void (blobs[k] = Uint8Array.from(b));
  return {
    blobs, msrs,
    getRegs: get('regs'), setRegs: set('regs'), getFpu: get('fpu'), setFpu: set('fpu'),
    getVcpuEvents: get('events'), setVcpuEvents: set('events'), getLapic: get('lapic'), setLapic: set('lapic'),
    setMsrs: (idx: Uint32Array, values: BigUint64Array) => {
      for (let i = 0; i < idx.length; i++) {
        if (idx[i] === 0xdead) return i; // refused: KVM stops here
        msrs.set(idx[i], values[i]);
      }
      return idx.length;
    },
    getMsrs: (idx: Uint32Array, values: BigUint64Array) => {
      for (let i = 0; i < idx.length; i++) {
        const v = msrs.get(idx[i]);
        if (v === undefined) return i;
        values[i] = v;
      }
      return idx.length;
    },
  } as unknown as NativeVcpu & { blobs: Record<string, Uint8Array>; msrs: Map<number, bigint> };
}

test("the built addon's struct sizes match the TypeScript layouts", (t) => {
  t.deepEqual(structSizeMismatches(native().layout), []);
  t.deepEqual(structSizeMismatches({ sizes: { ...native().layout.sizes, kvm_fpu: 512 } }), ['kvm_fpu: addon 512, expected 416']);
});

test('regs round trip and RIP advance', (t) => {
  const vcpu = fakeVcpu();
  setRegs(vcpu, { ...emptyRegs(), rip: 0x1000n, rax: 7n, rflags: 2n });
  advanceRip(vcpu, 2);
  t.deepEqual(getRegs(vcpu), { ...emptyRegs(), rip: 0x1002n, rax: 7n, rflags: 2n });
});

test('FPU defaults: fcw 0x37f at 128, mxcsr 0x1f80 at 408', (t) => {
  const vcpu = fakeVcpu();
  setFpuDefaults(vcpu);
  const view = new DataView(vcpu.blobs.fpu.buffer);
  t.is(view.getUint16(128, true), 0x37f);
  t.is(view.getUint32(408, true), 0x1f80);
});

test('local APIC wiring sets only the delivery-mode bits of LINT0/LINT1', (t) => {
  const vcpu = fakeVcpu();
  const view = new DataView(vcpu.blobs.lapic.buffer);
  view.setUint32(0x350, 0x10000, true); // masked
  view.setUint32(0x360, 0x10700, true);
  wireLocalApic(vcpu, { lint0: 'extint', lint1: 'nmi' });
  const lapic = new DataView(vcpu.blobs.lapic.buffer);
  t.is(lapic.getUint32(0x350, true), 0x10700);
  t.is(lapic.getUint32(0x360, true), 0x10400);
});

test('injectVector: exceptions below 32, interrupts above', (t) => {
  const vcpu = fakeVcpu();
  injectVector(vcpu, 3);
  t.deepEqual([...vcpu.blobs.events.slice(0, 4)], [1, 3, 0, 0]);
  t.is(vcpu.blobs.events[8], 0);
  const other = fakeVcpu();
  injectVector(other, 0x80);
  t.deepEqual([...other.blobs.events.slice(8, 11)], [1, 0x80, 0]);
  t.is(other.blobs.events[0], 0);
});

test('MSRs: set stops at a refused index, get keeps what was read', (t) => {
  const vcpu = fakeVcpu();
  t.is(setMsrs(vcpu, [{ index: 0x10, value: 5n }, { index: 0xdead, value: 1n }, { index: 0x11, value: 2n }]), 1);
  t.deepEqual(getMsrs(vcpu, [0x10, 0x11]), [{ index: 0x10, value: 5n }]);
});
