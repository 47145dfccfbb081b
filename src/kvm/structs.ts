// The kernel's register structs as plain objects, and their byte layouts (linux/kvm.h, x86-64).
// The addon copies bytes; the layout lives here so it can be read and tested in one place.

export const REG_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags',
] as const;
export type RegName = (typeof REG_NAMES)[number];
export type KvmRegs = Record<RegName, bigint>;

export const KVM_REGS_SIZE = 144;
export const KVM_SREGS_SIZE = 312;
export const KVM_VCPU_EVENTS_SIZE = 64;
export const KVM_FPU_SIZE = 416;
/** the APIC's 1 KiB register page */
export const KVM_LAPIC_SIZE = 1024;
export const KVM_CPUID_ENTRY2_SIZE = 40;

/** Sizes of the structs saved whole for snapshots (native/vcpu_state.cc). */
export const STATE_SIZES = { xsave: 4096, xcrs: 392, debugregs: 128, picMaster: 520, picSlave: 520, ioapic: 520, pit2: 112, clock: 48 } as const;

const EXPECTED_SIZES = {
  kvm_regs: KVM_REGS_SIZE,
  kvm_sregs: KVM_SREGS_SIZE,
  kvm_fpu: KVM_FPU_SIZE,
  kvm_vcpu_events: KVM_VCPU_EVENTS_SIZE,
  kvm_lapic_state: KVM_LAPIC_SIZE,
  kvm_cpuid_entry2: KVM_CPUID_ENTRY2_SIZE,
} as const;

/** Where the addon's sizeof()s differ from the layouts coded here (checked at addon load). */
export function structSizeMismatches(layout: { sizes: Readonly<Record<string, unknown>> & { state?: Readonly<Record<string, number>> } }): string[] {
  const state = layout.sizes.state ?? {};
  const named = (sizes: Readonly<Record<string, number>>, actual: Readonly<Record<string, unknown>>, prefix: string): string[] =>
    Object.entries(sizes)
      .filter(([name, size]) => actual[name] !== size)
      .map(([name, size]) => `${prefix}${name}: addon ${String(actual[name])}, expected ${size}`);
  return [...named(EXPECTED_SIZES, layout.sizes, ''), ...named(STATE_SIZES, state, 'state.')];
}

export function emptyRegs(): KvmRegs {
  return Object.fromEntries(REG_NAMES.map((n) => [n, 0n])) as KvmRegs;
}

export function encodeRegs(regs: KvmRegs, out = new Uint8Array(KVM_REGS_SIZE)): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  REG_NAMES.forEach((name, i) => view.setBigUint64(i * 8, BigInt.asUintN(64, regs[name]), true));
  return out;
}

export function decodeRegs(bytes: Uint8Array): KvmRegs {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Object.fromEntries(REG_NAMES.map((name, i) => [name, view.getBigUint64(i * 8, true)])) as KvmRegs;
}

export interface KvmSegment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}

export interface KvmDtable {
  base: bigint;
  limit: number;
}

export const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];

export interface KvmSregs extends Record<SegmentName, KvmSegment> {
  gdt: KvmDtable;
  idt: KvmDtable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
  /** 256 bits: pending external interrupts */
  interruptBitmap: [bigint, bigint, bigint, bigint];
}

const SEGMENT_SIZE = 24;
const DTABLE_SIZE = 16;
const DTABLES_AT = SEGMENT_SIZE * 8; // 192
const CONTROL_AT = DTABLES_AT + DTABLE_SIZE * 2; // 224: cr0 cr2 cr3 cr4 cr8 efer apic_base
const BITMAP_AT = CONTROL_AT + 7 * 8; // 280

function readSegment(view: DataView, at: number): KvmSegment {
  return {
    base: view.getBigUint64(at, true),
    limit: view.getUint32(at + 8, true),
    selector: view.getUint16(at + 12, true),
    type: view.getUint8(at + 14),
    present: view.getUint8(at + 15),
    dpl: view.getUint8(at + 16),
    db: view.getUint8(at + 17),
    s: view.getUint8(at + 18),
    l: view.getUint8(at + 19),
    g: view.getUint8(at + 20),
    avl: view.getUint8(at + 21),
    unusable: view.getUint8(at + 22),
  };
}

function writeSegment(view: DataView, at: number, s: KvmSegment): void {
  view.setBigUint64(at, s.base, true);
  view.setUint32(at + 8, s.limit >>> 0, true);
  view.setUint16(at + 12, s.selector, true);
  view.setUint8(at + 14, s.type);
  view.setUint8(at + 15, s.present);
  view.setUint8(at + 16, s.dpl);
  view.setUint8(at + 17, s.db);
  view.setUint8(at + 18, s.s);
  view.setUint8(at + 19, s.l);
  view.setUint8(at + 20, s.g);
  view.setUint8(at + 21, s.avl);
  view.setUint8(at + 22, s.unusable);
  view.setUint8(at + 23, 0);
}

const CONTROL_NAMES = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apicBase'] as const;

export function decodeSregs(bytes: Uint8Array): KvmSregs {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sregs = {} as KvmSregs;
  SEGMENT_NAMES.forEach((name, i) => (sregs[name] = readSegment(view, i * SEGMENT_SIZE)));
  sregs.gdt = { base: view.getBigUint64(DTABLES_AT, true), limit: view.getUint16(DTABLES_AT + 8, true) };
  sregs.idt = { base: view.getBigUint64(DTABLES_AT + 16, true), limit: view.getUint16(DTABLES_AT + 24, true) };
  CONTROL_NAMES.forEach((name, i) => (sregs[name] = view.getBigUint64(CONTROL_AT + i * 8, true)));
  sregs.interruptBitmap = [0, 1, 2, 3].map((i) => view.getBigUint64(BITMAP_AT + i * 8, true)) as KvmSregs['interruptBitmap'];
  return sregs;
}

export function encodeSregs(sregs: KvmSregs, out = new Uint8Array(KVM_SREGS_SIZE)): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  SEGMENT_NAMES.forEach((name, i) => writeSegment(view, i * SEGMENT_SIZE, sregs[name]));
  view.setBigUint64(DTABLES_AT, sregs.gdt.base, true);
  view.setUint16(DTABLES_AT + 8, sregs.gdt.limit, true);
  view.setBigUint64(DTABLES_AT + 16, sregs.idt.base, true);
  view.setUint16(DTABLES_AT + 24, sregs.idt.limit, true);
  CONTROL_NAMES.forEach((name, i) => view.setBigUint64(CONTROL_AT + i * 8, sregs[name], true));
  sregs.interruptBitmap.forEach((word, i) => view.setBigUint64(BITMAP_AT + i * 8, word, true));
  return out;
}

/** kvm_vcpu_events, the fields nodevmm uses (exception injection). */
export interface KvmExceptionEvent {
  injected: number;
  nr: number;
  hasErrorCode: number;
  pending: number;
  errorCode: number;
}

export function readException(events: Uint8Array): KvmExceptionEvent {
  const view = new DataView(events.buffer, events.byteOffset, events.byteLength);
  return {
    injected: view.getUint8(0),
    nr: view.getUint8(1),
    hasErrorCode: view.getUint8(2),
    pending: view.getUint8(3),
    errorCode: view.getUint32(4, true),
  };
}

export function writeException(events: Uint8Array, e: KvmExceptionEvent): void {
  const view = new DataView(events.buffer, events.byteOffset, events.byteLength);
  view.setUint8(0, e.injected);
  view.setUint8(1, e.nr);
  view.setUint8(2, e.hasErrorCode);
  view.setUint8(3, e.pending);
  view.setUint32(4, e.errorCode >>> 0, true);
}
