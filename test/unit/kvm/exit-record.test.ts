import test from 'ava';
import { native } from '../../../src/kvm/native.js';
import { exitRecordMismatches, RecordLayout } from '../../../src/kvm/exit-record.js';

test("the built addon's exit record has the offsets the run loop reads (no KVM needed)", (t) => {
  const layout = native().layout;
  t.deepEqual(exitRecordMismatches(layout), []);
  t.is(layout.exitRecord.data, RecordLayout.data);
});

test('a layout that moved a field, or changed size, is named field by field', (t) => {
  const layout = native().layout;
  const moved = { exitRecord: { ...layout.exitRecord, aux: 28, size: 100 } };
  t.deepEqual(exitRecordMismatches(moved), ['size: addon 100, expected 4288', 'aux: addon offset 28, expected 24']);
});
