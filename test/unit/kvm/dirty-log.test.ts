// Dirty-page bitmaps to runs, and DirtyLog over a stand-in VM: registration flags, the merge of KVM's
// bits with the pages the VMM marked, and each page reported once.
import test from 'ava';
import type { NativeGuestMemory, NativeVm } from '../../../src/kvm/native.js';
import { WrittenPages } from '../../../src/devices/virtio/written-pages.js';
import {
  bitmapBytes, bitmapRuns, DirtyLog, KVM_MEM_LOG_DIRTY_PAGES, type DirtyRun, type LoggedRegion,
} from '../../../src/kvm/dirty-log.js';

const PAGE = 4096;
const low: LoggedRegion = { slot: 0, gpa: 0, hostOffset: 0, size: 64 * PAGE };
const high: LoggedRegion = { slot: 1, gpa: 0x1_0000_0000, hostOffset: 64 * PAGE, size: 20 * PAGE };

function bitmapWith(region: LoggedRegion, pages: number[]): Uint8Array {
  const bitmap = new Uint8Array(bitmapBytes(region.size));
  for (const p of pages) bitmap[p >> 3] |= 1 << (p & 7);
  return bitmap;
}

function runsOf(region: LoggedRegion, pages: number[]): { runs: DirtyRun[]; dirty: number } {
  const runs: DirtyRun[] = [];
  const dirty = bitmapRuns(bitmapWith(region, pages), region, runs);
  return { runs, dirty };
}

const run = (region: LoggedRegion, page: number, pages: number): DirtyRun => ({
  gpa: region.gpa + page * PAGE, hostOffset: region.hostOffset + page * PAGE, length: pages * PAGE,
});

test('a bitmap is whole 64-bit words: ceil(pages / 64) * 8 bytes', (t) => {
  t.is(bitmapBytes(PAGE), 8);
  t.is(bitmapBytes(64 * PAGE), 8);
  t.is(bitmapBytes(65 * PAGE), 16);
  t.is(bitmapBytes(32 << 20), 1024);
  t.is(bitmapBytes(3 * 2 ** 30), 3 * 2 ** 30 / PAGE / 8);
});

test('a clean bitmap has no runs', (t) => {
  t.deepEqual(runsOf(low, []), { runs: [], dirty: 0 });
});

test('consecutive dirty pages merge into one run, across byte boundaries', (t) => {
  t.deepEqual(runsOf(low, [0]), { runs: [run(low, 0, 1)], dirty: 1 });
  t.deepEqual(runsOf(low, [6, 7, 8, 9, 20]), { runs: [run(low, 6, 4), run(low, 20, 1)], dirty: 5 });
  // whole 0xff bytes inside a run, and a run that reaches the region's last page
  const tail = Array.from({ length: 30 }, (_, i) => 34 + i);
  t.deepEqual(runsOf(low, [1, 3, ...tail]), { runs: [run(low, 1, 1), run(low, 3, 1), run(low, 34, 30)], dirty: 32 });
  const all = Array.from({ length: 64 }, (_, i) => i);
  t.deepEqual(runsOf(low, all), { runs: [run(low, 0, 64)], dirty: 64 });
});

test('runs carry the region\'s guest address and host offset; bits past the region are ignored', (t) => {
  // 20 pages: the bitmap's last 44 bits are past the region's end
  t.deepEqual(runsOf(high, [0, 19, 20, 40]), { runs: [run(high, 0, 1), run(high, 19, 1)], dirty: 2 });
  t.throws(() => bitmapRuns(new Uint8Array(1), low, []), { instanceOf: RangeError });
});

/** A VM whose KVM_GET_DIRTY_LOG reports `pending` pages per slot once; records every registration. */
function fakeVm(failSlot?: number) {
  const registrations: Array<{ slot: number; flags: number }> = [];
  const pending = new Map<number, number[]>();
  const bitmapsSeen = new Map<number, Uint8Array[]>();
  const logging = new Set<number>();
  const vm = {
    setMemoryRegion(slot: number, _gpa: number, _m: NativeGuestMemory, _o?: number, _s?: number, flags = 0) {
      if (slot === failSlot && flags & KVM_MEM_LOG_DIRTY_PAGES) throw new Error('KVM_SET_USER_MEMORY_REGION: EINVAL (Invalid argument)');
      registrations.push({ slot, flags });
      if (flags & KVM_MEM_LOG_DIRTY_PAGES) logging.add(slot);
      else logging.delete(slot);
    },
    getDirtyLog(slot: number, bitmap: Uint8Array) {
      if (!logging.has(slot)) throw new Error('KVM_GET_DIRTY_LOG: ENOENT (No such file or directory)');
      bitmapsSeen.set(slot, [...(bitmapsSeen.get(slot) ?? []), bitmap]);
      bitmap.fill(0);
      for (const p of pending.get(slot) ?? []) bitmap[p >> 3] |= 1 << (p & 7);
      pending.delete(slot);
    },
  } as unknown as NativeVm;
  return { vm, registrations, pending, bitmapsSeen };
}

const memory = {} as NativeGuestMemory;

test('start registers each slot again with the flag, keeping its other flags; stop without it', (t) => {
  const fake = fakeVm();
  const log = new DirtyLog(fake.vm, memory, [low, { ...high, flags: 2 }]);
  t.false(log.logging);
  log.start();
  t.true(log.logging);
  t.deepEqual(fake.registrations, [{ slot: 0, flags: 1 }, { slot: 1, flags: 3 }]);
  t.throws(() => log.start(), { message: /already logging/ });
  log.stop();
  t.false(log.logging);
  t.deepEqual(fake.registrations.slice(2), [{ slot: 0, flags: 0 }, { slot: 1, flags: 2 }]);
  t.throws(() => log.collect(), { message: /not logging/ });
  log.stop(); // a second stop does nothing
  t.is(fake.registrations.length, 4);
});

test('a failing start leaves no slot logging', (t) => {
  const fake = fakeVm(1);
  const log = new DirtyLog(fake.vm, memory, [low, high]);
  t.throws(() => log.start(), { message: /EINVAL/ });
  t.false(log.logging);
  t.deepEqual(fake.registrations, [{ slot: 0, flags: 1 }, { slot: 0, flags: 0 }]);
});

test("collect merges KVM's pages with the marked ones, reports each once, reusing its bitmaps", (t) => {
  const fake = fakeVm();
  const log = new DirtyLog(fake.vm, memory, [low, high]);
  log.start();
  fake.pending.set(0, [4, 10]);
  fake.pending.set(1, [3]);
  log.markWritten(5 * PAGE + 100, 10); // page 5: next to KVM's page 4
  log.markWritten(PAGE - 1, 2); // straddles pages 0 and 1
  log.markWritten(high.gpa + 4 * PAGE, PAGE); // exactly page 4 of the high region
  t.deepEqual(log.collect(), { runs: [run(low, 0, 2), run(low, 4, 2), run(low, 10, 1), run(high, 3, 2)], pages: 7 });
  t.deepEqual(log.collect(), { runs: [], pages: 0 }, 'nothing twice');
  log.markWritten(10 * PAGE, 3 * PAGE);
  t.deepEqual(log.collect(), { runs: [run(low, 10, 3)], pages: 3 });
  const seen = fake.bitmapsSeen.get(0)!;
  t.is(seen.length, 3);
  t.true(seen.every((b) => b === seen[0]), 'the same bitmap every time');
  t.is(seen[0].length, bitmapBytes(low.size));
});

test('markWritten: outside RAM or across regions is refused; nothing is kept while not logging', (t) => {
  const fake = fakeVm();
  const log = new DirtyLog(fake.vm, memory, [low, high]);
  log.markWritten(0, PAGE); // not logging: ignored
  t.throws(() => log.markWritten(-1, 1), { instanceOf: RangeError });
  t.throws(() => log.markWritten(0.5, 1), { instanceOf: RangeError });
  log.start();
  t.deepEqual(log.collect(), { runs: [], pages: 0 });
  t.throws(() => log.markWritten(64 * PAGE, 1), { instanceOf: RangeError, message: /not within one RAM region/ });
  t.throws(() => log.markWritten(63 * PAGE, 2 * PAGE), { instanceOf: RangeError });
  t.throws(() => log.markWritten(high.gpa + 19 * PAGE, PAGE + 1), { instanceOf: RangeError });
  log.markWritten(63 * PAGE, 0); // empty: nothing
  t.deepEqual(log.collect(), { runs: [], pages: 0 });
});

test("writeBitmaps: a device thread's marks (WrittenPages on the shared bitmaps) are collected with KVM's, once", (t) => {
  const fake = fakeVm();
  const log = new DirtyLog(fake.vm, memory, [low, high]);
  t.throws(() => log.writeBitmaps(), { message: /not logging/ });
  log.start();
  const ram = new ArrayBuffer(high.hostOffset + high.size);
  const pages = new WrittenPages(log.writeBitmaps(), ram);
  pages.markViews([new Uint8Array(ram, 2 * PAGE + 10, PAGE)]); // pages 2 and 3 of the low region
  pages.markView(new Uint8Array(ram, high.hostOffset + 7 * PAGE, 1)); // page 7 of the high one
  pages.markView(new Uint8Array(PAGE)); // a copy, not guest RAM: nothing
  fake.pending.set(0, [3]);
  t.deepEqual(log.collect(), { runs: [run(low, 2, 2), run(high, 7, 1)], pages: 3 });
  t.deepEqual(log.collect(), { runs: [], pages: 0 }, 'nothing twice');
  t.throws(() => new WrittenPages([{ hostOffset: 0, size: 64 * 32 * PAGE + 1, bitmap: new SharedArrayBuffer(8) }], ram), { instanceOf: RangeError });
});
