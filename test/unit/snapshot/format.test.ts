// state.json's checks without KVM: a document written by snapshotState reads back; every kind of
// damage is refused with a message that names the file and the problem.
import test from 'ava';
import { VmmError } from '../../../src/errors.js';
import { ramRegions } from '../../../src/boot/memory-layout.js';
import { SAVED_MACHINE_VERSION } from '../../../src/vm/machine.js';
import { checkMemoryRanges, parseSnapshotState, snapshotState } from '../../../src/snapshot/format.js';
import { restoreBody, snapshotBody } from '../../../src/api/rest-bodies.js';
import { RestError } from '../../../src/api/rest-status.js';

const MiB = 1 << 20;
const configText = JSON.stringify({ memory: { size: 64 * MiB } });
const machine = { version: SAVED_MACHINE_VERSION, vcpus: [], vm: {}, devices: {} } as never;
const written = (): string => JSON.stringify(snapshotState(configText, machine, ramRegions(64 * MiB), 'ab'.repeat(32)));

test('a written state.json reads back, and fits its RAM size only', (t) => {
  const state = parseSnapshotState(written(), configText);
  t.is(state.memory.bytes, 64 * MiB);
  t.notThrows(() => checkMemoryRanges(state, 64 * MiB));
  t.regex(t.throws(() => checkMemoryRanges(state, 128 * MiB), { instanceOf: VmmError })!.message, /do not fit the config's 134217728 bytes/);
});

test('damage to state.json or config.json is refused, naming the problem', (t) => {
  const edit = (change: (s: Record<string, any>) => void): string => {
    const s = JSON.parse(written());
    change(s);
    return JSON.stringify(s);
  };
  const cases: Array<[string, string, string, RegExp]> = [
    ['not JSON', '{', configText, /state.json is not JSON/],
    ['no format', '{}', configText, /not a nodevmm snapshot/],
    ['a JSON array', '[]', configText, /not a nodevmm snapshot/],
    ['another version', edit((s) => (s.version = 1)), configText, /format version 1 .*reads version 2/],
    ['config changed', written(), configText.replace('64', '65'), /config.json does not match/],
    ['machine changed', edit((s) => (s.machine.vcpus = [1])), configText, /machine state .* does not match its checksum/],
    ['machine missing', edit((s) => delete s.machine), configText, /machine state/],
    ['memory missing', edit((s) => delete s.memory), configText, /no valid "memory" section/],
  ];
  for (const [what, state, config, message] of cases) {
    const error = t.throws(() => parseSnapshotState(state, config), { instanceOf: VmmError }, what);
    t.is(error?.kind, 'invalid-config', what);
    t.regex(error?.message ?? '', message, what);
  }
});

test('snapshot and restore bodies: Cloud Hypervisor\'s fields, each checked', (t) => {
  t.deepEqual(snapshotBody({ destination_url: 'file:///tmp/s' }), { destinationUrl: 'file:///tmp/s' });
  t.deepEqual(restoreBody({ source_url: 'file:///tmp/s', prefault: true, resume: true, memory_restore_mode: 'Copy' }), { sourceUrl: 'file:///tmp/s', resume: true });
  for (const body of [null, [], 'x', {}, { destination_url: 3 }, { destination_url: '' }, { destination_url: 'file:///x', other: 1 }]) {
    t.is(t.throws(() => snapshotBody(body), { instanceOf: RestError })?.status, 400, JSON.stringify(body));
  }
  for (const body of [{}, { source_url: 'file:///x', prefault: 'yes' }, { source_url: 'file:///x', memory_restore_mode: 'OnDemand' }, { source_url: 'file:///x', net_fds: [3] }]) {
    t.is(t.throws(() => restoreBody(body), { instanceOf: RestError })?.status, 400, JSON.stringify(body));
  }
});
