// The `net` part of a VmConfig, in Cloud Hypervisor's shape: `net: [NetConfig]`, each a tap the VMM
// opens by name (`tap`) or one it was handed (`fds`, libvirt's way), with a MAC (a random locally
// administered one unless given) and an id (`_net0`, ...). One queue pair; fields nodevmm does not
// implement are accepted at Cloud Hypervisor's defaults and refused by name otherwise.
import { randomBytes } from 'node:crypto';
import { parseMac } from '../devices/virtio/net.js';
import { booleanField, checkOtherFields, integerField, invalid, isObject, queueSizeField, stringField } from './config-fields.js';

export interface NetConfig {
  tap?: string;
  /** tap fds handed to the VMM (one: a single queue pair) */
  fds?: number[];
  mac: string;
  id: string;
  num_queues: number;
  queue_size: number;
  offload_csum: boolean;
  offload_tso: boolean;
}

export const DEFAULT_NET_QUEUE_SIZE = 256;
const NET_DEFAULTS = { ip: '192.168.249.1', mask: '255.255.255.0', iommu: false, vhost_user: false, vhost_mode: 'Client', pci_segment: 0, offload_ufo: true, mtu: 1500 };

/** A MAC address with the locally administered bit set and the multicast bit clear. */
export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0] & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseNets(value: unknown): NetConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('net must be an array of net configs');
  const ids = new Set<string>();
  const taps = new Set<string>();
  return value.map((net: unknown, i) => {
    const name = `net[${i}]`;
    if (!isObject(net)) throw invalid(`${name} must be an object with a tap or fds`);
    const tap = stringField(net.tap, `${name}.tap`);
    if (tap !== undefined && (tap.length === 0 || tap.length > 15 || /[\s/:]/.test(tap))) throw invalid(`${name}.tap '${tap}' is not an interface name (1 to 15 characters, no spaces, '/' or ':')`);
    if (tap !== undefined && taps.has(tap)) throw invalid(`${name}.tap ${tap} is used by another net`);
    if (tap !== undefined) taps.add(tap);
    const fds = parseFds(net.fds, `${name}.fds`);
    if (tap === undefined && fds === undefined) throw invalid(`${name} needs a tap (a name) or fds (a tap's file descriptor)`);
    if (tap !== undefined && fds !== undefined) throw invalid(`${name} has both tap and fds: give one`);
    const macText = stringField(net.mac, `${name}.mac`);
    if (macText !== undefined && !parseMac(macText)) throw invalid(`${name}.mac '${macText}' is not a MAC address (six hex pairs with ':')`);
    if (macText !== undefined && (parseMac(macText)![0] & 1) !== 0) throw invalid(`${name}.mac ${macText} is a multicast address`);
    const id = stringField(net.id, `${name}.id`) ?? `_net${i}`;
    if (ids.has(id)) throw invalid(`${name}.id ${id} is used by another net`);
    ids.add(id);
    const numQueues = net.num_queues === undefined || net.num_queues === null ? 2 : integerField(net.num_queues, `${name}.num_queues`, 2, 2);
    const queueSize = queueSizeField(net.queue_size, `${name}.queue_size`, DEFAULT_NET_QUEUE_SIZE);
    checkOtherFields(net, name, ['tap', 'fds', 'mac', 'id', 'num_queues', 'queue_size', 'offload_csum', 'offload_tso'], NET_DEFAULTS);
    return {
      ...(tap !== undefined ? { tap } : {}),
      ...(fds !== undefined ? { fds } : {}),
      mac: (macText ?? randomMac()).toLowerCase(),
      id,
      num_queues: numQueues,
      queue_size: queueSize,
      offload_csum: booleanField(net.offload_csum, `${name}.offload_csum`, true),
      offload_tso: booleanField(net.offload_tso, `${name}.offload_tso`, true),
    };
  });
}

function parseFds(value: unknown, name: string): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw invalid(`${name} must be an array of file descriptors`);
  if (value.length !== 1) throw invalid(`${name} has ${value.length} fds: nodevmm runs one queue pair, so one tap fd`);
  return value.map((fd, i) => integerField(fd, `${name}[${i}]`, 0, 0x7fffffff));
}
