// VmConfig's disks and rng, as Cloud Hypervisor shapes them: defaults, ids, and refusals that name the field.
import test from 'ava';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseVmConfig } from '../../../src/vmm/config.js';
import { guestPath } from '../../helpers/project.js';

const dir = mkdtempSync(join(tmpdir(), 'nodevmm-devcfg-'));
const image = join(dir, 'disk.img');
writeFileSync(image, Buffer.alloc(4096));
const readOnlyImage = join(dir, 'ro.img');
writeFileSync(readOnlyImage, Buffer.alloc(4096));
chmodSync(readOnlyImage, 0o444);
const withDevices = (devices: object) => ({ payload: { kernel: guestPath('hello') }, ...devices });

test('disks get ids _disk0, _disk1... and Cloud Hypervisor\'s queue size; rng defaults to /dev/urandom', (t) => {
  const config = parseVmConfig(withDevices({ disks: [{ path: image }, { path: image, readonly: true, id: 'data', direct: false, num_queues: 1 }], rng: {} }));
  t.deepEqual(config.disks, [
    { path: image, readonly: false, id: '_disk0', queue_size: 128 },
    { path: image, readonly: true, id: 'data', queue_size: 128 },
  ]);
  t.deepEqual(config.rng, { src: '/dev/urandom' });
  t.is(parseVmConfig(withDevices({})).disks, undefined);
});

test('bad disks and rngs are refused by field', (t) => {
  const refused: Array<[object, RegExp]> = [
    [{ disks: {} }, /disks must be an array/],
    [{ disks: [{}] }, /disks\[0\]\.path is required/],
    [{ disks: [{ path: join(dir, 'none.img') }] }, /disks\[0\]\.path .*none\.img does not exist/],
    [{ disks: [{ path: dir }] }, /is not a regular file/],
    [{ disks: [{ path: image, readonly: 'yes' }] }, /disks\[0\]\.readonly must be true or false/],
    [{ disks: [{ path: image, queue_size: 100 }] }, /queue_size must be a power of 2/],
    [{ disks: [{ path: image, num_queues: 4 }] }, /disks\[0\]\.num_queues is not supported/],
    [{ disks: [{ path: image, id: 'a' }, { path: image, id: 'a' }] }, /disks\[1\]\.id a is used by another disk/],
    [{ disks: Array.from({ length: 9 }, () => ({ path: image, readonly: true })) }, /at most 8 virtio devices/],
    [{ rng: { src: join(dir, 'no-such-source') } }, /rng\.src .* does not exist/],
    [{ rng: { src: '/dev/urandom', iommu: true } }, /rng\.iommu is not supported/],
  ];
  for (const [devices, message] of refused) t.throws(() => parseVmConfig(withDevices(devices)), { message }, JSON.stringify(devices));
});

test('a file the VMM cannot write is refused unless the disk is read-only', (t) => {
  // root may write any file (CI runs as root): the refusal shows only for other users
  if (process.getuid?.() !== 0) t.throws(() => parseVmConfig(withDevices({ disks: [{ path: readOnlyImage }] })), { message: /cannot be written .* readonly=on/ });
  t.notThrows(() => parseVmConfig(withDevices({ disks: [{ path: readOnlyImage, readonly: true }] })));
});
