// GuestMemory's page scans on a real memfd (no KVM needed): which pages hold anything, and loading
// only a file's data extents. A migration's first pass and a snapshot rely on both.
import test from 'ava';
import { closeSync, ftruncateSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../../../src/kvm/native.js';
import { writtenRuns } from '../../../src/kvm/dirty-runs.js';

const PAGE = 4096;
const fresh = (bytes = 64 * PAGE) => new (native().GuestMemory)(bytes);
const pairs = (runs: Float64Array) => Array.from({ length: runs.length / 2 }, (_, i) => [runs[2 * i], runs[2 * i + 1]]);

test('fresh RAM has no written pages; written ones come back as maximal runs, pages written with zeros do not', (t) => {
  const memory = fresh();
  try {
    t.deepEqual(pairs(memory.nonZeroRuns(0, memory.size)), []);
    const bytes = new Uint8Array(memory.buffer);
    bytes[3 * PAGE + 100] = 1;
    bytes[5 * PAGE] = 2;
    bytes[7 * PAGE - 1] = 3; // the last byte of page 6: pages 5 and 6 are one run
    bytes.fill(0, 10 * PAGE, 12 * PAGE); // touched, but zero
    bytes[63 * PAGE + 4095] = 4; // the last page: a run that ends with the range
    t.deepEqual(pairs(memory.nonZeroRuns(0, memory.size)), [[3 * PAGE, PAGE], [5 * PAGE, 2 * PAGE], [63 * PAGE, PAGE]]);
    t.deepEqual(pairs(memory.nonZeroRuns(4 * PAGE, 2 * PAGE)), [[5 * PAGE, PAGE]], 'a run is cut at the end of the range asked');
  } finally {
    memory.close();
  }
});

test('nonZeroRuns refuses ranges that are unaligned or outside RAM', (t) => {
  const memory = fresh();
  try {
    t.throws(() => memory.nonZeroRuns(1, PAGE), { message: /multiples of 4096/ });
    t.throws(() => memory.nonZeroRuns(0, memory.size + PAGE), { message: /outside guest memory/ });
    t.throws(() => memory.nonZeroRuns(-PAGE, PAGE), { message: /outside guest memory/ });
  } finally {
    memory.close();
  }
});

test('loadFileData copies a sparse file into RAM: its data lands at the same distance, holes stay zero', (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'nodevmm-pages-')), 'ram');
  const file = openSync(path, 'w+');
  const memory = fresh();
  try {
    ftruncateSync(file, 48 * PAGE);
    writeSync(file, Buffer.from('first'), 0, 5, 8 * PAGE + 7);
    writeSync(file, Buffer.from('last'), 0, 4, 48 * PAGE - 4);
    // file bytes [8 pages, 48 pages) go to RAM from page 16 on
    const read = memory.loadFileData(file, 8 * PAGE, 16 * PAGE, 40 * PAGE);
    t.true(read > 0 && read <= 40 * PAGE, `read ${read} bytes`);
    const bytes = new Uint8Array(memory.buffer);
    t.is(Buffer.from(bytes.subarray(16 * PAGE + 7, 16 * PAGE + 12)).toString(), 'first');
    t.is(Buffer.from(bytes.subarray(56 * PAGE - 4, 56 * PAGE)).toString(), 'last');
    t.deepEqual(pairs(memory.nonZeroRuns(0, memory.size)), [[16 * PAGE, PAGE], [55 * PAGE, PAGE]]);
    t.throws(() => memory.loadFileData(file, 0, 60 * PAGE, 8 * PAGE), { message: /outside guest memory/ });
  } finally {
    closeSync(file);
    memory.close();
  }
});

test('writtenRuns gives each run its guest address, region by region, and refuses a run outside its region', (t) => {
  const low = { slot: 0, gpa: 0, hostOffset: 0, size: 16 * PAGE };
  const high = { slot: 1, gpa: 0x1_0000_0000, hostOffset: 16 * PAGE, size: 16 * PAGE };
  const scan = (offset: number) => new Float64Array(offset === 0 ? [PAGE, 2 * PAGE] : [17 * PAGE, PAGE]);
  t.deepEqual(writtenRuns([low, high], scan), {
    runs: [{ gpa: PAGE, hostOffset: PAGE, length: 2 * PAGE }, { gpa: 0x1_0000_0000 + PAGE, hostOffset: 17 * PAGE, length: PAGE }],
    pages: 3,
  });
  t.throws(() => writtenRuns([low], () => new Float64Array([15 * PAGE, 2 * PAGE])), { message: /outside it/ });
});
