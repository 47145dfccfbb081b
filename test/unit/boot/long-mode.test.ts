import test from 'ava';
import { BootSelector, longModeGdtEntries, segmentDescriptor } from '../../../src/boot/gdt.js';
import {
  CR0_PG,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  longModeCpuState,
} from '../../../src/boot/long-mode.js';
import { CR0_ET, CR0_PE } from '../../../src/boot/pvh.js';
import { decodeSregs, encodeSregs, KVM_SREGS_SIZE, type KvmSregs } from '../../../src/kvm/structs.js';

function resetSregs(): KvmSregs {
  const sregs = decodeSregs(new Uint8Array(KVM_SREGS_SIZE));
  // roughly what KVM reports after vCPU creation
  sregs.cs = { ...sregs.cs, base: 0xffff0000n, limit: 0xffff, selector: 0xf000, type: 0xb, present: 1, s: 1 };
  sregs.ldt = { ...sregs.ldt, limit: 0xffff, type: 2, present: 1 };
  sregs.idt = { base: 0n, limit: 0xffff };
  sregs.cr0 = 0x6000_0010n;
  sregs.cr8 = 3n;
  sregs.apicBase = 0xfee0_0900n;
  sregs.interruptBitmap = [1n, 0n, 0n, 0n];
  return sregs;
}

const boot = { entry: 0x1000200, bootParamsAddress: 0x7000 };

test('long mode with paging through the identity map', (t) => {
  const { sregs } = longModeCpuState(resetSregs(), boot);
  t.is(sregs.cr0 & (CR0_PE | CR0_PG | CR0_ET), CR0_PE | CR0_PG | CR0_ET);
  t.is(sregs.cr0, 0x8005_0033n); // PE MP ET NE WP AM PG, as Linux's own CR0_STATE
  t.is(sregs.cr0 & 0x6000_0000n, 0n, 'caching on: CD and NW clear');
  t.is(sregs.cr4, CR4_PAE);
  t.is(sregs.cr4, 0x20n);
  t.is(sregs.efer, EFER_LME | EFER_LMA);
  t.is(sregs.efer, 0x500n);
  t.is(sregs.cr3, 0x9000n);
});

test('segments: 64-bit __BOOT_CS, flat __BOOT_DS, a busy TSS, the 64-bit GDT', (t) => {
  const { sregs } = longModeCpuState(resetSregs(), boot);
  t.deepEqual(sregs.cs, {
    base: 0n, limit: 0xffffffff, selector: 0x10, type: 0xb, present: 1, dpl: 0, db: 0, s: 1, l: 1, g: 1, avl: 0, unusable: 0,
  });
  for (const name of ['ds', 'es', 'fs', 'gs', 'ss'] as const) {
    t.is(sregs[name].selector, 0x18, name);
    t.is(sregs[name].type, 0x3, name);
    t.is(sregs[name].l, 0, name);
    t.is(sregs[name].present, 1, name);
  }
  t.is(sregs.tr.type, 0xb);
  t.is(sregs.tr.selector, 0x20);
  t.is(sregs.tr.s, 0);
  t.deepEqual(sregs.gdt, { base: 0x500n, limit: 47 });
  t.deepEqual(sregs.idt, { base: 0n, limit: 0 });
});

test('the GDT in memory matches the segments loaded into the vCPU', (t) => {
  const { sregs } = longModeCpuState(resetSregs(), boot);
  const gdt = longModeGdtEntries();
  t.is(gdt.length * 8 - 1, sregs.gdt.limit);
  t.is(gdt[0], 0n);
  t.is(gdt[1], 0n);
  t.is(gdt[BootSelector.CODE64 >> 3], segmentDescriptor(sregs.cs));
  t.is(gdt[BootSelector.CODE64 >> 3], 0x00af_9b00_0000_ffffn);
  t.is(gdt[BootSelector.DATA >> 3], segmentDescriptor(sregs.ds));
  t.is(gdt[BootSelector.TSS >> 3], segmentDescriptor(sregs.tr));
  t.is(gdt[(BootSelector.TSS >> 3) + 1], 0n, 'upper half of the 16-byte TSS descriptor');
});

test('registers: RIP = entry, RSI = boot_params, a stack, interrupts off', (t) => {
  const { regs } = longModeCpuState(resetSregs(), boot);
  t.is(regs.rip, 0x1000200n);
  t.is(regs.rsi, 0x7000n);
  t.is(regs.rsp, 0x8ff0n);
  t.is(regs.rflags, 0x2n);
  t.is(regs.rax, 0n);
  t.is(regs.rbx, 0n);
});

test('what the protocol leaves alone is kept, and the input is not modified', (t) => {
  const current = resetSregs();
  const { sregs } = longModeCpuState(current, boot);
  t.is(sregs.apicBase, 0xfee0_0900n);
  t.is(sregs.cr8, 3n);
  t.deepEqual(sregs.ldt, current.ldt);
  t.deepEqual(sregs.interruptBitmap, [1n, 0n, 0n, 0n]);
  t.is(current.cr0, 0x6000_0010n);
  t.is(current.cs.selector, 0xf000);
  sregs.ldt.limit = 1;
  sregs.interruptBitmap[0] = 0n;
  t.is(current.ldt.limit, 0xffff);
  t.is(current.interruptBitmap[0], 1n);
  t.deepEqual(decodeSregs(encodeSregs(sregs)), sregs);
});

test('the state passes the architectural consistency rules for entering IA-32e mode', (t) => {
  const { sregs } = longModeCpuState(resetSregs(), boot);
  // EFER.LMA needs CR0.PG and CR4.PAE (SDM vol. 3, 9.8.5); a 64-bit code segment has D = 0.
  t.not(sregs.efer & EFER_LMA, 0n);
  t.not(sregs.cr0 & CR0_PG, 0n);
  t.not(sregs.cr0 & CR0_PE, 0n);
  t.not(sregs.cr4 & CR4_PAE, 0n);
  t.is(sregs.cs.l & sregs.cs.db, 0);
  t.is(sregs.cs.dpl, 0);
  t.is(sregs.ss.dpl, 0);
});
