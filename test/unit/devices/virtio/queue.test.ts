import test from 'ava';
import fc from 'fast-check';
import { QueueError, SplitQueue } from '../../../../src/devices/virtio/queue.js';
import { Desc } from '../../../../src/devices/virtio/constants.js';
import { DATA, LAYOUT, RAM_BYTES, TestDriver } from './helpers/driver.js';

const queueOf = (driver: TestDriver, eventIdx = false) => new SplitQueue(driver.ram, driver.layout, eventIdx);
const offsetIn = (driver: TestDriver, view: Uint8Array) => view.byteOffset - driver.ram.read(0, 1).byteOffset;

test('a chain comes back as views of guest RAM, readable buffers first, in order', (t) => {
  const driver = new TestDriver();
  const queue = queueOf(driver);
  t.is(queue.pop(), null, 'nothing available yet');
  const head = driver.add([{ addr: DATA, len: 16 }, { addr: DATA + 0x100, len: 512, write: true }, { addr: DATA + 0x400, len: 1, write: true }]);
  const chain = queue.pop()!;
  t.is(chain.head, head);
  t.deepEqual(chain.readable.map((b) => [offsetIn(driver, b), b.length]), [[DATA, 16]]);
  t.deepEqual(chain.writable.map((b) => [offsetIn(driver, b), b.length]), [[DATA + 0x100, 512], [DATA + 0x400, 1]]);
  chain.writable[1][0] = 7;
  t.is(driver.ram.readU8(DATA + 0x400), 7, 'writes reach guest RAM: no copy');
  t.is(queue.pop(), null);
});

test('used entries go to the used ring and used.idx follows', (t) => {
  const driver = new TestDriver();
  const queue = queueOf(driver);
  for (let i = 0; i < 11; i++) {
    driver.add([{ addr: DATA, len: 8, write: true }]);
    const chain = queue.pop()!;
    queue.pushUsed(chain.head, 8 + i);
    t.is(driver.usedIdx, i + 1);
    t.deepEqual(driver.used(i % 8), { id: chain.head, len: 8 + i });
  }
});

test('indirect tables are walked; their buffers count like direct ones', (t) => {
  const driver = new TestDriver();
  const table = 0x8000;
  driver.writeDesc(0, DATA, 16, Desc.F_NEXT, 1, table);
  driver.writeDesc(1, DATA + 0x200, 64, Desc.F_WRITE, 0, table);
  driver.writeDesc(0, table, 32, Desc.F_INDIRECT, 0);
  driver.publish(0);
  const chain = queueOf(driver).pop()!;
  t.deepEqual([chain.readable.length, chain.writable.length, chain.writable[0].length], [1, 1, 64]);
});

test('EVENT_IDX: interrupts as used_event asks, and avail_event is armed at the next request', (t) => {
  const driver = new TestDriver();
  const queue = queueOf(driver, true);
  driver.setUsedEvent(1); // interrupt once used.idx passes 1
  for (let i = 0; i < 3; i++) {
    driver.add([{ addr: DATA, len: 8, write: true }]);
    queue.pushUsed(queue.pop()!.head, 8);
  }
  t.true(queue.needsInterrupt(0), 'used.idx went 0 -> 3 past used_event 1');
  t.false(queue.needsInterrupt(2), 'used.idx went 2 -> 3, used_event 1 was passed before');
  t.false(queue.needsInterrupt(3), 'nothing new');
  t.false(queue.armNotification(), 'nothing pending');
  t.is(driver.availEvent, 3);
  driver.add([{ addr: DATA, len: 8, write: true }]);
  t.true(queue.armNotification(), 'a request arrived meanwhile: look again');
});

test('without EVENT_IDX, NO_INTERRUPT in avail.flags suppresses the interrupt', (t) => {
  const driver = new TestDriver();
  const queue = queueOf(driver);
  driver.add([{ addr: DATA, len: 8, write: true }]);
  queue.pushUsed(queue.pop()!.head, 8);
  t.true(queue.needsInterrupt(0));
  driver.ram.writeU16(LAYOUT.avail, 1);
  t.false(queue.needsInterrupt(0));
});

const hostile: Array<[string, (d: TestDriver) => void, RegExp]> = [
  ['a chain that loops', (d) => { d.writeDesc(0, DATA, 8, Desc.F_NEXT, 1); d.writeDesc(1, DATA, 8, Desc.F_NEXT, 0); d.publish(0); }, /longer than the queue/],
  ['next past the queue', (d) => { d.writeDesc(0, DATA, 8, Desc.F_NEXT, 9); d.publish(0); }, /chains to 9/],
  ['a head past the queue', (d) => d.publish(8), /descriptor 8, past the queue size/],
  ['a buffer outside RAM', (d) => { d.writeDesc(0, RAM_BYTES - 4, 8, Desc.F_WRITE, 0); d.publish(0); }, /outside guest RAM/],
  ['a buffer at 2^63', (d) => { d.writeDesc(0, 2 ** 63, 8, 0, 0); d.publish(0); }, /outside guest RAM/],
  ['avail.idx too far ahead', (d) => d.setAvailIdx(9), /9 entries ahead/],
  ['a readable buffer after a writable one', (d) => { d.writeDesc(0, DATA, 8, Desc.F_WRITE | Desc.F_NEXT, 1); d.writeDesc(1, DATA, 8, 0, 0); d.publish(0); }, /device-readable after a device-writable/],
  ['INDIRECT with NEXT', (d) => { d.writeDesc(0, 0x8000, 16, Desc.F_INDIRECT | Desc.F_NEXT, 1); d.publish(0); }, /both INDIRECT and NEXT/],
  ['an indirect table of 17 bytes', (d) => { d.writeDesc(0, 0x8000, 17, Desc.F_INDIRECT, 0); d.publish(0); }, /indirect table of 17 bytes/],
  ['a nested indirect table', (d) => { d.writeDesc(0, 0x9000, 16, Desc.F_INDIRECT, 0, 0x8000); d.writeDesc(0, 0x8000, 16, Desc.F_INDIRECT, 0); d.publish(0); }, /nests another/],
  ['an indirect chain that loops', (d) => { d.writeDesc(0, DATA, 8, Desc.F_NEXT, 1, 0x8000); d.writeDesc(1, DATA, 8, Desc.F_NEXT, 0, 0x8000); d.writeDesc(0, 0x8000, 32, Desc.F_INDIRECT, 0); d.publish(0); }, /loops/],
];

for (const [name, corrupt, message] of hostile) {
  test(`hostile: ${name} is a QueueError`, (t) => {
    const driver = new TestDriver();
    const queue = queueOf(driver);
    corrupt(driver);
    t.throws(() => queue.pop(), { instanceOf: QueueError, message });
  });
}

test('hostile: rings that do not fit are refused at start', (t) => {
  const driver = new TestDriver();
  t.throws(() => new SplitQueue(driver.ram, { ...driver.layout, size: 6 }, false), { instanceOf: QueueError, message: /power of 2/ });
  t.throws(() => new SplitQueue(driver.ram, { ...driver.layout, desc: 0x1008 }, false), { instanceOf: QueueError, message: /misaligned/ });
  t.throws(() => new SplitQueue(driver.ram, { ...driver.layout, used: RAM_BYTES - 8 }, false), { instanceOf: QueueError, message: /used ring .* outside guest RAM/ });
  t.throws(() => new SplitQueue(driver.ram, { ...driver.layout, size: 32768, desc: RAM_BYTES - 0x1000 }, false), { instanceOf: QueueError, message: /descriptor table/ });
});

test('fuzz: any descriptor table and avail ring yields QueueErrors or in-RAM buffers, never a hang or another error', (t) => {
  const descriptor = fc.record({
    addr: fc.oneof(fc.integer({ min: 0, max: RAM_BYTES + 64 }), fc.constantFrom(2 ** 32, 2 ** 53, 2 ** 64 - 1)),
    len: fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.constantFrom(0xffff_ffff, 16, 32)),
    flags: fc.integer({ min: 0, max: 7 }),
    next: fc.integer({ min: 0, max: 10 }),
  });
  fc.assert(
    fc.property(fc.array(descriptor, { minLength: 8, maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 0xffff }), (descs, heads, availIdx) => {
      const driver = new TestDriver();
      descs.forEach((d, i) => driver.writeDesc(i, Math.min(d.addr, 2 ** 64 - 1), d.len, d.flags, d.next));
      // indirect entries point at the descriptor table itself: hostile tables inside RAM
      heads.forEach((h, i) => driver.ram.writeU16(LAYOUT.avail + 4 + 2 * (i % 8), h));
      driver.setAvailIdx(availIdx);
      const queue = queueOf(driver);
      for (let i = 0; i < 20; i++) {
        let chain;
        try {
          chain = queue.pop();
        } catch (error) {
          if (!(error instanceof QueueError)) throw error;
          return;
        }
        if (!chain) return;
        for (const b of [...chain.readable, ...chain.writable]) {
          const at = offsetIn(driver, b);
          if (at < 0 || at + b.length > RAM_BYTES) throw new Error('a buffer outside RAM');
        }
      }
    }),
    { numRuns: 3000 },
  );
  t.pass();
});
