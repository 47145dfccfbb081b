// One vCPU's architectural state as a JSON-able object (for snapshots and migration), and its restore.
import type { NativeVcpu } from './native.js';
import {
  KVM_FPU_SIZE, KVM_LAPIC_SIZE, KVM_VCPU_EVENTS_SIZE, REG_NAMES, SEGMENT_NAMES, STATE_SIZES,
  type KvmRegs, type KvmSegment, type KvmSregs,
} from './structs.js';
import { getMsrs, getRegs, getSregs, setMsrs, setRegs, setSregs, type MsrEntry } from './vcpu-ops.js';
import { StateFormatError, array, blob, checkVersion, field, hex, toBase64, u64, uint } from './state-format.js';

export const VCPU_STATE_VERSION = 1;

type Hex = string;
export interface SegmentState { base: Hex; limit: number; selector: number; type: number; present: number; dpl: number; db: number; s: number; l: number; g: number; avl: number; unusable: number }
export interface VcpuState {
  version: typeof VCPU_STATE_VERSION;
  regs: Record<(typeof REG_NAMES)[number], Hex>;
  sregs: {
    segments: Record<(typeof SEGMENT_NAMES)[number], SegmentState>;
    gdt: { base: Hex; limit: number };
    idt: { base: Hex; limit: number };
    cr0: Hex; cr2: Hex; cr3: Hex; cr4: Hex; cr8: Hex; efer: Hex; apicBase: Hex;
    interruptBitmap: [Hex, Hex, Hex, Hex];
  };
  /** kvm_xsave (4 KiB, base64) where KVM has XSAVE, else kvm_fpu in `fpu` */
  xsave: string | null;
  fpu: string | null;
  /** extended control registers (XCR0…); empty without KVM_CAP_XCRS */
  xcrs: Array<{ xcr: number; value: Hex }>;
  debugregs: { db: [Hex, Hex, Hex, Hex]; dr6: Hex; dr7: Hex };
  /** every MSR of KVM_GET_MSR_INDEX_LIST that KVM could read; the TSC is IA32_TSC (0x10) here */
  msrs: Array<{ index: number; value: Hex }>;
  lapic: string;
  mpState: number;
  vcpuEvents: string;
}

export interface StateCaps { xsave: boolean; xcrs: boolean }
const KVM_CAP_XSAVE = 55;
const KVM_CAP_XCRS = 56;
/** What the host's KVM offers, from KVM_CHECK_EXTENSION on the VM (or /dev/kvm). */
export function stateCaps(kvmOrVm: { checkExtension(cap: number): number }): StateCaps {
  return { xsave: kvmOrVm.checkExtension(KVM_CAP_XSAVE) > 0, xcrs: kvmOrVm.checkExtension(KVM_CAP_XCRS) > 0 };
}

const segmentJson = (s: KvmSegment): SegmentState => ({ ...s, base: hex(s.base) });

/** Reads every MSR KVM will give; KVM_GET_MSRS stops at the first it cannot read, so skip that one. */
function readAllMsrs(vcpu: NativeVcpu, indices: readonly number[]): MsrEntry[] {
  const got: MsrEntry[] = [];
  for (let at = 0; at < indices.length; ) {
    const read = getMsrs(vcpu, indices.slice(at));
    got.push(...read);
    at += read.length + 1;
  }
  return got;
}

export function saveVcpuState(vcpu: NativeVcpu, msrIndices: readonly number[], caps: StateCaps): VcpuState {
  const regs = getRegs(vcpu);
  const s = getSregs(vcpu);
  const bytes = (size: number, get: (out: Uint8Array) => void): Uint8Array => {
    const out = new Uint8Array(size);
    get(out);
    return out;
  };
  let xcrs: VcpuState['xcrs'] = [];
  if (caps.xcrs) {
    const raw = new DataView(bytes(STATE_SIZES.xcrs, (o) => vcpu.getState('xcrs', o)).buffer);
    xcrs = Array.from({ length: Math.min(raw.getUint32(0, true), 16) }, (_, i) => ({
      xcr: raw.getUint32(8 + i * 16, true), value: hex(raw.getBigUint64(16 + i * 16, true)),
    }));
  }
  const dr = new DataView(bytes(STATE_SIZES.debugregs, (o) => vcpu.getState('debugregs', o)).buffer);
  const q = (at: number): Hex => hex(dr.getBigUint64(at, true));
  return {
    version: VCPU_STATE_VERSION,
    regs: Object.fromEntries(REG_NAMES.map((n) => [n, hex(regs[n])])) as VcpuState['regs'],
    sregs: {
      segments: Object.fromEntries(SEGMENT_NAMES.map((n) => [n, segmentJson(s[n])])) as VcpuState['sregs']['segments'],
      gdt: { base: hex(s.gdt.base), limit: s.gdt.limit },
      idt: { base: hex(s.idt.base), limit: s.idt.limit },
      cr0: hex(s.cr0), cr2: hex(s.cr2), cr3: hex(s.cr3), cr4: hex(s.cr4), cr8: hex(s.cr8), efer: hex(s.efer), apicBase: hex(s.apicBase),
      interruptBitmap: s.interruptBitmap.map(hex) as VcpuState['sregs']['interruptBitmap'],
    },
    xsave: caps.xsave ? toBase64(bytes(STATE_SIZES.xsave, (o) => vcpu.getState('xsave', o))) : null,
    fpu: caps.xsave ? null : toBase64(bytes(KVM_FPU_SIZE, (o) => vcpu.getFpu(o))),
    xcrs,
    debugregs: { db: [q(0), q(8), q(16), q(24)], dr6: q(32), dr7: q(40) },
    msrs: readAllMsrs(vcpu, msrIndices).map((m) => ({ index: m.index, value: hex(m.value) })),
    lapic: toBase64(bytes(KVM_LAPIC_SIZE, (o) => vcpu.getLapic(o))),
    mpState: vcpu.getMpState(),
    vcpuEvents: toBase64(bytes(KVM_VCPU_EVENTS_SIZE, (o) => vcpu.getVcpuEvents(o))),
  };
}

export interface DecodedVcpuState {
  regs: KvmRegs;
  sregs: KvmSregs;
  xsave: Uint8Array<ArrayBuffer> | null;
  fpu: Uint8Array<ArrayBuffer> | null;
  xcrs: Uint8Array<ArrayBuffer> | null;
  debugregs: Uint8Array<ArrayBuffer>;
  msrs: MsrEntry[];
  lapic: Uint8Array<ArrayBuffer>;
  mpState: number;
  vcpuEvents: Uint8Array<ArrayBuffer>;
}

function decodeSegment(json: unknown, path: string): KvmSegment {
  const f = (name: string, max: number): number => uint(field(json, name, path), `${path}.${name}`, max);
  return {
    base: u64(field(json, 'base', path), `${path}.base`), limit: f('limit', 0xffffffff), selector: f('selector', 0xffff),
    type: f('type', 255), present: f('present', 255), dpl: f('dpl', 255), db: f('db', 255), s: f('s', 255),
    l: f('l', 255), g: f('g', 255), avl: f('avl', 255), unusable: f('unusable', 255),
  };
}

/** Validates JSON as a VcpuState and encodes its blobs; throws StateFormatError naming the field. */
export function decodeVcpuState(json: unknown): DecodedVcpuState {
  checkVersion(json, VCPU_STATE_VERSION, 'vcpu');
  const regsJson = field(json, 'regs', 'vcpu');
  const regs = Object.fromEntries(REG_NAMES.map((n) => [n, u64(field(regsJson, n, 'vcpu.regs'), `vcpu.regs.${n}`)])) as KvmRegs;
  const sj = field(json, 'sregs', 'vcpu');
  const segs = field(sj, 'segments', 'vcpu.sregs');
  const sregs = {} as KvmSregs;
  for (const n of SEGMENT_NAMES) sregs[n] = decodeSegment(field(segs, n, 'vcpu.sregs.segments'), `vcpu.sregs.segments.${n}`);
  for (const t of ['gdt', 'idt'] as const) {
    const d = field(sj, t, 'vcpu.sregs');
    sregs[t] = { base: u64(field(d, 'base', `vcpu.sregs.${t}`), `vcpu.sregs.${t}.base`), limit: uint(field(d, 'limit', `vcpu.sregs.${t}`), `vcpu.sregs.${t}.limit`, 0xffff) };
  }
  for (const c of ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apicBase'] as const) sregs[c] = u64(field(sj, c, 'vcpu.sregs'), `vcpu.sregs.${c}`);
  const bitmap = array(field(sj, 'interruptBitmap', 'vcpu.sregs'), 'vcpu.sregs.interruptBitmap');
  if (bitmap.length !== 4) throw new StateFormatError('vcpu.sregs.interruptBitmap', 'expected 4 words');
  sregs.interruptBitmap = bitmap.map((w, i) => u64(w, `vcpu.sregs.interruptBitmap[${i}]`)) as KvmSregs['interruptBitmap'];

  const xsaveJson = field(json, 'xsave', 'vcpu');
  const fpuJson = field(json, 'fpu', 'vcpu');
  const xsave = xsaveJson === null ? null : blob(xsaveJson, STATE_SIZES.xsave, 'vcpu.xsave');
  const fpu = fpuJson === null ? null : blob(fpuJson, KVM_FPU_SIZE, 'vcpu.fpu');
  if (!xsave && !fpu) throw new StateFormatError('vcpu.xsave', 'neither xsave nor fpu is present');

  const xcrList = array(field(json, 'xcrs', 'vcpu'), 'vcpu.xcrs');
  if (xcrList.length > 16) throw new StateFormatError('vcpu.xcrs', 'at most 16 entries');
  let xcrs: Uint8Array<ArrayBuffer> | null = null;
  if (xcrList.length > 0) {
    xcrs = new Uint8Array(STATE_SIZES.xcrs);
    const v = new DataView(xcrs.buffer);
    v.setUint32(0, xcrList.length, true);
    xcrList.forEach((e, i) => {
      v.setUint32(8 + i * 16, uint(field(e, 'xcr', `vcpu.xcrs[${i}]`), `vcpu.xcrs[${i}].xcr`), true);
      v.setBigUint64(16 + i * 16, u64(field(e, 'value', `vcpu.xcrs[${i}]`), `vcpu.xcrs[${i}].value`), true);
    });
  }

  const drJson = field(json, 'debugregs', 'vcpu');
  const db = array(field(drJson, 'db', 'vcpu.debugregs'), 'vcpu.debugregs.db');
  if (db.length !== 4) throw new StateFormatError('vcpu.debugregs.db', 'expected 4 registers');
  const debugregs = new Uint8Array(STATE_SIZES.debugregs);
  const dv = new DataView(debugregs.buffer);
  db.forEach((r, i) => dv.setBigUint64(i * 8, u64(r, `vcpu.debugregs.db[${i}]`), true));
  dv.setBigUint64(32, u64(field(drJson, 'dr6', 'vcpu.debugregs'), 'vcpu.debugregs.dr6'), true);
  dv.setBigUint64(40, u64(field(drJson, 'dr7', 'vcpu.debugregs'), 'vcpu.debugregs.dr7'), true);

  const msrs = array(field(json, 'msrs', 'vcpu'), 'vcpu.msrs').map((e, i) => ({
    index: uint(field(e, 'index', `vcpu.msrs[${i}]`), `vcpu.msrs[${i}].index`),
    value: u64(field(e, 'value', `vcpu.msrs[${i}]`), `vcpu.msrs[${i}].value`),
  }));
  return {
    regs, sregs, xsave, fpu, xcrs, debugregs, msrs,
    lapic: blob(field(json, 'lapic', 'vcpu'), KVM_LAPIC_SIZE, 'vcpu.lapic'),
    mpState: uint(field(json, 'mpState', 'vcpu'), 'vcpu.mpState', 255),
    vcpuEvents: blob(field(json, 'vcpuEvents', 'vcpu'), KVM_VCPU_EVENTS_SIZE, 'vcpu.vcpuEvents'),
  };
}

/** KVM_SET_MSRS stops at the first MSR it refuses: note that one and carry on after it. */
function writeAllMsrs(vcpu: NativeVcpu, entries: readonly MsrEntry[]): number[] {
  const refused: number[] = [];
  for (let at = 0; at < entries.length; ) {
    const set = setMsrs(vcpu, entries.slice(at));
    at += set;
    if (at < entries.length) refused.push(entries[at++].index);
  }
  return refused;
}

/**
 * Restores a vCPU saved by saveVcpuState, on a vCPU whose CPUID is already set (MSRs and XSAVE
 * features depend on it). Order: sregs first (CR0/CR4/EFER set the mode the registers are read in,
 * and apic_base enables the local APIC), then regs, FPU/XSAVE and XCRs, debug registers, MSRs (the
 * TSC among them), the LAPIC (needs the APIC enabled by apic_base), MP state (after the LAPIC, which
 * INIT/SIPI states refer to), and vCPU events last, since setting regs/sregs can drop pending
 * exceptions and interrupts.
 */
export function restoreVcpuState(vcpu: NativeVcpu, state: unknown): { refusedMsrs: number[] } {
  const d = decodeVcpuState(state); // everything checked before the first ioctl
  setSregs(vcpu, d.sregs);
  setRegs(vcpu, d.regs);
  if (d.xsave) vcpu.setState('xsave', d.xsave);
  else if (d.fpu) vcpu.setFpu(d.fpu);
  // KVM_SET_XCRS with no entries is EINVAL (and there are none without XSAVE, as in the box).
  if (d.xcrs) vcpu.setState('xcrs', d.xcrs);
  vcpu.setState('debugregs', d.debugregs);
  const refusedMsrs = writeAllMsrs(vcpu, d.msrs);
  vcpu.setLapic(d.lapic);
  vcpu.setMpState(d.mpState);
  vcpu.setVcpuEvents(d.vcpuEvents);
  return { refusedMsrs };
}

export { StateFormatError };
