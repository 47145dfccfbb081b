// The lifecycle policy (LIFECYCLE.md §1): a pure function from (event, options) to what the VMM does,
// and the operators that feed it: duplicate events of a VM build already decided are absorbed, and
// guest exits and resets raised while the VMM is busy (a snapshot, a restore or a migration) are held
// until it ends, then replayed, or handed over to travel with a migrated VM.
import { Observable, type OperatorFunction, filter, map, merge, scan, mergeMap, from, tap } from '../rx.js';
import type { LifecycleEvent } from './lifecycle.js';

export interface PolicyOptions {
  /** QEMU's -no-shutdown: a guest exit stops the VM but keeps the VMM (and its API) alive. */
  noShutdown: boolean;
}

export type LifecycleAction =
  /** guest exit, no flag: stop the VM, then the VMM exits 0 */
  | { type: 'exit-vmm'; exitCode: 0; event: LifecycleEvent }
  /** guest exit with --no-shutdown: stop the VM, keep the VMM; state Shutdown */
  | { type: 'stop-vm'; event: LifecycleEvent }
  /** reset: rebuild the VM in place and boot it */
  | { type: 'reboot'; event: LifecycleEvent }
  /** fatal: stop everything, the VMM exits 1 whatever --no-shutdown says */
  | { type: 'fatal-exit'; exitCode: 1; event: LifecycleEvent };

export function decide(event: LifecycleEvent, options: PolicyOptions): LifecycleAction {
  switch (event.kind) {
    case 'guest-exit':
      return options.noShutdown ? { type: 'stop-vm', event } : { type: 'exit-vmm', exitCode: 0, event };
    case 'reset':
      return { type: 'reboot', event };
    case 'fatal':
      return { type: 'fatal-exit', exitCode: 1, event };
  }
}

/**
 * Lets through the first guest exit or reset of each VM build (generation) and absorbs the rest:
 * Linux writes the i8042 reset right after the ACPI one, and every vCPU may raise the same exit.
 * Generations only grow, and an event from a build older than one already decided is stale, so the
 * newest decided generation is all there is to remember (constant memory in a reboot loop). Fatal
 * events always pass: nothing may hide a broken VMM.
 */
export function absorbDecided(): OperatorFunction<LifecycleEvent, LifecycleEvent> {
  return (events) =>
    events.pipe(
      scan(
        (acc, event) => {
          if (event.kind === 'fatal') return { newestDecided: acc.newestDecided, pass: event };
          if (event.generation <= acc.newestDecided) return { newestDecided: acc.newestDecided, pass: null };
          return { newestDecided: event.generation, pass: event };
        },
        { newestDecided: -Infinity, pass: null as LifecycleEvent | null },
      ),
      map((acc) => acc.pass),
      filter((event): event is LifecycleEvent => event !== null),
    );
}

/** Ends a hold by giving the held events to `take` instead of replaying them (a migration carries them away). */
export interface HandOver {
  handOver: (events: LifecycleEvent[]) => void;
}

/**
 * Holds guest exits and resets while `control$` says busy (true: a snapshot or migration is in
 * progress) and replays them, in order, when it says false; a HandOver ends the hold by giving them
 * away instead. Fatal events are never held.
 */
export function holdWhileBusy(control$: Observable<boolean | HandOver>): OperatorFunction<LifecycleEvent, LifecycleEvent> {
  type Input = { control: boolean | HandOver } | { event: LifecycleEvent };
  type Acc = { busy: boolean; held: LifecycleEvent[]; out: LifecycleEvent[]; given: (() => void) | null };
  const idle: Acc = { busy: false, held: [], out: [], given: null };
  return (events) =>
    merge(control$.pipe(map((control): Input => ({ control }))), events.pipe(map((event): Input => ({ event })))).pipe(
      scan((acc: Acc, input): Acc => {
        if ('control' in input) {
          const control = input.control;
          if (control === true) return { busy: true, held: acc.held, out: [], given: null };
          if (control === false) return { ...idle, out: acc.held };
          const held = acc.held;
          return { ...idle, given: () => control.handOver(held) };
        }
        if (acc.busy && input.event.kind !== 'fatal') return { busy: true, held: [...acc.held, input.event], out: [], given: null };
        return { busy: acc.busy, held: acc.held, out: [input.event], given: null };
      }, idle),
      tap((acc) => acc.given?.()),
      mergeMap((acc) => from(acc.out)),
    );
}

/** The whole policy as one operator: absorb duplicates, then decide. */
export function lifecyclePolicy(options: PolicyOptions): OperatorFunction<LifecycleEvent, LifecycleAction> {
  return (events) => events.pipe(absorbDecided(), map((event) => decide(event, options)));
}

