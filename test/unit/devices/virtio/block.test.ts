import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockDevice, BlockStatus, blockDeviceInfo, SECTOR } from '../../../../src/devices/virtio/block.js';
import { SplitQueue } from '../../../../src/devices/virtio/queue.js';
import { DATA, TestDriver } from './helpers/driver.js';

const dir = mkdtempSync(join(tmpdir(), 'nodevmm-blk-'));
let n = 0;

function disk(readonly = false, sectors = 16) {
  const path = join(dir, `disk-${n++}.img`);
  const image = Buffer.alloc(sectors * SECTOR);
  for (let i = 0; i < image.length; i++) image[i] = i % 251;
  writeFileSync(path, image);
  const fd = openSync(path, readonly ? 'r' : 'r+');
  const device = new BlockDevice({ fd, bytes: image.length, readonly, serial: 'disk-serial-number-is-long' });
  const driver = new TestDriver();
  const queue = new SplitQueue(driver.ram, driver.layout, false);
  const HEADER = DATA, STATUS = DATA + 0x10, BUF = DATA + 0x1000;
  /** One request: type, sector, data length; returns [status, used length]. */
  const request = (type: number, sector: number, length: number, write = false) => {
    driver.ram.writeU32(HEADER, type);
    driver.ram.writeU64(HEADER + 8, BigInt(sector));
    driver.ram.writeU8(STATUS, 0xff);
    const data = length > 0 ? [{ addr: BUF, len: length, write }] : [];
    driver.add([{ addr: HEADER, len: 16 }, ...data, { addr: STATUS, len: 1, write: true }]);
    const used = device.handle(0, queue.pop()!);
    return [driver.ram.readU8(STATUS), used];
  };
  return { path, image, device, driver, request, BUF, close: () => closeSync(fd) };
}

test('IN reads sectors into the guest buffer; used length is data plus status', (t) => {
  const d = disk();
  t.deepEqual(d.request(0, 2, 1024, true), [BlockStatus.OK, 1025]);
  t.deepEqual(d.driver.ram.read(d.BUF, 1024), new Uint8Array(d.image.subarray(2 * SECTOR, 4 * SECTOR)));
  d.close();
});

test('OUT writes the guest buffer to the image at its sector', (t) => {
  const d = disk();
  d.driver.ram.fill(d.BUF, 512, 0xab);
  t.deepEqual(d.request(1, 5, 512), [BlockStatus.OK, 1]);
  d.close();
  const after = readFileSync(d.path);
  t.true(after.subarray(5 * SECTOR, 6 * SECTOR).every((b) => b === 0xab));
  t.deepEqual(after.subarray(0, 5 * SECTOR), d.image.subarray(0, 5 * SECTOR));
});

test('a read-only disk offers RO and answers OUT with IOERR; its file does not change', (t) => {
  const d = disk(true);
  t.true((blockDeviceInfo({ bytes: 8192, readonly: true, queueSize: 128 }).features & (1n << 5n)) !== 0n);
  d.driver.ram.fill(d.BUF, 512, 0xab);
  t.deepEqual(d.request(1, 0, 512), [BlockStatus.IOERR, 1]);
  t.deepEqual(d.request(4, 0, 0), [BlockStatus.OK, 1], 'FLUSH is harmless');
  d.close();
  t.deepEqual(readFileSync(d.path), d.image);
});

test('requests past the end of the disk, or of partial sectors, are IOERR', (t) => {
  const d = disk(false, 16);
  t.deepEqual(d.request(0, 15, 1024, true), [BlockStatus.IOERR, 1]);
  t.deepEqual(d.request(0, 2 ** 60, 512, true), [BlockStatus.IOERR, 1]);
  t.deepEqual(d.request(1, 0, 100), [BlockStatus.IOERR, 1]);
  d.close();
  t.deepEqual(readFileSync(d.path), d.image);
});

test('FLUSH, GET_ID (20 bytes of the serial) and an unknown type', (t) => {
  const d = disk();
  t.deepEqual(d.request(4, 0, 0), [BlockStatus.OK, 1]);
  t.deepEqual(d.request(8, 0, 20, true), [BlockStatus.OK, 21]);
  t.is(Buffer.from(d.driver.ram.read(d.BUF, 20)).toString(), 'disk-serial-number-i');
  t.deepEqual(d.request(99, 0, 0), [BlockStatus.UNSUPP, 1]);
  d.close();
});

test('a request without a status byte completes empty; one with a short header is IOERR', (t) => {
  const d = disk();
  d.driver.add([{ addr: DATA, len: 16 }]);
  const queue = new SplitQueue(d.driver.ram, d.driver.layout, false);
  t.is(d.device.handle(0, queue.pop()!), 0);
  d.driver.add([{ addr: DATA, len: 8 }, { addr: DATA + 0x10, len: 1, write: true }]);
  t.is(d.device.handle(0, queue.pop()!), 1);
  t.is(d.driver.ram.readU8(DATA + 0x10), BlockStatus.IOERR);
  d.close();
});

test('the config space carries the capacity in sectors and seg_max', (t) => {
  const info = blockDeviceInfo({ bytes: 10 * SECTOR + 100, readonly: false, queueSize: 128 });
  const view = new DataView(info.config.buffer);
  t.is(view.getBigUint64(0, true), 10n);
  t.is(view.getUint32(12, true), 126);
  t.deepEqual(info.queueSizes, [128]);
});
