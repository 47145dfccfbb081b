// The REST endpoints nodevmm serves under /api/v1: Cloud Hypervisor's names, methods and bodies, each a
// thin call into the embedding API (Vmm), which owns the state machine of LIFECYCLE.md §2.
import { VERSION } from '../version.js';
import type { Vmm, VmCounters, VmInfo } from './vmm.js';
import { RestError } from './rest-status.js';
import { createBody, receiveMigrationBody, restoreBody, sendMigrationBody, snapshotBody } from './rest-bodies.js';

export const API_BASE = '/api/v1/';

export type Reply = { status: 200; body: unknown } | { status: 204 };

export interface Endpoint {
  method: 'GET' | 'PUT';
  /** 'json': the request must carry a JSON body; 'none': a body, if any, is read and ignored */
  body: 'json' | 'none';
  /** `fds`: descriptors the client passed with the request (SCM_RIGHTS), closed after it unless taken */
  handle(vmm: Vmm, body: unknown, fds: readonly number[]): Promise<Reply> | Reply;
  /** a successful handle() owns the passed descriptors (vm.add-net's taps) */
  takesFds?: boolean;
  /** runs once the reply has been flushed to the client (vmm.shutdown ends the process only then) */
  afterReply?(vmm: Vmm): void;
}

/** CH's VmmPingResponse. */
export interface VmmPingResponse {
  build_version: string;
  version: string;
  pid: number;
  features: string[];
}

/** CH's VmCounters shape: counter groups, each a map of integer counters. */
export type RestVmCounters = Record<string, Record<string, number>>;

const NO_CONTENT: Reply = { status: 204 };
const done = async (request: Promise<void>): Promise<Reply> => {
  await request;
  return NO_CONTENT;
};

export function pingResponse(): VmmPingResponse {
  return {
    build_version: `nodevmm-${VERSION} (node ${process.version})`,
    version: VERSION,
    pid: process.pid,
    features: ['kvm', 'pvh', 'bzimage'],
  };
}

/** CH's VmInfo: the TypeScript API's VmInfo in snake_case. */
export interface RestVmInfo {
  config: VmInfo['config'];
  state: VmInfo['state'];
  memory_actual_size: number;
}

export function restInfo(info: VmInfo): RestVmInfo {
  return { config: info.config, state: info.state, memory_actual_size: info.memoryActualSize };
}

/** The embedding API's counters in CH's VmCounters shape: one group per vCPU ("vcpu0"…), then the rest, in snake_case. */
export function restCounters(counters: VmCounters): RestVmCounters {
  const groups: RestVmCounters = {};
  counters.vcpus.forEach((byReason, id) => (groups[`vcpu${id}`] = { ...byReason }));
  const { lifecycle: l, serial, eventMonitor } = counters;
  groups.lifecycle = { boots: l.boots, reboots: l.reboots, guest_shutdowns: l.guestShutdowns, api_shutdowns: l.apiShutdowns, pauses: l.pauses, resumes: l.resumes };
  const u = counters.unclaimed;
  groups.unclaimed = { pio_reads: u.pioReads, pio_writes: u.pioWrites, mmio_reads: u.mmioReads, mmio_writes: u.mmioWrites };
  groups.serial = { dropped_bytes: serial.droppedBytes };
  groups.event_monitor = { lost_events: eventMonitor.lostEvents, pending_events: eventMonitor.pendingEvents };
  // Per vCPU and reason, the mean ns of a timed exit: "vcpu0.io.kvm_ns" and so on, integers all.
  counters.exitTiming?.forEach((byReason, id) => {
    const group: Record<string, number> = {};
    for (const [reason, t] of Object.entries(byReason)) {
      Object.assign(group, { [`${reason}.exits`]: t.exits, [`${reason}.timed`]: t.timed, [`${reason}.kvm_ns`]: t.kvmNs, [`${reason}.vmm_ns`]: t.vmmNs });
    }
    groups[`exit_timing.vcpu${id}`] = group;
  });
  return groups;
}

export const ENDPOINTS: Readonly<Record<string, Endpoint>> = {
  'vmm.ping': { method: 'GET', body: 'none', handle: () => ({ status: 200, body: pingResponse() }) },
  'vmm.shutdown': {
    method: 'PUT',
    body: 'none',
    handle: () => NO_CONTENT,
    afterReply: (vmm) => void vmm.shutdown('api'),
  },
  'vm.create': { method: 'PUT', body: 'json', handle: (vmm, config) => done(vmm.createVm(createBody(config))) },
  'vm.boot': { method: 'PUT', body: 'none', handle: (vmm) => done(vmm.boot()) },
  'vm.shutdown': { method: 'PUT', body: 'none', handle: (vmm) => done(vmm.shutdownVm()) },
  'vm.reboot': { method: 'PUT', body: 'none', handle: (vmm) => done(vmm.reboot()) },
  'vm.pause': { method: 'PUT', body: 'none', handle: (vmm) => done(vmm.pause()) },
  'vm.resume': { method: 'PUT', body: 'none', handle: (vmm) => done(vmm.resume()) },
  'vm.delete': { method: 'PUT', body: 'none', handle: (vmm) => done(vmm.deleteVm()) },
  'vm.power-button': { method: 'PUT', body: 'none', handle: (vmm) => done(vmm.powerButton()) },
  'vm.snapshot': { method: 'PUT', body: 'json', handle: (vmm, body) => done(vmm.snapshot(snapshotBody(body).destinationUrl)) },
  'vm.restore': {
    method: 'PUT',
    body: 'json',
    handle: (vmm, body) => {
      const { sourceUrl, resume } = restoreBody(body);
      return done(vmm.restore(sourceUrl, { resume }));
    },
  },
  'vm.send-migration': { method: 'PUT', body: 'json', handle: (vmm, body) => done(vmm.sendMigration(sendMigrationBody(body))) },
  'vm.receive-migration': { method: 'PUT', body: 'json', handle: (vmm, body) => done(vmm.receiveMigration(receiveMigrationBody(body).receiverUrl)) },
  'vm.add-net': { method: 'PUT', body: 'json', takesFds: true, handle: (vmm, body, fds) => done(vmm.addNet(body, fds)) },
  'vm.info': { method: 'GET', body: 'none', handle: (vmm) => ({ status: 200, body: restInfo(vmm.info()) }) },
  'vm.counters': { method: 'GET', body: 'none', handle: (vmm) => ({ status: 200, body: restCounters(vmm.counters()) }) },
};

// Cloud Hypervisor endpoints nodevmm does not serve yet: a 404 that says so, rather than "unknown".
const NOT_YET = new Set([
  'vm.coredump', 'vm.resize',
  'vm.resize-disk', 'vm.resize-zone', 'vm.add-device', 'vm.remove-device', 'vm.add-disk', 'vm.add-fs',
  'vm.add-pmem', 'vm.add-vdpa', 'vm.add-vsock', 'vm.add-user-device',
  'vm.add-generic-vhost-user', 'vm.nmi', 'vm.debug', 'vmm.nmi',
]);

/**
 * The endpoint a request targets: 404 for a path nodevmm does not serve, 405 (with Allow) for a
 * method the endpoint does not take. HEAD is served wherever GET is.
 */
export function route(method: string, pathname: string): { name: string; endpoint: Endpoint } {
  if (!pathname.startsWith(API_BASE)) throw new RestError(404, `unknown path ${pathname}: the API lives under ${API_BASE}`);
  const name = pathname.slice(API_BASE.length);
  const endpoint = Object.hasOwn(ENDPOINTS, name) ? ENDPOINTS[name] : undefined;
  if (!endpoint) {
    if (NOT_YET.has(name)) throw new RestError(404, `${name} is not supported by nodevmm yet`);
    throw new RestError(404, `unknown API endpoint ${pathname}`);
  }
  const allowed = endpoint.method === 'GET' ? ['GET', 'HEAD'] : [endpoint.method];
  if (!allowed.includes(method)) {
    throw new RestError(405, `${name} takes ${allowed.join(' or ')}, not ${method}`, { Allow: allowed.join(', ') });
  }
  return { name, endpoint };
}
