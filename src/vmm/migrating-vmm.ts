// The VMM core plus the requests that move a VM out of or into the process: snapshot and restore (a
// directory) and live migration (a socket). While one runs, guest exits and resets are held
// (LIFECYCLE.md §1): a failed migration replays them here, a finished one hands them to the destination,
// which replays them once it owns the VM. Other requests meanwhile get a 409.
import { VmmError } from '../errors.js';
import { Control } from '../actors/vcpu-loop.js';
import type { LifecycleEvent } from '../actors/lifecycle.js';
import { VmmCore } from './vmm.js';
import { poolFor } from './vcpu-threads.js';
import { restoreFromState, saveBuild } from './builder.js';
import { openRestore, snapshotTo } from './snapshots.js';
import { parseVmConfig, type VmConfig } from './config.js';
import { allocateRam, type Machine } from '../vm/machine.js';
import { describeEndpoint, parseMigrationUrl } from '../migration/url.js';
import { connectChannel } from '../migration/channel.js';
import { listenForMigration } from '../migration/listener.js';
import { abandon, sendMigration, type SendOptions } from '../migration/sender.js';
import { ramViews, receiveMigration } from '../migration/receiver.js';
import type { HeldEvent, StateDocument } from '../migration/documents.js';
import type { NativeGuestMemory } from '../kvm/native.js';
import type { VmmExit } from './types.js';

export interface SendMigrationRequest {
  destinationUrl: string;
  downtimeMs?: number;
  timeoutS?: number;
  timeoutStrategy?: 'Cancel' | 'Ignore';
}

const travelling = (events: LifecycleEvent[]): HeldEvent[] => events.filter((e): e is HeldEvent & LifecycleEvent => e.kind !== 'fatal').map((e) => ({ kind: e.kind, reason: e.reason }) as HeldEvent);

export class MigratingVmm extends VmmCore {
  private migration: { direction: 'send' | 'receive'; abort: AbortController } | null = null;
  private workerAhead: Promise<void> | null = null;

  constructor(...args: ConstructorParameters<typeof VmmCore>) {
    super(...args);
    // A fatal exit cannot wait for a migration to end: it ends the migration.
    this.fatal$.subscribe(() => this.migration?.abort.abort(new VmmError('internal', 'a vCPU failed')));
  }

  /**
   * Starts one vCPU worker now, before there is a VM (a worker takes ~60 ms to start, and the pool
   * grows to the VM's size later): for a VMM that waits for a VM to boot, restore or receive, so that
   * none of them waits for it. Costs an idle thread meanwhile.
   */
  startWorkerAhead(): void {
    if (this.pool) return; // workers are up already
    this.workerAhead ??= poolFor(null, 1, this.threadHooks()).then(
      (pool) => void (this.pool ??= pool),
      () => {}, // the build that needs it will fail with the reason
    );
  }

  protected override async prepareThreads(config: VmConfig, options: { waitForWorkers?: boolean; devices?: boolean } = {}): Promise<void> {
    await this.workerAhead;
    await super.prepareThreads(config, options);
  }

  protected override async terminate(exit: VmmExit): Promise<void> {
    await this.workerAhead; // its pool is closed with the rest
    await super.terminate(exit);
  }

  /** vm.snapshot: writes the paused VM into the directory of a file:///DIR URL. */
  snapshot(destinationUrl: string): Promise<void> {
    return this.request('snapshot', async () => {
      this.emit('vm', 'snapshotting');
      await this.virtio?.quiesce(); // a restored VM is Paused without pause(): its devices may still run
      await this.supervisor.holdDuring(() => snapshotTo(destinationUrl, this.machine!, this.pool!, this.config!));
      this.emit('vm', 'snapshotted');
    });
  }

  /** vm.restore: the VM of a snapshot, Paused (or running, with `resume`), going on where it was saved. */
  restore(sourceUrl: string, options: { resume?: boolean } = {}): Promise<void> {
    return this.request('restore', async () => {
      this.emit('vm', 'restoring');
      this.startWorkerAhead(); // it starts while the snapshot is opened and checked
      await this.supervisor.holdDuring(async () => {
        const { config, snapshot } = await openRestore(sourceUrl);
        try {
          await this.prepareBuild(config, (context) => restoreFromState(config, snapshot.state.machine, context, { loadRam: snapshot.loadRam }));
        } catch (error) {
          await this.closeDevices().catch(() => {});
          await this.console.close();
          throw error;
        }
        this.config = config;
      });
      this.setState('Paused');
      this.emit('vm', 'restored');
      if (options.resume) await this.doResume();
    });
  }

  /**
   * vm.send-migration: resolves once the migration has started; its progress and outcome are events
   * (vm/migration-memory-iteration, vm/migration-finished or vm/migration-failed).
   */
  sendMigration(request: SendMigrationRequest): Promise<void> {
    const endpoint = parseMigrationUrl(request.destinationUrl, 'destination_url');
    const options = { downtimeMs: request.downtimeMs ?? 300, timeoutS: request.timeoutS ?? 3600, timeoutStrategy: request.timeoutStrategy ?? 'Cancel' };
    return this.request('send-migration', async () => {
      const blocker = this.virtio?.migrationBlocker();
      if (blocker) throw new VmmError('wrong-state', `this VM cannot migrate live (${blocker}); vm.snapshot and vm.restore can move it`);
      const abort = new AbortController();
      this.migration = { direction: 'send', abort };
      this.supervisor.setBusy(true);
      this.emit('vm', 'migration-started');
      this.holdQueueUntil(this.runSend(endpoint, { ...options, abort: abort.signal }).finally(() => (this.migration = null)));
    });
  }

  /** vm.receive-migration: resolves once listening; the outcome is vm/migration-receive-finished or -failed. */
  receiveMigration(receiverUrl: string): Promise<void> {
    const endpoint = parseMigrationUrl(receiverUrl, 'receiver_url');
    return this.request('receive-migration', async () => {
      const listener = await listenForMigration(endpoint);
      this.startWorkerAhead(); // if the VMM did not start one already
      const abort = new AbortController();
      this.migration = { direction: 'receive', abort };
      this.log(`migration: listening on ${receiverUrl}`);
      const received = (async () => {
        const closeOnAbort = () => void listener.close();
        abort.signal.addEventListener('abort', closeOnAbort);
        try {
          const channel = await Promise.race([listener.accept(), aborted(abort.signal)]);
          abort.signal.addEventListener('abort', () => channel.close('the VMM is shutting down'));
          await listener.close();
          await this.runReceive(channel);
        } finally {
          abort.signal.removeEventListener('abort', closeOnAbort);
          await listener.close();
          this.migration = null;
        }
      })();
      this.holdQueueUntil(received.catch(() => {}));
    });
  }

  override shutdown(reason: 'api' | 'signal' = 'api'): Promise<VmmExit> {
    this.migration?.abort.abort(new VmmError('wrong-state', 'the VMM is shutting down'));
    return super.shutdown(reason);
  }

  protected override refusal(): VmmError | null {
    if (!this.migration) return null;
    return new VmmError('wrong-state', `a migration is in progress (${this.migration.direction === 'send' ? 'sending the VM' : 'receiving a VM'}): wait for it to finish`);
  }

  // ---- the source --------------------------------------------------------------------------------

  private async runSend(endpoint: ReturnType<typeof parseMigrationUrl>, options: SendOptions): Promise<void> {
    const machine = this.machine!;
    const wasPaused = this.vmState === 'Paused';
    let pausedHere = false;
    let imagesHandedOver = false;
    let handedOver: LifecycleEvent[] | null = null;
    // a restored VM is Paused with its devices running: one copy of its RAM must be the last
    if (wasPaused) await this.virtio?.quiesce();
    this.log(`migration: connecting to ${describeEndpoint(endpoint)}`);
    const channel = await connectChannel(endpoint).catch((error: Error) => error);
    if (channel instanceof Error) return this.migrationFailed(channel, { handedOver, pausedHere, imagesHandedOver, machine });
    const closeOnAbort = () => channel.close(`the migration was cancelled: ${(options.abort.reason as Error)?.message ?? 'aborted'}`);
    options.abort.addEventListener('abort', closeOnAbort);
    try {
      const result = await sendMigration(
        channel,
        {
          vmConfig: this.config,
          paused: wasPaused,
          writtenRam: () => machine.writtenRam().runs,
          ramBytes: (offset, length) => machine.ramBytes(offset, length),
          dirtyLog: this.dirtyLogWithDevices(machine),
          holding: () => this.supervisor.holding,
          pause: async () => {
            await this.pool!.halt(Control.PAUSE);
            pausedHere = true;
            await this.virtio?.quiesce(); // no device writes after the last collect
          },
          saveState: async () => {
            const state = await saveBuild(machine, this.pool!, false);
            this.virtio?.handOverImages(); // the destination locks them as it builds the VM
            imagesHandedOver = true;
            return state;
          },
          takeHeld: () => travelling((handedOver = this.supervisor.handOverHeld())),
          onIteration: (id) => this.emit('vm', 'migration-memory-iteration', { id: String(id) }),
          log: this.log,
        },
        options,
      );
      await channel.end();
      this.log(`migration: sent ${result.bytes} bytes in ${result.iterations} iterations; downtime ${result.downtimeMs.toFixed(1)} ms`);
      await this.migrationFinished();
    } catch (error) {
      await abandon(channel);
      await this.migrationFailed(error as Error, { handedOver, pausedHere, imagesHandedOver, machine });
    } finally {
      options.abort.removeEventListener('abort', closeOnAbort);
    }
  }

  /**
   * KVM's dirty log plus the pages device threads write (device-side bitmaps, shared): the threads
   * mark from before the first pass reads RAM until the log stops.
   */
  private dirtyLogWithDevices(machine: Machine): MigrationDirtyLog {
    const log = machine.dirtyLog();
    const devices = this.virtio;
    return {
      start: async () => {
        log.start();
        try {
          await devices?.logWrites(log.writeBitmaps());
        } catch (error) {
          log.stop();
          throw error;
        }
      },
      collect: () => log.collect(),
      stop: () => {
        if (log.logging) void devices?.logWrites(null).catch(() => {});
        log.stop();
      },
    };
  }

  /** The destination owns the VM now: this one goes, and so does the VMM unless --no-shutdown. */
  private async migrationFinished(): Promise<void> {
    await this.teardownMachine();
    await this.closeDevices(); // their images belong to the destination
    this.config = null;
    this.setState('NotCreated');
    this.emit('vm', 'migration-finished');
    if (!this.options.noShutdown) await this.terminate({ code: 0, reason: 'migrated' });
  }

  /** The VM stays here and goes on as it was; what was held is replayed here. */
  private async migrationFailed(error: Error, how: { handedOver: LifecycleEvent[] | null; pausedHere: boolean; imagesHandedOver: boolean; machine: Machine }): Promise<void> {
    this.log(`migration: failed: ${error.message}`);
    const pausedHere = how.pausedHere && this.machine === how.machine;
    // a destination that got the State drops its partial VM when the stream ends: give it a moment
    const lost = how.imagesHandedOver && this.virtio ? await retakeImages(this.virtio) : null;
    if (lost) {
      this.log(`migration: ${lost.message}; the VM stays paused`);
      error = new Error(`${error.message}; ${lost.message}`);
      if (pausedHere) this.setState('Paused');
    } else if (pausedHere) {
      await this.virtio?.resume();
      this.pool!.run(how.machine.generation);
    }
    this.emit('vm', 'migration-failed', { error: error.message });
    if (how.handedOver) for (const event of how.handedOver) this.supervisor.post(event);
    else this.supervisor.setBusy(false);
  }

  // ---- the destination ---------------------------------------------------------------------------

  private async runReceive(channel: Parameters<typeof receiveMigration>[0]): Promise<void> {
    this.log('migration: receiving');
    this.emit('vm', 'migration-receive-started');
    let config: VmConfig | null = null;
    let ram: NativeGuestMemory | null = null;
    try {
      const state = await receiveMigration(channel, {
        prepare: async (vmConfig) => {
          config = parseVmConfig(vmConfig, { checkFiles: false });
          const made = allocateRam(config.memory.size);
          ram = made.memory;
          await this.prepareThreads(config, { waitForWorkers: true, devices: false }); // the images: at the State
          return ramViews(made.memory.buffer, made.regions);
        },
        build: async (document: StateDocument) => {
          const adopted = ram!;
          ram = null; // the build owns it now, and releases it if it fails
          const started = performance.now();
          await this.prepareBuild(config!, (context) => restoreFromState(config!, { ...document.machine }, context, { adoptRam: adopted }));
          this.log(`migration: built the VM from its state in ${(performance.now() - started).toFixed(1)} ms`);
          this.config = config;
        },
      });
      await channel.end();
      this.setState('Paused');
      this.emit('vm', 'migration-receive-finished');
      this.replayOrResume(state);
    } catch (error) {
      (ram as NativeGuestMemory | null)?.close();
      await this.teardownMachine().catch(() => {});
      await this.closeDevices().catch(() => {});
      await this.console.close();
      this.config = null;
      this.setState('NotCreated');
      this.log(`migration: receive failed: ${(error as Error).message}`);
      this.emit('vm', 'migration-receive-failed', { error: (error as Error).message });
    }
  }

  /** Events held on the source now follow their normal path here; without any, the VM runs on. */
  private replayOrResume(state: StateDocument): void {
    const generation = this.machine!.generation;
    if (state.held.length > 0) {
      for (const held of state.held) this.supervisor.post({ ...held, generation } as LifecycleEvent);
      return;
    }
    if (!state.paused) {
      this.pool!.run(generation);
      this.setState('Running');
    }
  }
}

type MigrationDirtyLog = Parameters<typeof sendMigration>[1]['dirtyLog'];

/** Takes the disk images' locks back, trying for up to 5 s; the error if another process keeps one. */
async function retakeImages(devices: { takeBackImages(): void }): Promise<Error | null> {
  for (let tries = 0; ; tries++) {
    try {
      devices.takeBackImages();
      return null;
    } catch (error) {
      if (tries >= 50) return error as Error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
