// Typed vCPU operations: the only place outside the addon that knows kvm struct sizes and offsets.
// Callers (src/vm/, src/actors/) pass and get plain objects.
import type { NativeVcpu } from './native.js';
import {
  KVM_FPU_SIZE, KVM_LAPIC_SIZE, KVM_REGS_SIZE, KVM_SREGS_SIZE, KVM_VCPU_EVENTS_SIZE, decodeRegs, decodeSregs, encodeRegs, encodeSregs,
  readException, writeException, type KvmExceptionEvent, type KvmRegs, type KvmSregs,
} from './structs.js';

export type { KvmRegs, KvmSregs, KvmExceptionEvent };

export function getRegs(vcpu: NativeVcpu): KvmRegs {
  const raw = new Uint8Array(KVM_REGS_SIZE);
  vcpu.getRegs(raw);
  return decodeRegs(raw);
}

export function setRegs(vcpu: NativeVcpu, regs: KvmRegs): void {
  vcpu.setRegs(encodeRegs(regs));
}

export function getSregs(vcpu: NativeVcpu): KvmSregs {
  const raw = new Uint8Array(KVM_SREGS_SIZE);
  vcpu.getSregs(raw);
  return decodeSregs(raw);
}

export function setSregs(vcpu: NativeVcpu, sregs: KvmSregs): void {
  vcpu.setSregs(encodeSregs(sregs));
}

// kvm_fpu (KVM_FPU_SIZE bytes): fcw at byte 128, mxcsr at byte 408.
const FPU_FCW_AT = 128;
const FPU_MXCSR_AT = 408;

/** The x87 and SSE control words a CPU has after reset; everything else zero. */
export function setFpuDefaults(vcpu: NativeVcpu): void {
  const fpu = new Uint8Array(KVM_FPU_SIZE);
  const view = new DataView(fpu.buffer);
  view.setUint16(FPU_FCW_AT, 0x37f, true);
  view.setUint32(FPU_MXCSR_AT, 0x1f80, true);
  vcpu.setFpu(fpu);
}

export interface MsrEntry {
  index: number;
  value: bigint;
}

/** KVM_SET_MSRS; returns how many were set (KVM stops at the first it refuses). */
export function setMsrs(vcpu: NativeVcpu, entries: readonly MsrEntry[]): number {
  const indices = Uint32Array.from(entries.map((e) => e.index));
  const values = BigUint64Array.from(entries.map((e) => e.value));
  return vcpu.setMsrs(indices, values);
}

/** KVM_GET_MSRS; returns the entries KVM read (it stops at the first it cannot). */
export function getMsrs(vcpu: NativeVcpu, indices: readonly number[]): MsrEntry[] {
  const idx = Uint32Array.from(indices);
  const values = new BigUint64Array(idx.length);
  const n = vcpu.getMsrs(idx, values);
  return Array.from({ length: n }, (_, i) => ({ index: idx[i], value: values[i] }));
}

const APIC_LVT_LINT0 = 0x350;
const APIC_LVT_LINT1 = 0x360;
const DELIVERY_MODES = { fixed: 0, smi: 2, nmi: 4, init: 5, extint: 7 } as const;
export type LvtDelivery = keyof typeof DELIVERY_MODES;

/** Sets the delivery mode of the local APIC's LINT0/LINT1 pins, keeping the rest of each LVT. */
export function wireLocalApic(vcpu: NativeVcpu, wiring: { lint0: LvtDelivery; lint1: LvtDelivery }): void {
  const lapic = new Uint8Array(KVM_LAPIC_SIZE);
  vcpu.getLapic(lapic);
  const view = new DataView(lapic.buffer);
  const setDelivery = (offset: number, mode: number): void => {
    const lvt = view.getUint32(offset, true);
    view.setUint32(offset, (lvt & ~0x700) | (mode << 8), true);
  };
  setDelivery(APIC_LVT_LINT0, DELIVERY_MODES[wiring.lint0]);
  setDelivery(APIC_LVT_LINT1, DELIVERY_MODES[wiring.lint1]);
  vcpu.setLapic(lapic);
}

// kvm_vcpu_events.interrupt: injected, nr, soft at bytes 8..10.
const INTERRUPT_AT = 8;

/**
 * Injects a vector as the last state change before the next KVM_RUN: an exception below 32 (no
 * error code, delivered on entry), else an external interrupt, since KVM takes only 0–31 as
 * exceptions; the interrupt delivers the same gate.
 */
export function injectVector(vcpu: NativeVcpu, vector: number, events = new Uint8Array(KVM_VCPU_EVENTS_SIZE)): void {
  vcpu.getVcpuEvents(events);
  if (vector < 32) {
    writeException(events, { ...readException(events), injected: 1, nr: vector, hasErrorCode: 0, pending: 0 });
  } else {
    events[INTERRUPT_AT] = 1;
    events[INTERRUPT_AT + 1] = vector;
    events[INTERRUPT_AT + 2] = 0;
  }
  vcpu.setVcpuEvents(events);
}

/** Adds `delta` to RIP (reusing `scratch` so a hot completer allocates nothing). */
export function advanceRip(vcpu: NativeVcpu, delta: number, scratch = new Uint8Array(KVM_REGS_SIZE)): void {
  vcpu.getRegs(scratch);
  const view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
  const RIP_AT = 16 * 8;
  view.setBigUint64(RIP_AT, view.getBigUint64(RIP_AT, true) + BigInt(delta), true);
  vcpu.setRegs(scratch);
}

/** Reusable buffers for the hot completer path. */
export function completerScratch(): { regs: Uint8Array<ArrayBuffer>; events: Uint8Array<ArrayBuffer> } {
  return { regs: new Uint8Array(KVM_REGS_SIZE), events: new Uint8Array(KVM_VCPU_EVENTS_SIZE) };
}
