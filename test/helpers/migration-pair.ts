// Two nodevmm processes for a migration test (source with a VM, destination without), the waits
// and event views the migration tests share, and a unix-socket relay that can hold the migration
// stream at a chosen request to make a race deterministic, or cut it.
import { createServer, connect, type Socket } from 'node:net';
import { readEvents } from './project.js';
import { HEADER_BYTES, decodeRequest, type CommandCode } from '../../src/migration/protocol.js';
import { startApiVmm, tmpFile, waitFor, type ApiVmm } from './api-vmm.js';

let files = 0;
export const unique = (name: string) => tmpFile(`migration-${process.pid}-${files++}-${name}`);

export async function stateOf(vmm: ApiVmm): Promise<string> {
  const info = await vmm.call('GET', 'vm.info');
  return info.status === 404 ? 'none' : (info.json as { state: string }).state;
}

// The lifecycle's events only: a reboot also logs cpu_manager/create_vcpu between them.
export const names = (path: string) =>
  readEvents(path).filter((e) => e.source === 'vm' || e.source === 'vmm').map((e) => `${e.source}/${e.event}`);
export const after = (list: string[], first: string) => list.slice(list.indexOf(first));

/** Waits for the destination to take the VM; a failure on either side ends the wait with its reason. */
export async function handedOver(vms: { sourceEvents: string; destinationEvents: string }, timeoutMs = 30_000): Promise<void> {
  let failure: string | undefined;
  await waitFor(() => {
    const failed = [...readEvents(vms.sourceEvents), ...readEvents(vms.destinationEvents)].find((e) => /^migration(-receive)?-failed$/.test(e.event));
    failure = failed && `${failed.event}: ${failed.properties?.error}`;
    return failure !== undefined || names(vms.destinationEvents).includes('vm/migration-receive-finished');
  }, timeoutMs, 'the destination to take the VM');
  if (failure) throw new Error(`the migration failed: ${failure}`);
}

export interface PairOptions {
  sourceArgs?: string[];
  destinationArgs?: string[];
  stdin?: boolean;
  /** commands that exec each VMM (its network namespace) */
  sourcePrefix?: string[];
  destinationPrefix?: string[];
}

/** Two VMMs with event monitors: the source runs `config`, the destination has no VM. */
export async function pair(config: Record<string, unknown>, options: PairOptions = {}) {
  const sourceEvents = unique('source.events');
  const destinationEvents = unique('destination.events');
  const stdin = options.stdin ? 'pipe' : 'ignore';
  const source = await startApiVmm(['--event-monitor', `path=${sourceEvents}`, ...(options.sourceArgs ?? [])], { stdin, prefix: options.sourcePrefix });
  const destination = await startApiVmm(['--event-monitor', `path=${destinationEvents}`, ...(options.destinationArgs ?? [])], { stdin, prefix: options.destinationPrefix });
  const created = await source.call('PUT', 'vm.create', config);
  if (created.status !== 204) throw new Error(`vm.create: ${created.text}`);
  if ((await source.call('PUT', 'vm.boot')).status !== 204) throw new Error('vm.boot failed');
  return { source, destination, sourceEvents, destinationEvents, stop: () => Promise.all([source.stop(), destination.stop()]) };
}

/**
 * Follows the source's request framing (protocol.ts's headers) and splits each chunk into what may pass and, from the header of the first `stopBefore` request
 * on, what must wait.
 */
function requestFramer(stopBefore: number) {
  let header = Buffer.alloc(0);
  let payload = 0;
  return (chunk: Buffer): { pass: Buffer; rest: Buffer | null } => {
    const pass: Buffer[] = [];
    for (let i = 0; i < chunk.length; ) {
      if (payload > 0) {
        const n = Math.min(payload, chunk.length - i);
        pass.push(chunk.subarray(i, i + n));
        i += n;
        payload -= n;
        continue;
      }
      const n = Math.min(HEADER_BYTES - header.length, chunk.length - i);
      header = Buffer.concat([header, chunk.subarray(i, i + n)]);
      i += n;
      if (header.length < HEADER_BYTES) break;
      const request = decodeRequest(header);
      if (request.command === stopBefore) return { pass: Buffer.concat(pass), rest: Buffer.concat([header, chunk.subarray(i)]) };
      pass.push(header);
      payload = Number(request.length);
      header = Buffer.alloc(0);
    }
    return { pass: Buffer.concat(pass), rest: null };
  };
}

/**
 * A unix-socket relay from `listenPath` to `targetPath`. With `holdBefore` (a request's command), it
 * stops passing the source's bytes at the first such request, until release(); kill() cuts both sides.
 * (Holding at a request, not at a byte count: how many bytes a migration sends depends on what the
 * guest wrote.)
 */
export async function relay(listenPath: string, targetPath: string, holdBefore?: CommandCode) {
  let held: Buffer[] | null = null;
  let reachedHold!: () => void;
  const holding = new Promise<void>((resolve) => (reachedHold = resolve));
  let frame = holdBefore === undefined ? null : requestFramer(holdBefore);
  const sockets: Socket[] = [];
  let toTarget: Socket | null = null;
  const server = createServer((from) => {
    const to = connect({ path: targetPath });
    toTarget = to;
    sockets.push(from, to);
    to.on('data', (chunk) => from.write(chunk));
    from.on('data', (chunk: Buffer) => {
      if (held) return void held.push(chunk);
      if (!frame) return void to.write(chunk);
      const { pass, rest } = frame(chunk);
      if (pass.length) to.write(pass);
      if (rest) {
        held = [rest];
        frame = null;
        reachedHold();
      }
    });
    for (const s of [from, to]) s.on('error', () => {});
    from.on('close', () => to.destroy());
    to.on('close', () => from.destroy());
  });
  await new Promise<void>((resolve) => server.listen(listenPath, resolve));
  return {
    holding,
    release: () => {
      const pending = held ?? [];
      held = null;
      for (const chunk of pending) toTarget?.write(chunk);
    },
    kill: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
