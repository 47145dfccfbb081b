// The house rules of docs/DECISIONS.md ("The VMM core and the edges"), checked on the source: no
// import cycles between files or between src/'s folders, no file over 400 lines, and KVM's structs
// known only to src/kvm/ (and native/).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cycles, folderGraph, importGraph, sourceFiles, type Graph } from '../../helpers/import-graph.js';
import { ROOT } from '../../helpers/project.js';

const src = join(ROOT, 'src');
const MAX_LINES = 400;

test('the import-graph checker finds a planted cycle', (t) => {
  const planted: Graph = new Map([
    ['a.ts', new Set(['b.ts'])],
    ['b.ts', new Set(['c.ts'])],
    ['c.ts', new Set(['a.ts'])],
    ['d.ts', new Set(['a.ts'])],
  ]);
  t.deepEqual(cycles(planted), [['a.ts', 'b.ts', 'c.ts']]);
  t.deepEqual(cycles(folderGraph(new Map([['x/a.ts', new Set(['y/b.ts'])], ['y/b.ts', new Set(['x/c.ts'])], ['x/c.ts', new Set()]]))), [['x', 'y']]);
});

test('no import cycle between files of src/', (t) => {
  const graph = importGraph(src);
  t.true(graph.size > 50, `only ${graph.size} files found`);
  t.deepEqual(cycles(graph), []);
});

test("no import cycle between src/'s folders", (t) => {
  t.deepEqual(cycles(folderGraph(importGraph(src))), []);
});

test(`no file under src/ has more than ${MAX_LINES} lines`, (t) => {
  const long = sourceFiles(src)
    .map((file) => ({ file: relative(src, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
    .filter((f) => f.lines > MAX_LINES);
  t.deepEqual(long, []);
});
// Typed values (KvmRegs, segments) may travel anywhere; struct sizes and byte codecs may not.
const STRUCT_BYTES = /\bKVM_[A-Z0-9_]+_SIZE\b|\b(?:en|de)code(?:Regs|Sregs|VcpuEvents)\b/;

test("only src/kvm/ knows KVM's struct sizes and byte layouts", (t) => {
  const offenders = sourceFiles(src)
    .filter((file) => !relative(src, file).startsWith('kvm/'))
    .filter((file) => STRUCT_BYTES.test(readFileSync(file, 'utf8')))
    .map((file) => relative(src, file));
  t.deepEqual(offenders, []);
});
