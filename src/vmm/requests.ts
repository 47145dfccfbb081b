// LIFECYCLE.md §2 as data: what each request does in each VM state. The VMM looks its step up here and
// runs it; every cell the table leaves out is a client error (404 without a VM, 409 otherwise).
import { VmmError } from '../errors.js';
import type { VmState } from './types.js';

export type VmRequest = 'create' | 'boot' | 'shutdown' | 'reboot' | 'pause' | 'resume' | 'delete' | 'power-button' | 'snapshot' | 'restore' | 'send-migration' | 'receive-migration' | 'add-net';

/** What the VMM does for an accepted request. */
export type RequestStep =
  | 'store-config'
  | 'boot-fresh'
  | 'resume'
  | 'stop'
  | 'rebuild'
  | 'pause'
  | 'delete'
  | 'nothing'
  | 'press-power-button'
  | 'snapshot'
  | 'restore'
  | 'send-migration'
  | 'receive-migration'
  | 'add-device';

type StateWithConfig = Exclude<VmState, 'NotCreated'>;

const STEPS: Record<VmRequest, Partial<Record<VmState, RequestStep>>> = {
  create: { NotCreated: 'store-config' },
  boot: { Created: 'boot-fresh', Shutdown: 'boot-fresh', Paused: 'resume' },
  shutdown: { Running: 'stop', Paused: 'stop' },
  reboot: { Running: 'rebuild', Paused: 'rebuild' },
  pause: { Running: 'pause' },
  resume: { Paused: 'resume' },
  delete: { NotCreated: 'nothing', Created: 'delete', Running: 'delete', Paused: 'delete', Shutdown: 'delete' },
  'power-button': { Running: 'press-power-button' },
  // A snapshot is of a paused VM (Cloud Hypervisor's rule: nothing changes while RAM is copied); a
  // restore makes the VMM's VM, so there must be none.
  snapshot: { Paused: 'snapshot' },
  restore: { NotCreated: 'restore' },
  // A migration sends a running or paused VM; it is received by a VMM that has none yet.
  'send-migration': { Running: 'send-migration', Paused: 'send-migration' },
  'receive-migration': { NotCreated: 'receive-migration' },
  // Devices join a VM that is not running: they are built at its next boot (no hotplug yet).
  'add-net': { Created: 'add-device', Shutdown: 'add-device' },
};

/** The verb of "cannot … the VM" messages. */
const VERBS: Record<VmRequest, string> = {
  create: 'create',
  boot: 'boot',
  shutdown: 'shut down',
  reboot: 'reboot',
  pause: 'pause',
  resume: 'resume',
  delete: 'delete',
  'power-button': 'press the power button of',
  snapshot: 'snapshot',
  restore: 'restore',
  'send-migration': 'migrate',
  'receive-migration': 'receive a migration into',
  'add-net': 'add a net to',
};

/** The step for `request` in `state`, or the VmmError a client gets for it. */
export function stepFor(request: VmRequest, state: VmState): RequestStep {
  const step = STEPS[request][state];
  if (step) return step;
  if (request === 'create') throw new VmmError('already-created', 'a VM is already created; delete it first');
  if (request === 'restore') throw new VmmError('already-created', 'a VM is already created; restore needs a VMM without one (delete it first)');
  if (request === 'receive-migration') throw new VmmError('already-created', 'a VM is already created; a migration is received by a VMM without one (delete it first)');
  if (state === 'NotCreated') throw new VmmError('not-found', `no VM is created; cannot ${VERBS[request]} it`);
  if (request === 'snapshot') throw new VmmError('wrong-state', `cannot snapshot the VM in state ${state}: it must be Paused (vm.pause first)`);
  if (request === 'add-net') throw new VmmError('wrong-state', `cannot add a net to the VM in state ${state}: nodevmm adds devices before the VM boots (no hotplug)`);
  throw new VmmError('wrong-state', `cannot ${VERBS[request]} the VM in state ${state satisfies StateWithConfig}`);
}
