// The virtio parts of a VmConfig, in Cloud Hypervisor's shape: `disks: [DiskConfig]`,
// `rng: RngConfig` and `vsock: VsockConfig` (nets are net-config.ts's). Fields nodevmm does not implement are accepted at Cloud Hypervisor's defaults and
// refused by name otherwise; paths are checked now, so a missing image fails at vm.create.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { booleanField, checkOtherFields, checkReadableFile, integerField, invalid, isObject, queueSizeField, stringField } from './config-fields.js';

export interface DiskConfig {
  path: string;
  readonly: boolean;
  id: string;
  /** QueueNumMax of the disk's queue (Cloud Hypervisor's queue_size, default 128) */
  queue_size: number;
  serial?: string;
}

export interface RngConfig {
  src: string;
}

const DISK_DEFAULTS = { direct: false, iommu: false, num_queues: 1, vhost_user: false, pci_segment: 0, backing_files: false, sparse: true, image_type: 'Raw' };
export const DEFAULT_QUEUE_SIZE = 128;
export const DEFAULT_RNG_SOURCE = '/dev/urandom';

function checkWritable(path: string, name: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (error) {
    throw invalid(`${name} ${path} cannot be written (${(error as NodeJS.ErrnoException).code}); give readonly=on to use it read-only`);
  }
}

export function parseDisks(value: unknown, checkFiles: boolean): DiskConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('disks must be an array of disk configs');
  const ids = new Set<string>();
  return value.map((disk: unknown, i) => {
    const name = `disks[${i}]`;
    if (!isObject(disk)) throw invalid(`${name} must be an object with a path`);
    const path = stringField(disk.path, `${name}.path`);
    if (!path) throw invalid(`${name}.path is required`);
    const readonly = booleanField(disk.readonly, `${name}.readonly`, false);
    const id = stringField(disk.id, `${name}.id`) ?? `_disk${i}`;
    if (ids.has(id)) throw invalid(`${name}.id ${id} is used by another disk`);
    ids.add(id);
    const queueSize = queueSizeField(disk.queue_size, `${name}.queue_size`, DEFAULT_QUEUE_SIZE);
    const serial = stringField(disk.serial, `${name}.serial`);
    checkOtherFields(disk, name, ['path', 'readonly', 'id', 'queue_size', 'serial', 'lock_granularity'], DISK_DEFAULTS);
    if (checkFiles) {
      checkReadableFile(path, `${name}.path`);
      if (!readonly) checkWritable(path, `${name}.path`);
    }
    return { path, readonly, id, queue_size: queueSize, ...(serial !== undefined ? { serial } : {}) };
  });
}

export function parseRng(value: unknown, checkFiles: boolean): RngConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid('rng must be an object with src');
  const src = stringField(value.src, 'rng.src') ?? DEFAULT_RNG_SOURCE;
  checkOtherFields(value, 'rng', ['src', 'id'], { iommu: false, pci_segment: 0 });
  if (checkFiles) {
    try {
      accessSync(src, constants.R_OK);
      if (statSync(src).isDirectory()) throw new Error('EISDIR');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw invalid(code === 'ENOENT' ? `rng.src ${src} does not exist` : `rng.src ${src} cannot be read (${code})`);
    }
  }
  return { src };
}

export interface VsockConfig {
  /** the guest's CID (3 and up: 0-2 are the hypervisor's and the host's) */
  cid: number;
  /** the host side's Unix socket; guest connections to host port P go to `socket`_P */
  socket: string;
  id: string;
}

export function parseVsock(value: unknown, checkFiles: boolean): VsockConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid('vsock must be an object with cid and socket');
  if (value.cid === undefined) throw invalid('vsock.cid is required');
  const cid = integerField(value.cid, 'vsock.cid', 3, 0xffff_fffe);
  const socket = stringField(value.socket, 'vsock.socket');
  if (!socket) throw invalid('vsock.socket is required');
  // room for the longest `_PORT` suffix in sun_path's 107 bytes
  if (Buffer.byteLength(socket) > 96) throw invalid(`vsock.socket ${socket} is longer than 96 bytes (a Unix socket path has at most 107, and _PORT follows it)`);
  const id = stringField(value.id, 'vsock.id') ?? '_vsock0';
  checkOtherFields(value, 'vsock', ['cid', 'socket', 'id'], { iommu: false, pci_segment: 0 });
  if (checkFiles) {
    try {
      if (!statSync(dirname(socket)).isDirectory()) throw new Error('ENOTDIR');
    } catch {
      throw invalid(`vsock.socket ${socket}: its directory does not exist`);
    }
  }
  return { cid, socket, id };
}
