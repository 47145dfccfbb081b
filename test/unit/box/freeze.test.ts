// The box runner's freeze handling: registers named from kallsyms, test files found in order, and
// each file's end read from the box's output.
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describeRips } from '../../../scripts/box/monitor.js';
import { DoneTracker, expandPattern } from '../../../scripts/test/box-run.js';

const REGISTERS = `CPU#0
RAX=0000000000000000 RBX=ffffffff82a13940
RIP=ffffffff81a4e8cb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
CPU#1
RIP=ffffffffc0350010 RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
CPU#2
RIP=00007f0000001000 RFL=00000202 [-------] CPL=3 II=0 A20=1 SMM=0 HLT=0
`;

test('each vCPU RIP is named by the nearest text symbol below it, and left bare beyond the text', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'freeze-'));
  const kallsyms = join(dir, 'kallsyms');
  writeFileSync(kallsyms, 'ffffffff81a4e8c0 t native_safe_halt\nffffffff81a4e900 T default_idle\nffffffffc0350000 t svm_vcpu_run\t[kvm_amd]\nffffffff81000000 D not_text\n');
  t.deepEqual(describeRips(REGISTERS, kallsyms), [
    'vCPU 0: RIP=ffffffff81a4e8cb CPL=0 (native_safe_halt+0xb)',
    'vCPU 1: RIP=ffffffffc0350010 CPL=0 (svm_vcpu_run [kvm_amd]+0x10)',
    'vCPU 2: RIP=00007f0000001000 CPL=3',
  ]);
  t.deepEqual(describeRips(REGISTERS, join(dir, 'missing')).map((l) => l.replace(/ \(.*/, '')), [
    'vCPU 0: RIP=ffffffff81a4e8cb CPL=0',
    'vCPU 1: RIP=ffffffffc0350010 CPL=0',
    'vCPU 2: RIP=00007f0000001000 CPL=3',
  ]);
});

test('DIR/**/*.test.js lists the files under DIR in sorted order; another path stands for itself', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'files-'));
  mkdirSync(join(root, 't', 'b'), { recursive: true });
  for (const f of ['t/z.test.js', 't/a.test.js', 't/a.test.js.map', 't/b/m.test.js', 't/helper.js']) writeFileSync(join(root, f), '');
  t.deepEqual(expandPattern('t/**/*.test.js', root), ['t/a.test.js', 't/b/m.test.js', 't/z.test.js']);
  t.deepEqual(expandPattern('t/a.test.js', root), ['t/a.test.js']);
});

test("the tracker passes the output on and records each file's status, even split across chunks", async (t) => {
  const out = new PassThrough();
  let seen = '';
  out.on('data', (c: Buffer) => (seen += c.toString()));
  const tracker = new DoneTracker(out);
  const text = '  ✔ a test\nnodevmm-test: done 0 dist/a.test.js\r\nnoise nodevmm-test: done 9 x\nnodevmm-test: do';
  tracker.write(text);
  tracker.write('ne 1 dist/b.test.js\n');
  await new Promise((resolve) => tracker.end(resolve));
  t.deepEqual([...tracker.done], [['dist/a.test.js', 0], ['dist/b.test.js', 1]]);
  t.is(seen, text + 'ne 1 dist/b.test.js\n');
});
