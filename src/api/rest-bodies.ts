// The bodies of Cloud Hypervisor's snapshot and migration requests, checked field by field: a wrong
// or unknown field is a 400 naming it, before the VMM does anything.
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
