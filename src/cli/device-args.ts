// The virtio device flags, in Cloud Hypervisor's form: `--disk path=IMG[,readonly=on][,id=ID]
// [,queue_size=N][,serial=S]`, several disks after one flag or the flag repeated, `--net tap=NAME|fd=N
// [,mac=MAC][,id=ID][,...]` likewise, and `--rng [src=PATH]`.
// Each becomes the VmConfig field of the same name; the config's parser checks the files.
import { UsageError } from './usage-error.js';

export interface DiskFlag {
  path: string;
  readonly?: boolean;
  id?: string;
  queue_size?: number;
  serial?: string;
}

function keyValues(text: string, flag: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new UsageError(`${flag}: expected key=value, got '${part}'`);
    const key = part.slice(0, eq);
    if (!allowed.includes(key)) throw new UsageError(`${flag}: unknown parameter '${key}' (expected ${allowed.join(', ')})`);
    if (out.has(key)) throw new UsageError(`${flag}: ${key} given twice in '${text}'`);
    out.set(key, part.slice(eq + 1));
  }
  return out;
}

function onOff(value: string, flag: string, key: string): boolean {
  if (['on', 'true'].includes(value)) return true;
  if (['off', 'false'].includes(value)) return false;
  throw new UsageError(`${flag}: ${key} must be on or off, got '${value}'`);
}

function count(value: string, flag: string, key: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag}: ${key} must be a number, got '${value}'`);
  return Number(value);
}

export function parseDiskFlag(text: string): DiskFlag {
  const kv = keyValues(text, '--disk', ['path', 'readonly', 'id', 'queue_size', 'serial']);
  const path = kv.get('path');
  if (!path) throw new UsageError(`--disk: expected path=IMAGE, got '${text}'`);
  const disk: DiskFlag = { path };
  if (kv.has('readonly')) disk.readonly = onOff(kv.get('readonly')!, '--disk', 'readonly');
  if (kv.has('id')) disk.id = kv.get('id')!;
  if (kv.has('serial')) disk.serial = kv.get('serial')!;
  if (kv.has('queue_size')) disk.queue_size = count(kv.get('queue_size')!, '--disk', 'queue_size');
  return disk;
}

export function parseRngFlag(text: string): { src: string } {
  const kv = keyValues(text, '--rng', ['src']);
  const src = kv.get('src');
  if (src === '') throw new UsageError('--rng: src needs a path');
  return { src: src ?? '/dev/urandom' };
}

export interface NetFlag {
  tap?: string;
  fds?: number[];
  mac?: string;
  id?: string;
  queue_size?: number;
  num_queues?: number;
  offload_csum?: boolean;
  offload_tso?: boolean;
  ip?: string;
  mask?: string;
}

export function parseNetFlag(text: string): NetFlag {
  const kv = keyValues(text, '--net', ['tap', 'fd', 'mac', 'id', 'queue_size', 'num_queues', 'offload_csum', 'offload_tso', 'ip', 'mask']);
  if (!kv.has('tap') && !kv.has('fd')) throw new UsageError(`--net: expected tap=NAME or fd=N, got '${text}'`);
  const net: NetFlag = {};
  for (const key of ['tap', 'mac', 'id', 'ip', 'mask'] as const) if (kv.has(key)) net[key] = kv.get(key)!;
  // Cloud Hypervisor's forms: fd=3 and fd=[3]
  if (kv.has('fd')) net.fds = kv.get('fd')!.replace(/^\[(.*)\]$/, '$1').split(';').map((fd) => count(fd, '--net', 'fd'));
  for (const key of ['queue_size', 'num_queues'] as const) if (kv.has(key)) net[key] = count(kv.get(key)!, '--net', key);
  for (const key of ['offload_csum', 'offload_tso'] as const) if (kv.has(key)) net[key] = onOff(kv.get(key)!, '--net', key);
  return net;
}

export function parseVsockFlag(text: string): { cid: number; socket: string; id?: string } {
  const kv = keyValues(text, '--vsock', ['cid', 'socket', 'id']);
  if (!kv.has('cid') || !kv.get('socket')) throw new UsageError(`--vsock: expected cid=N,socket=PATH, got '${text}'`);
  return { cid: count(kv.get('cid')!, '--vsock', 'cid'), socket: kv.get('socket')!, ...(kv.has('id') ? { id: kv.get('id')! } : {}) };
}
