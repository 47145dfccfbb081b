import test from 'ava';
import { DeviceRunner } from '../../../../src/devices/virtio/device-runner.js';
import { VirtioMmioTransport } from '../../../../src/devices/virtio/mmio-transport.js';
import { createTransportState, Q, queueWord, W } from '../../../../src/devices/virtio/transport-state.js';
import { Desc, Feature, featureBits, Reg, Status } from '../../../../src/devices/virtio/constants.js';
import type { DescriptorChain } from '../../../../src/devices/virtio/queue.js';
import { DATA, LAYOUT, RAM_BYTES, TestDriver } from './helpers/driver.js';
import { WrittenPages } from '../../../../src/devices/virtio/written-pages.js';

const info = { type: 4, features: featureBits(Feature.VERSION_1, Feature.RING_EVENT_IDX), queueSizes: [8], config: new Uint8Array(0) };

function setup(eventIdx = false) {
  const state = createTransportState(info);
  const driver = new TestDriver(8);
  const served: DescriptorChain[] = [];
  const record = { irqs: 0, events: [] as string[], logs: [] as string[] };
  const transport = new VirtioMmioTransport(info, state, { kickDevice: () => {}, kickQueue: () => {} });
  const runner = new DeviceRunner(state, driver.ram, { handle: (_q, chain) => (served.push(chain), 4) }, 1, {
    signalIrq: () => record.irqs++,
    event: (name) => record.events.push(name),
    log: (message) => record.logs.push(message),
  });
  const write = (reg: number, value: number) => transport.write(reg, 4, value);
  /** the guest driver's start-up: features, queue 0 at LAYOUT, DRIVER_OK */
  const start = (size = 8) => {
    write(Reg.STATUS, 0);
    write(Reg.STATUS, Status.ACKNOWLEDGE | Status.DRIVER);
    write(Reg.DRIVER_FEATURES_SEL, 1);
    write(Reg.DRIVER_FEATURES, 1);
    write(Reg.DRIVER_FEATURES_SEL, 0);
    write(Reg.DRIVER_FEATURES, eventIdx ? 1 << Feature.RING_EVENT_IDX : 0);
    write(Reg.STATUS, 0xb);
    write(Reg.QUEUE_NUM, size);
    write(Reg.QUEUE_DESC_LOW, LAYOUT.desc);
    write(Reg.QUEUE_DRIVER_LOW, LAYOUT.avail);
    write(Reg.QUEUE_DEVICE_LOW, LAYOUT.used);
    write(Reg.QUEUE_READY, 1);
    write(Reg.STATUS, 0xf);
    runner.syncStatus();
  };
  return { state, driver, served, record, runner, transport, write, start };
}

test('DRIVER_OK starts the device; a kick serves the queue, fills the used ring and interrupts', (t) => {
  const d = setup();
  d.start();
  t.deepEqual(d.record.events, ['activated']);
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.driver.add([{ addr: DATA + 8, len: 4, write: true }]);
  d.runner.kick(1);
  t.is(d.served.length, 2);
  t.is(d.driver.usedIdx, 2);
  t.deepEqual(d.driver.used(1), { id: 1, len: 4 });
  t.is(d.record.irqs, 1, 'one interrupt for the batch');
  t.is(d.transport.read(Reg.INTERRUPT_STATUS, 4), 1);
});

test('requests made before DRIVER_OK are served when the device starts', (t) => {
  const d = setup();
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.runner.kick(1);
  t.is(d.served.length, 0, 'not started: nothing served');
  d.start();
  t.is(d.served.length, 1);
});

test('a reset stops the device (event reset); the next start begins at index 0', (t) => {
  const d = setup();
  d.start();
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.runner.kick(1);
  d.write(Reg.STATUS, 0);
  d.runner.syncStatus();
  t.deepEqual(d.record.events, ['activated', 'reset']);
  d.driver.ram.fill(LAYOUT.desc, 0x4000, 0); // a driver starts over with zeroed rings
  d.start();
  t.deepEqual(d.record.events, ['activated', 'reset', 'activated']);
  t.is(d.served.length, 1);
});

test('a reset and a restart between two looks are both seen', (t) => {
  const d = setup();
  d.start();
  d.write(Reg.STATUS, 0);
  d.start(); // start() ends in syncStatus: the resets counter moved, so it stops and starts again
  t.deepEqual(d.record.events, ['activated', 'reset', 'activated']);
});

test('a hostile chain: DEVICE_NEEDS_RESET, a config interrupt, one log line; requests after it are not served', (t) => {
  const d = setup();
  d.start();
  d.driver.writeDesc(0, DATA, 8, Desc.F_NEXT | Desc.F_WRITE, 0); // chains to itself
  d.driver.publish(0);
  d.runner.kick(1);
  t.is(d.transport.read(Reg.STATUS, 4) & Status.DEVICE_NEEDS_RESET, Status.DEVICE_NEEDS_RESET);
  t.is(d.transport.read(Reg.INTERRUPT_STATUS, 4) & 2, 2);
  t.is(d.record.logs.length, 1);
  t.regex(d.record.logs[0], /queue 0: .*loop.*needs a reset/);
  d.runner.kick(1);
  t.is(d.record.logs.length, 1, 'logged once');
  t.is(d.served.length, 0);
});

test('a queue that cannot start (size 6) needs a reset; a reset and a good start recover', (t) => {
  const d = setup();
  d.start(6);
  t.regex(d.record.logs[0], /starting: queue size 6/);
  t.deepEqual(d.record.events, [], 'never activated');
  d.start(8);
  t.deepEqual(d.record.events, ['activated']);
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.runner.kick(1);
  t.is(d.served.length, 1);
});

test('quiesce publishes each queue\'s progress for a save and holds kicks until resume', (t) => {
  const d = setup();
  d.start();
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.runner.kick(1);
  d.runner.quiesce();
  const w = d.state.words;
  t.is(w[W.QUEUES_SAVED], 1);
  t.is(w[queueWord(0, Q.NEXT_AVAIL)], 1);
  t.is(w[queueWord(0, Q.NEXT_USED)], 1);
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.runner.kick(1);
  t.is(d.served.length, 1, 'held while quiesced');
  d.runner.resume();
  t.is(d.served.length, 2);
  t.is(w[W.QUEUES_SAVED], 0);
});

test('a device restored from saved progress goes on from there, not from 0', (t) => {
  const a = setup();
  a.start();
  a.driver.add([{ addr: DATA, len: 4, write: true }]);
  a.runner.kick(1);
  a.runner.quiesce();
  const saved = a.transport.save();
  // the restored VM: the same RAM (as a snapshot brings it back) and the saved registers
  const b = setup();
  b.transport.restore(saved);
  const runner = new DeviceRunner(b.state, a.driver.ram, { handle: () => 4 }, 1, { signalIrq: () => {}, event: () => {}, log: () => {} });
  a.driver.add([{ addr: DATA, len: 4, write: true }]);
  runner.syncStatus();
  t.is(a.driver.usedIdx, 2, 'served the request made after the save, not the one before again');
});

test('EVENT_IDX: the device arms avail_event after draining the queue', (t) => {
  const d = setup(true);
  d.start();
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.runner.kick(1);
  t.is(d.driver.availEvent, 1);
});

test('a source-fed queue: an empty source leaves the request in the ring and is watched; data serves it; no buffers, no watching', (t) => {
  const state = createTransportState(info);
  const driver = new TestDriver(8);
  const source = { fd: 77, queue: 0 };
  const frames: number[] = [];
  const backend = { sources: [source], handle: () => (frames.length > 0 ? frames.shift()! : null) };
  const transport = new VirtioMmioTransport(info, state, { kickDevice: () => {}, kickQueue: () => {} });
  const runner = new DeviceRunner(state, driver.ram, backend, 1, { signalIrq: () => {}, event: () => {}, log: () => {} });
  const write = (reg: number, value: number) => transport.write(reg, 4, value);
  write(Reg.STATUS, 3);
  write(Reg.DRIVER_FEATURES_SEL, 1);
  write(Reg.DRIVER_FEATURES, 1);
  write(Reg.STATUS, 0xb);
  write(Reg.QUEUE_NUM, 8);
  write(Reg.QUEUE_DESC_LOW, LAYOUT.desc);
  write(Reg.QUEUE_DRIVER_LOW, LAYOUT.avail);
  write(Reg.QUEUE_DEVICE_LOW, LAYOUT.used);
  write(Reg.QUEUE_READY, 1);
  t.deepEqual(runner.watchedSources(), [], 'nothing is watched before the driver starts the device');
  write(Reg.STATUS, 0xf);
  runner.syncStatus();
  t.deepEqual(runner.watchedSources(), [], 'no buffers yet: the source is not watched');
  driver.add([{ addr: DATA, len: 64, write: true }]);
  driver.add([{ addr: DATA + 64, len: 64, write: true }]);
  runner.kick(1);
  t.is(driver.usedIdx, 0, 'the source had nothing: no request was used');
  t.deepEqual(runner.watchedSources(), [source]);
  frames.push(40);
  runner.kick(1); // the source became readable
  t.is(driver.usedIdx, 1);
  t.deepEqual(driver.used(0), { id: 0, len: 40 });
  t.deepEqual(runner.watchedSources(), [source], 'one buffer left, still waiting for data');
  frames.push(50);
  runner.kick(1);
  t.deepEqual(driver.used(1), { id: 1, len: 50 });
  t.deepEqual(runner.watchedSources(), [], 'out of buffers: the source is left alone until the next kick');
  runner.quiesce();
  driver.add([{ addr: DATA, len: 64, write: true }]);
  runner.kick(1);
  t.deepEqual(runner.watchedSources(), [], 'a quiesced device watches nothing');
});

test('while a migration logs writes, the pages of used buffers and of the used ring are marked; after, none', (t) => {
  const d = setup();
  d.start();
  const bitmap = new SharedArrayBuffer(RAM_BYTES / 4096 / 8);
  const buffer = d.driver.ram.read(0, 1).buffer;
  d.runner.logWrites(new WrittenPages([{ hostOffset: 0, size: RAM_BYTES, bitmap }], buffer));
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.driver.add([{ addr: DATA + 0x2000, len: 0x1001, write: true }]); // two pages
  d.runner.kick(1);
  const marked = (page: number) => (new Uint32Array(bitmap)[page >>> 5] >>> (page & 31)) & 1;
  const dirty = Array.from({ length: RAM_BYTES / 4096 }, (_, page) => page).filter((page) => marked(page));
  t.deepEqual(dirty, [LAYOUT.used / 4096, DATA / 4096, DATA / 4096 + 2, DATA / 4096 + 3]);
  new Uint32Array(bitmap).fill(0);
  d.runner.logWrites(null);
  d.driver.add([{ addr: DATA, len: 4, write: true }]);
  d.runner.kick(1);
  t.true(new Uint32Array(bitmap).every((w) => w === 0));
});
