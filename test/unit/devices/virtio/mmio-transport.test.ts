import test from 'ava';
import { VirtioMmioTransport } from '../../../../src/devices/virtio/mmio-transport.js';
import { createTransportState, Q, queueWord, W } from '../../../../src/devices/virtio/transport-state.js';
import { Feature, featureBits, Reg, Status } from '../../../../src/devices/virtio/constants.js';

const info = { type: 2, features: featureBits(Feature.VERSION_1, Feature.RING_EVENT_IDX, 5), queueSizes: [128, 64], config: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };

function setup() {
  const state = createTransportState(info);
  const kicks = { device: 0, queues: [] as number[] };
  const transport = new VirtioMmioTransport(info, state, { kickDevice: () => kicks.device++, kickQueue: (q) => kicks.queues.push(q) });
  const write = (reg: number, value: number) => transport.write(reg, 4, value);
  const read = (reg: number) => transport.read(reg, 4);
  return { state, kicks, transport, write, read };
}

/** The driver's side of initialization up to FEATURES_OK with the given feature words. */
function negotiate(d: ReturnType<typeof setup>, low: number, high: number): number {
  d.write(Reg.STATUS, Status.ACKNOWLEDGE);
  d.write(Reg.STATUS, Status.ACKNOWLEDGE | Status.DRIVER);
  d.write(Reg.DRIVER_FEATURES_SEL, 0);
  d.write(Reg.DRIVER_FEATURES, low);
  d.write(Reg.DRIVER_FEATURES_SEL, 1);
  d.write(Reg.DRIVER_FEATURES, high);
  d.write(Reg.STATUS, Status.ACKNOWLEDGE | Status.DRIVER | Status.FEATURES_OK);
  return d.read(Reg.STATUS);
}

test('identity registers: magic, version 2, device type, queue sizes, features by select', (t) => {
  const d = setup();
  t.is(d.read(Reg.MAGIC), 0x74726976);
  t.is(d.read(Reg.VERSION), 2);
  t.is(d.read(Reg.DEVICE_ID), 2);
  d.write(Reg.DEVICE_FEATURES_SEL, 0);
  t.is(d.read(Reg.DEVICE_FEATURES), (1 << Feature.RING_EVENT_IDX) | (1 << 5));
  d.write(Reg.DEVICE_FEATURES_SEL, 1);
  t.is(d.read(Reg.DEVICE_FEATURES), 1);
  d.write(Reg.DEVICE_FEATURES_SEL, 7);
  t.is(d.read(Reg.DEVICE_FEATURES), 0);
  d.write(Reg.QUEUE_SEL, 1);
  t.is(d.read(Reg.QUEUE_NUM_MAX), 64);
  d.write(Reg.QUEUE_SEL, 2);
  t.is(d.read(Reg.QUEUE_NUM_MAX), 0, 'a queue the device does not have');
});

test('config space: reads of 1, 2 and 4 bytes; past its end or odd sizes read 0; writes are ignored', (t) => {
  const d = setup();
  t.is(d.transport.read(Reg.CONFIG, 1), 1);
  t.is(d.transport.read(Reg.CONFIG + 2, 2), 0x0403);
  t.is(d.transport.read(Reg.CONFIG + 4, 4), 0x08070605);
  t.is(d.transport.read(Reg.CONFIG + 6, 4), 0, 'crosses the end');
  t.is(d.transport.read(Reg.CONFIG + 0xe00, 4), 0);
  t.is(d.transport.read(Reg.CONFIG, 3), 0);
  d.transport.write(Reg.CONFIG, 4, 0xffffffff);
  t.is(d.transport.read(Reg.CONFIG, 1), 1);
});

test('FEATURES_OK sticks only for offered features that include VERSION_1', (t) => {
  t.is(negotiate(setup(), 0, 0) & Status.FEATURES_OK, 0, 'no VERSION_1: a legacy driver');
  t.is(negotiate(setup(), 1 << 3, 1) & Status.FEATURES_OK, 0, 'a feature not offered');
  t.is(negotiate(setup(), 1 << Feature.RING_EVENT_IDX, 1) & Status.FEATURES_OK, Status.FEATURES_OK);
});

test('DRIVER_OK kicks the device once; without FEATURES_OK it does not stick', (t) => {
  const bad = setup();
  bad.write(Reg.STATUS, Status.ACKNOWLEDGE | Status.DRIVER | Status.DRIVER_OK);
  t.is(bad.read(Reg.STATUS) & Status.DRIVER_OK, 0);
  t.is(bad.kicks.device, 0);
  const d = setup();
  negotiate(d, 0, 1);
  d.write(Reg.STATUS, 0xf);
  t.is(d.read(Reg.STATUS), 0xf);
  t.is(d.kicks.device, 1);
  d.write(Reg.STATUS, 0xf);
  t.is(d.kicks.device, 1, 'no change, no kick');
});

test('queue setup is taken before the queue is ready and before DRIVER_OK, and ignored after', (t) => {
  const d = setup();
  negotiate(d, 0, 1);
  d.write(Reg.QUEUE_SEL, 0);
  d.write(Reg.QUEUE_NUM, 32);
  d.write(Reg.QUEUE_DESC_LOW, 0x1000);
  d.write(Reg.QUEUE_DESC_HIGH, 1);
  d.write(Reg.QUEUE_READY, 1);
  d.write(Reg.QUEUE_NUM, 64);
  const w = d.state.words;
  t.is(w[queueWord(0, Q.NUM)], 32, 'a ready queue keeps its size');
  t.is(w[queueWord(0, Q.DESC_LOW)], 0x1000);
  t.is(w[queueWord(0, Q.DESC_HIGH)], 1);
  d.write(Reg.QUEUE_SEL, 1);
  d.write(Reg.STATUS, 0xf);
  d.write(Reg.QUEUE_NUM, 16);
  t.is(w[queueWord(1, Q.NUM)], 0, 'after DRIVER_OK');
  d.write(Reg.QUEUE_SEL, 9);
  d.write(Reg.QUEUE_NUM, 16);
  t.is(d.read(Reg.QUEUE_READY), 0, 'no such queue');
});

test('QueueNotify of a valid queue kicks it; others are dropped', (t) => {
  const d = setup();
  d.write(Reg.QUEUE_NOTIFY, 1);
  d.write(Reg.QUEUE_NOTIFY, 2);
  d.write(Reg.QUEUE_NOTIFY, 0xffffffff);
  t.deepEqual(d.kicks.queues, [1]);
});

test('InterruptACK clears the bits it names', (t) => {
  const d = setup();
  Atomics.store(d.state.words, W.INTERRUPT_STATUS, 3);
  d.write(Reg.INTERRUPT_ACK, 1);
  t.is(d.read(Reg.INTERRUPT_STATUS), 2);
});

test('status 0 resets every register, counts the reset and kicks the device; the config stays', (t) => {
  const d = setup();
  negotiate(d, 0, 1);
  d.write(Reg.QUEUE_NUM, 32);
  d.write(Reg.STATUS, 0xf);
  d.write(Reg.STATUS, 0);
  t.is(d.read(Reg.STATUS), 0);
  t.is(d.state.words[queueWord(0, Q.NUM)], 0);
  t.is(d.state.words[W.DRIVER_FEATURES_HIGH], 0);
  t.is(d.state.words[W.RESETS], 1);
  t.is(d.kicks.device, 2);
  t.is(d.transport.read(Reg.CONFIG, 1), 1);
});

test('DEVICE_NEEDS_RESET set by the device survives driver status writes until a reset', (t) => {
  const d = setup();
  negotiate(d, 0, 1);
  d.write(Reg.STATUS, 0xf);
  d.state.words[W.STATUS] |= Status.DEVICE_NEEDS_RESET;
  d.write(Reg.STATUS, 0xf);
  t.is(d.read(Reg.STATUS) & Status.DEVICE_NEEDS_RESET, Status.DEVICE_NEEDS_RESET);
  d.write(Reg.STATUS, 0);
  t.is(d.read(Reg.STATUS), 0);
});

test('non-32-bit register accesses read 0 and write nothing', (t) => {
  const d = setup();
  t.is(d.transport.read(Reg.MAGIC, 1), 0);
  d.transport.write(Reg.STATUS, 1, 1);
  t.is(d.read(Reg.STATUS), 0);
});

test('save and restore carry the registers; a bad saved state is refused whole', (t) => {
  const a = setup();
  negotiate(a, 0, 1);
  a.write(Reg.QUEUE_NUM, 32);
  a.write(Reg.QUEUE_READY, 1);
  const saved = a.transport.save();
  const b = setup();
  b.transport.restore(saved);
  t.deepEqual(b.transport.save(), saved);
  t.is(b.state.words[queueWord(0, Q.NUM)], 32);
  t.throws(() => setup().transport.restore({ ...saved, status: 0x1ff }), { message: /status/ });
  t.throws(() => setup().transport.restore({ ...saved, version: 2 }), { message: /version/ });
});
