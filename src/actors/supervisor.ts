// The supervisor actor: every lifecycle exit of every vCPU arrives here, is routed onto its own stream
// (guest exit, reset, fatal) and turned by the policy into one action at a time. The VMM applies the
// actions; embedders observe the streams.
import { BehaviorSubject, Observable, Subject, filter, merge, share } from '../rx.js';
import type { LifecycleEvent } from './lifecycle.js';
import { holdWhileBusy, lifecyclePolicy, type HandOver, type LifecycleAction, type PolicyOptions } from './policy.js';

export type GuestExitEvent = Extract<LifecycleEvent, { kind: 'guest-exit' }>;
export type ResetEvent = Extract<LifecycleEvent, { kind: 'reset' }>;
export type FatalEvent = Extract<LifecycleEvent, { kind: 'fatal' }>;

export class Supervisor {
  private readonly input = new Subject<LifecycleEvent>();
  private readonly busy = new BehaviorSubject<boolean | HandOver>(false);
  private heldCount = 0;

  readonly guestExit$: Observable<GuestExitEvent>;
  readonly reset$: Observable<ResetEvent>;
  readonly fatal$: Observable<FatalEvent>;
  readonly actions$: Observable<LifecycleAction>;

  constructor(options: PolicyOptions) {
    const released$ = this.input.pipe(holdWhileBusy(this.busy), share());
    this.guestExit$ = released$.pipe(filter((e): e is GuestExitEvent => e.kind === 'guest-exit'), share());
    this.reset$ = released$.pipe(filter((e): e is ResetEvent => e.kind === 'reset'), share());
    this.fatal$ = released$.pipe(filter((e): e is FatalEvent => e.kind === 'fatal'), share());
    this.actions$ = merge(this.guestExit$, this.reset$, this.fatal$).pipe(lifecyclePolicy(options), share());
  }

  /** A vCPU (or the VMM on its behalf) reports a lifecycle exit. */
  post(event: LifecycleEvent): void {
    if (this.busy.value === true && event.kind !== 'fatal') this.heldCount++;
    this.input.next(event);
  }

  /** While busy (snapshot, migration), guest exits and resets are held, then replayed. */
  setBusy(busy: boolean): void {
    this.heldCount = 0;
    this.busy.next(busy);
  }

  /** A guest exit or reset is being held (a migration then finishes at its next iteration boundary). */
  get holding(): boolean {
    return this.heldCount > 0;
  }

  /** Ends a hold without replaying: the held guest exits and resets, in order, for the caller to carry. */
  handOverHeld(): LifecycleEvent[] {
    let taken: LifecycleEvent[] = [];
    this.heldCount = 0;
    this.busy.next({ handOver: (events) => (taken = events) });
    return taken;
  }

  /** Runs `work` with guest exits and resets held (LIFECYCLE.md §1); they are replayed after it. */
  async holdDuring<T>(work: () => Promise<T>): Promise<T> {
    this.setBusy(true);
    try {
      return await work();
    } finally {
      this.setBusy(false);
    }
  }

  complete(): void {
    this.input.complete();
    this.busy.complete();
  }
}
