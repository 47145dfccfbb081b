// The bodies of Cloud Hypervisor's snapshot and migration requests, checked field by field: a wrong
// or unknown field is a 400 naming it, before the VMM does anything; and what vm.create's may not hold.
import { RestError } from './rest-status.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function fields(body: unknown, request: string, known: readonly string[]): Record<string, unknown> {
  if (!isObject(body)) throw new RestError(400, `${request} takes a JSON object`);
  const unknown = Object.keys(body).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new RestError(400, `${request}: unknown field ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return body;
}

function requiredString(body: Record<string, unknown>, request: string, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new RestError(400, `${request}: ${field} is required, a string`);
  return value;
}

/**
 * vm.create's VmConfig is checked by the VMM; here only what a REST client cannot mean: `fds` in a
 * net names descriptors of the VMM's process, which the client cannot know (and the VM would own,
 * and close). A tap's descriptors come with vm.add-net instead (SCM_RIGHTS).
 */
export function createBody(body: unknown): unknown {
  const nets = isObject(body) && Array.isArray(body.net) ? body.net : [];
  nets.forEach((net: unknown, i) => {
    if (isObject(net) && net.fds !== undefined && net.fds !== null) {
      throw new RestError(400, `vm.create: net[${i}].fds would name this VMM's own descriptors: send the tap's with vm.add-net (SCM_RIGHTS), or name it by tap`);
    }
  });
  return body;
}

/** CH's VmSnapshotConfig: {destination_url}. */
export function snapshotBody(body: unknown): { destinationUrl: string } {
  const value = fields(body, 'vm.snapshot', ['destination_url']);
  return { destinationUrl: requiredString(value, 'vm.snapshot', 'destination_url') };
}

/**
 * CH's RestoreConfig: {source_url, prefault?, resume?, memory_restore_mode?, net_fds?}. A restore reads
 * all RAM in (mode Copy), so prefault changes nothing; resume runs the VM once it is back.
 */
export function restoreBody(body: unknown): { sourceUrl: string; resume: boolean } {
  const request = 'vm.restore';
  const value = fields(body, request, ['source_url', 'prefault', 'resume', 'memory_restore_mode', 'net_fds']);
  for (const flag of ['prefault', 'resume']) {
    if (value[flag] !== undefined && typeof value[flag] !== 'boolean') throw new RestError(400, `${request}: ${flag} must be true or false`);
  }
  if (value.memory_restore_mode !== undefined && value.memory_restore_mode !== 'Copy') {
    throw new RestError(400, `${request}: memory_restore_mode ${JSON.stringify(value.memory_restore_mode)}: nodevmm restores by Copy only`);
  }
  if (value.net_fds !== undefined && !(Array.isArray(value.net_fds) && value.net_fds.length === 0)) {
    throw new RestError(400, `${request}: net_fds: nodevmm has no network devices yet`);
  }
  return { sourceUrl: requiredString(value, request, 'source_url'), resume: value.resume === true };
}

/** CH's ReceiveMigrationData: {receiver_url, tls_dir?}; TLS is not offered. */
export function receiveMigrationBody(body: unknown): { receiverUrl: string } {
  const value = fields(body, 'vm.receive-migration', ['receiver_url', 'tls_dir']);
  if (value.tls_dir !== undefined) throw new RestError(400, 'vm.receive-migration: tls_dir: nodevmm migrates without TLS');
  return { receiverUrl: requiredString(value, 'vm.receive-migration', 'receiver_url') };
}

function boundedInteger(body: Record<string, unknown>, request: string, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RestError(400, `${request}: ${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * CH's SendMigrationData: {destination_url, local?, downtime_ms?, timeout_s?, timeout_strategy?,
 * connections?, tls_dir?}. Not offered: `local: true` (RAM handed over by fd: RAM always travels on the
 * socket), more than one connection, TLS.
 */
export function sendMigrationBody(body: unknown): { destinationUrl: string; downtimeMs?: number; timeoutS?: number; timeoutStrategy?: 'Cancel' | 'Ignore' } {
  const request = 'vm.send-migration';
  const value = fields(body, request, ['destination_url', 'local', 'downtime_ms', 'timeout_s', 'timeout_strategy', 'connections', 'tls_dir']);
  if (value.connections !== undefined && value.connections !== 1) throw new RestError(400, `${request}: connections: nodevmm migrates over one connection (1)`);
  if (value.tls_dir !== undefined) throw new RestError(400, `${request}: tls_dir: nodevmm migrates without TLS`);
  if (value.local !== undefined && value.local !== false) throw new RestError(400, `${request}: local migration (RAM by fd) is not supported; leave local out or false`);
  const strategy = value.timeout_strategy;
  if (strategy !== undefined && strategy !== 'Cancel' && strategy !== 'Ignore') throw new RestError(400, `${request}: timeout_strategy must be "Cancel" or "Ignore"`);
  return {
    destinationUrl: requiredString(value, request, 'destination_url'),
    downtimeMs: boundedInteger(value, request, 'downtime_ms', 1, 3_600_000),
    timeoutS: boundedInteger(value, request, 'timeout_s', 1, 86_400 * 7),
    timeoutStrategy: strategy,
  };
}
