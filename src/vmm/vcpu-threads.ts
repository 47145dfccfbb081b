// The VMM's side of the vCPU worker pool: a pool sized for the VM (made again only when the vCPU count
// changes), and the translation of a loop's end into the supervisor's lifecycle events.
import { VcpuPool } from '../actors/vcpu-pool.js';
import type { LifecycleEvent, VcpuStop } from '../actors/lifecycle.js';

export interface VcpuThreadHooks {
  /** a lifecycle event from a vCPU of VM build `generation` */
  onEvent(event: LifecycleEvent): void;
  /** a worker thread died: the VMM cannot go on */
  onWorkerDeath(vcpuId: number, error: Error): void;
}

/** Hooks that post every loop's end to the supervisor: a dead worker is a fatal event of the current build. */
export function supervisedHooks(post: (event: LifecycleEvent) => void, currentGeneration: () => number, log: (message: string) => void): VcpuThreadHooks {
  return {
    onEvent: (event) => {
      log(`vCPU ${event.vcpu}: ${event.kind} (${event.kind === 'fatal' ? event.detail.message : event.reason})`);
      post(event);
    },
    onWorkerDeath: (vcpuId, error) => {
      const message = `vCPU ${vcpuId} worker died: ${error.message}`;
      post({ kind: 'fatal', reason: 'fatal', generation: currentGeneration(), vcpu: vcpuId, detail: { message, vcpu: vcpuId } });
    },
  };
}

/** A started pool of `vcpus` workers: `current` when it has that size or grows to it, else a new one (the old is closed). */
export async function poolFor(current: VcpuPool | null, vcpus: number, hooks: VcpuThreadHooks): Promise<VcpuPool> {
  if (current?.size === vcpus) return current;
  if (current && current.size < vcpus) {
    current.grow(vcpus);
    return current;
  }
  await current?.close();
  const pool = new VcpuPool(vcpus, {
    onStop: (vcpuId, generation, stop) => {
      const event = lifecycleEventOf(stop, vcpuId, generation);
      if (event) hooks.onEvent(event);
    },
    onWorkerDeath: hooks.onWorkerDeath,
  });
  await pool.start();
  return pool;
}

/** The lifecycle event a loop's end raises; none for a stop or pause the VMM asked for. */
export function lifecycleEventOf(stop: VcpuStop, vcpu: number, generation: number): LifecycleEvent | null {
  switch (stop.kind) {
    case 'guest-exit':
      return { kind: 'guest-exit', reason: stop.reason, generation, vcpu };
    case 'reset':
      return { kind: 'reset', reason: stop.reason, generation, vcpu };
    case 'fatal':
      return { kind: 'fatal', reason: 'fatal', detail: stop.detail, generation, vcpu };
    default:
      return null;
  }
}
