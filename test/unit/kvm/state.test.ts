import test from 'ava';
import type { NativeVcpu, NativeVm } from '../../../src/kvm/native.js';
import { STATE_SIZES, structSizeMismatches } from '../../../src/kvm/structs.js';
import { native } from '../../../src/kvm/native.js';
import { decodeVcpuState, restoreVcpuState, saveVcpuState, type VcpuState } from '../../../src/kvm/vcpu-state.js';
import { decodeVmState, restoreVmState, saveVmState } from '../../../src/kvm/vm-state.js';
import { StateFormatError } from '../../../src/kvm/state-format.js';

// Stand-ins that keep each struct's bytes, as KVM would; MSR 0xdead is refused and unreadable.
function fakeVcpu(): NativeVcpu & { calls: string[] } {
  const blobs = new Map<string, Uint8Array>();
  const calls: string[] = [];
  const msrs = new Map<number, bigint>([[0x10, 1234n], [0x174, 8n]]);
  let mp = 0;
  const get = (k: string) => (out: Uint8Array) => out.set(blobs.get(k) ?? new Uint8Array(out.length));
  const set = (k: string) => (b: Uint8Array) => { calls.push(k); blobs.set(k, Uint8Array.from(b)); };
  return {
    calls,
    getRegs: get('regs'), setRegs: set('regs'), getSregs: get('sregs'), setSregs: set('sregs'),
    getFpu: get('fpu'), setFpu: set('fpu'), getVcpuEvents: get('events'), setVcpuEvents: set('events'),
    getLapic: get('lapic'), setLapic: set('lapic'),
    getState: (k: string, out: Uint8Array) => get(k)(out), setState: (k: string, b: Uint8Array) => set(k)(b),
    getMpState: () => mp, setMpState: (v: number) => { calls.push('mp'); mp = v; },
    getMsrs: (idx: Uint32Array, values: BigUint64Array) => {
      for (let i = 0; i < idx.length; i++) { const v = msrs.get(idx[i]); if (v === undefined) return i; values[i] = v; }
      return idx.length;
    },
    setMsrs: (idx: Uint32Array, values: BigUint64Array) => {
      calls.push('msrs');
      for (let i = 0; i < idx.length; i++) { if (idx[i] === 0xdead) return i; msrs.set(idx[i], values[i]); }
      return idx.length;
    },
  } as unknown as NativeVcpu & { calls: string[] };
}

const noXsave = { xsave: false, xcrs: false };

test("the addon's state struct sizes match the TypeScript ones", (t) => {
  t.deepEqual(structSizeMismatches(native().layout), []);
  t.is(native().layout.sizes.state.xsave, STATE_SIZES.xsave);
});

test('a saved vCPU state survives JSON, skips unreadable MSRs, and restores in order', (t) => {
  const vcpu = fakeVcpu();
  const state = saveVcpuState(vcpu, [0x10, 0xdead, 0x174], noXsave);
  t.deepEqual(state.msrs, [{ index: 0x10, value: '0x4d2' }, { index: 0x174, value: '0x8' }]);
  t.is(state.xsave, null);
  t.is(typeof state.fpu, 'string');
  t.deepEqual(state.xcrs, []);
  const json = JSON.parse(JSON.stringify(state)) as VcpuState;
  t.deepEqual(decodeVcpuState(json).msrs, [{ index: 0x10, value: 1234n }, { index: 0x174, value: 8n }]);
  const fresh = fakeVcpu();
  const { refusedMsrs } = restoreVcpuState(fresh, { ...json, msrs: [...json.msrs, { index: 0xdead, value: '1' }, { index: 0x11, value: '7' }] });
  t.deepEqual(refusedMsrs, [0xdead]);
  // No xcrs set when the list is empty (EINVAL in KVM).
  t.deepEqual(fresh.calls, ['sregs', 'regs', 'fpu', 'debugregs', 'msrs', 'msrs', 'lapic', 'mp', 'events']);
  t.deepEqual(saveVcpuState(fresh, [0x10, 0x174], noXsave), state);
});

test('malformed vCPU state is refused naming the field, before any ioctl', (t) => {
  const state = saveVcpuState(fakeVcpu(), [0x10], noXsave);
  const cases: Array<[unknown, string]> = [
    [{ ...state, version: 2 }, 'vcpu.version'],
    [{ ...state, lapic: Buffer.alloc(1000).toString('base64') }, 'vcpu.lapic'],
    [{ ...state, regs: { ...state.regs, rip: undefined } }, 'vcpu.regs.rip'],
    [{ ...state, regs: { ...state.regs, rax: 'zz' } }, 'vcpu.regs.rax'],
    [{ ...state, fpu: null }, 'vcpu.xsave'],
    [{ ...state, msrs: [{ index: 1 }] }, 'vcpu.msrs[0].value'],
    [{ ...state, sregs: { ...state.sregs, segments: { ...state.sregs.segments, cs: { ...state.sregs.segments.cs, dpl: 300 } } } }, 'vcpu.sregs.segments.cs.dpl'],
  ];
  for (const [bad, fieldName] of cases) {
    const vcpu = fakeVcpu();
    const e = t.throws(() => restoreVcpuState(vcpu, bad), { instanceOf: StateFormatError });
    t.is(e?.field, fieldName);
    t.deepEqual(vcpu.calls, []);
  }
});

test('xcrs are encoded for KVM_SET_XCRS only when there are some', (t) => {
  const state = saveVcpuState(fakeVcpu(), [], noXsave);
  const d = decodeVcpuState({ ...state, xcrs: [{ xcr: 0, value: '0x7' }] });
  const v = new DataView(d.xcrs!.buffer);
  t.is(v.getUint32(0, true), 1);
  t.is(v.getBigUint64(16, true), 7n);
});

function fakeVm(): NativeVm & { set: Map<string, Uint8Array> } {
  const set = new Map<string, Uint8Array>();
  return {
    set,
    getState: (k: string, out: Uint8Array) => { out.fill(k.length); if (k === 'clock') new DataView(out.buffer).setBigUint64(0, 99n, true); },
    setState: (k: string, b: Uint8Array) => void set.set(k, Uint8Array.from(b)),
  } as unknown as NativeVm & { set: Map<string, Uint8Array> };
}

test('VM state round trips through JSON and rejects bad blobs', (t) => {
  const state = JSON.parse(JSON.stringify(saveVmState(fakeVm()))) as unknown;
  t.is(decodeVmState(state).clock, 99n);
  const vm = fakeVm();
  restoreVmState(vm, state);
  t.deepEqual([...vm.set.keys()], ['picMaster', 'picSlave', 'ioapic', 'pit2', 'clock']);
  t.is(vm.set.get('pit2')!.length, STATE_SIZES.pit2);
  const bad = { ...(state as Record<string, unknown>), ioapic: Buffer.alloc(10).toString('base64') };
  const e = t.throws(() => restoreVmState(fakeVm(), bad), { instanceOf: StateFormatError });
  t.is(e?.field, 'vm.ioapic');
  t.is(t.throws(() => decodeVmState({ ...(state as object), clock: undefined }))?.message, 'vm.clock: missing');
  t.is(t.throws(() => decodeVmState({ ...(state as object), version: 0 }))?.message, 'vm.version: expected 1, got 0');
});
