// The VMM core: one VMM, at most one VM, driven by method calls and observed through RxJS streams.
// Requests follow LIFECYCLE.md §2 (src/vmm/requests.ts); the supervisor's decisions on guest exits,
// resets and fatal errors are applied here; builds come from src/vmm/builder.ts. It never calls
// process.exit: `exited` resolves with the status the process should end with. The embedding facade
// (src/api/vmm.ts) adds the event monitor; the REST API and the CLI are thin layers over that.
import { BehaviorSubject, Observable, ReplaySubject } from '../rx.js';
import type { NativeKvm } from '../kvm/native.js';
import { openKvm } from '../kvm/availability.js';
import { Supervisor, type FatalEvent, type GuestExitEvent, type ResetEvent } from '../actors/supervisor.js';
import type { LifecycleAction } from '../actors/policy.js';
import type { VcpuPool } from '../actors/vcpu-pool.js';
import { Control } from '../actors/vcpu-loop.js';
import type { Machine } from '../vm/machine.js';
import { detectPlatformQuirks, type PlatformQuirks } from '../vm/quirks.js';
import { acquirePayloadPool } from '../vm/payload-pool.js';
import { VmmError, errorChain } from '../errors.js';
import { EventClock, type EventSource, type VmmEvent } from './events.js';
import { parseVmConfig, type VmConfig } from './config.js';
import { vmCounters, vmInfo } from './counters.js';
import { stepFor, type VmRequest } from './requests.js';
import { bootFromPayload, teardown, type BuildContext } from './builder.js';
import { GuestConsole } from './guest-console.js';
import { poolFor, supervisedHooks } from './vcpu-threads.js';
import { VirtioDevices } from './virtio-devices.js';
import { OperationQueue } from './operation-queue.js';
import { releaseNetFds } from './add-net.js';
import type { EventSink, LifecycleCounts, VmCounters, VmInfo, VmmCoreOptions, VmmExit, VmState } from './types.js';

export type { ExitReason, VmCounters, VmInfo, VmmCoreOptions, VmmExit, VmState } from './types.js';

export class VmmCore {
  readonly events$: Observable<VmmEvent>;
  readonly state$: Observable<VmState>;
  readonly guestExit$: Observable<GuestExitEvent>;
  readonly reset$: Observable<ResetEvent>;
  readonly fatal$: Observable<FatalEvent>;
  /** bytes the guest wrote to its serial port */
  readonly serial$: Observable<Uint8Array>;
  /** bytes the guest wrote to the debug console ports 0x402 / 0xE9 */
  readonly debugConsole$: Observable<Uint8Array>;
  /** resolves once the VMM has shut down, with the status the process should exit with */
  readonly exited: Promise<VmmExit>;
  readonly quirks: PlatformQuirks | null;

  protected readonly log: (message: string) => void;
  private readonly events = new ReplaySubject<VmmEvent>(256);
  private readonly state = new BehaviorSubject<VmState>('NotCreated');
  private readonly clock = new EventClock();
  protected readonly supervisor: Supervisor;
  protected readonly console: GuestConsole;
  private sink: EventSink | null = null;
  private readonly releasePayloadPool = acquirePayloadPool();
  private kvm: NativeKvm | null = null;
  protected config: VmConfig | null = null;
  protected machine: Machine | null = null;
  protected pool: VcpuPool | null = null;
  /** the VM's virtio devices, from its boot (or restore, or received config) to its stop */
  protected virtio: VirtioDevices | null = null;
  private generation = 0;
  private readonly operations = new OperationQueue((error) => {
    // a lifecycle transition that left a VM half-stopped is fatal for the VMM
    if (!this.finished) void this.enqueue(() => this.terminate({ code: 1, reason: 'fatal', error: errorChain(error).join(': ') }));
  });
  private finished = false;
  private resolveExit!: (exit: VmmExit) => void;
  private readonly lifecycleCounts: LifecycleCounts = { boots: 0, reboots: 0, guestShutdowns: 0, apiShutdowns: 0, pauses: 0, resumes: 0 };

  constructor(protected readonly options: VmmCoreOptions = {}) {
    this.log = options.log ?? (() => {});
    this.events$ = this.events.asObservable();
    this.state$ = this.state.asObservable();
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.quirks = options.quirks === 'off' ? null : detectPlatformQuirks();
    if (this.quirks) this.log(`platform quirks: ${this.quirks.platform} (instruction completion on; --quirks off disables)`);
    this.console = new GuestConsole({ tty: options.tty ?? process.stdout, log: this.log });
    this.serial$ = this.console.serial$;
    this.debugConsole$ = this.console.debugConsole$;

    this.supervisor = new Supervisor({ noShutdown: options.noShutdown ?? false });
    this.guestExit$ = this.supervisor.guestExit$;
    this.reset$ = this.supervisor.reset$;
    this.fatal$ = this.supervisor.fatal$;
    this.supervisor.actions$.subscribe((action) => void this.enqueue(() => this.apply(action)).catch(() => {}));
    this.emit('vmm', 'starting');
  }

  get vmState(): VmState {
    return this.state.value;
  }

  // ---- requests (LIFECYCLE.md §2); each runs after the ones before it --------------------------------

  /** Stores the VM config (vm.create). Files are checked now, so a bad path fails here. */
  createVm(config: unknown): Promise<void> {
    return this.request('create', async () => {
      this.config = parseVmConfig(config);
      this.setState('Created');
    });
  }

  /** vm.boot: Created or Shutdown → Running (a fresh VM); Paused → Running (resumes). */
  boot(): Promise<void> {
    return this.request('boot', (step) => (step === 'resume' ? this.doResume() : this.bootFresh()));
  }

  /** vm.shutdown: Running or Paused → Shutdown. */
  shutdownVm(): Promise<void> {
    return this.request('shutdown', async () => {
      this.lifecycleCounts.apiShutdowns++;
      await this.stopVm('api');
    });
  }

  /** vm.reboot: Running or Paused → Running, with a fresh VM. */
  reboot(): Promise<void> {
    return this.request('reboot', () => this.rebuild('api'));
  }

  pause(): Promise<void> {
    return this.request('pause', async () => {
      this.emit('vm', 'pausing');
      await this.pool!.halt(Control.PAUSE);
      await this.virtio?.quiesce();
      this.lifecycleCounts.pauses++;
      this.setState('Paused');
      this.emit('vm', 'paused');
    });
  }

  resume(): Promise<void> {
    return this.request('resume', () => this.doResume());
  }

  /** vm.delete: stops the VM if it runs and forgets its config. Without a config it does nothing. */
  deleteVm(): Promise<void> {
    return this.request('delete', async (step) => {
      if (step === 'nothing') return;
      if (this.machine) await this.stopVm('api');
      this.config = null;
      await this.console.close();
      this.setState('NotCreated');
      this.emit('vm', 'deleted');
    });
  }

  /** vm.power-button: presses the ACPI power button; a guest that handles it powers off. */
  powerButton(): Promise<void> {
    return this.request('power-button', async () => {
      await this.machine!.platform.ged.notifyAsync(1);
    });
  }

  /** Host → guest serial bytes, fed to the UART in order as its FIFO frees up; resolves once it took them.
   *  Rejects ('wrong-state') without a running or paused VM with a serial port, or if the VM stops first. */
  writeSerial(bytes: Uint8Array): Promise<void> {
    return this.console.write(bytes);
  }

  info(): VmInfo {
    if (!this.config) throw new VmmError('not-found', 'no VM is created');
    return vmInfo(this.config, this.state.value, { serial: this.console.ptyPath, console: this.virtio?.consolePath });
  }

  counters(): VmCounters {
    if (!this.config) throw new VmmError('not-found', 'no VM is created');
    return vmCounters({ machine: this.machine, lifecycle: this.lifecycleCounts, serialDroppedBytes: this.console.droppedBytes, sink: this.sink });
  }

  /** Shuts the VMM down (vmm.shutdown, or a signal): stops the VM, ends the threads, exits 0. */
  shutdown(reason: 'api' | 'signal' = 'api'): Promise<VmmExit> {
    void this.enqueue(() => this.terminate({ code: 0, reason })).catch(() => {});
    return this.exited;
  }

  /** Lets the event sink write the last events before the process exits. */
  async flushEvents(timeoutMs = 1000): Promise<void> {
    await this.sink?.close(timeoutMs);
  }

  // ---- for the facade ------------------------------------------------------------------------------

  /** Sends every event, from `vmm/starting` on (the stream replays it), to `sink` too. */
  protected useEventSink(sink: EventSink): void {
    this.sink = sink;
    this.events.subscribe((event) => sink.write(event));
  }

  protected stamp(): VmmEvent['timestamp'] {
    return this.clock.stamp();
  }

  // ---- applying the supervisor's decisions ---------------------------------------------------------

  private async apply(action: LifecycleAction): Promise<void> {
    const event = action.event;
    if (action.type !== 'fatal-exit' && (event.generation !== this.machine?.generation || this.finished)) {
      this.log(`ignored ${event.kind} (${event.reason}) from an earlier VM build`);
      return;
    }
    switch (action.type) {
      case 'exit-vmm':
        this.lifecycleCounts.guestShutdowns++;
        await this.stopVm(event.reason, true);
        this.config = null;
        this.setState('NotCreated');
        this.emit('vm', 'deleted');
        await this.terminate({ code: 0, reason: 'guest-shutdown' });
        return;
      case 'stop-vm':
        this.lifecycleCounts.guestShutdowns++;
        await this.stopVm(event.reason);
        return;
      case 'reboot':
        await this.rebuild(event.reason);
        return;
      case 'fatal-exit': {
        const message = event.kind === 'fatal' ? event.detail.message : 'fatal';
        await this.terminate({ code: 1, reason: 'fatal', error: message });
        return;
      }
    }
  }

  // ---- the VM's life -------------------------------------------------------------------------------

  private async bootFresh(): Promise<void> {
    this.emit('vm', 'booting');
    await this.prepareBuild(this.config!, (context) => bootFromPayload(this.config!, context));
    this.pool!.run(this.machine!.generation);
    this.lifecycleCounts.boots++;
    this.setState('Running');
    this.emit('vm', 'booted');
  }

  /** vCPU threads and the serial backend for `config`, then a build made by `make`; nothing runs yet. */
  protected async prepareBuild(config: VmConfig, make: (context: BuildContext) => Promise<Machine>): Promise<void> {
    try {
      await this.prepareThreads(config);
      await this.buildMachine(make);
    } catch (error) {
      await this.closeDevices().catch(() => {});
      throw error instanceof VmmError ? error : new VmmError('internal', 'boot failed', { cause: error });
    }
  }

  /**
   * The vCPU threads, serial backend and virtio devices for `config`. Workers are most of a build's cost
   * (~60 ms): a migration's destination starts them once the config arrives, but not the devices (their
   * images are the source's until the State).
   */
  protected async prepareThreads(config: VmConfig, options: { waitForWorkers?: boolean; devices?: boolean } = {}): Promise<void> {
    this.pool = await poolFor(this.pool, config.cpus.boot_vcpus, this.threadHooks());
    await this.console.open(config.serial);
    const devices = options.devices !== false && !this.virtio && VirtioDevices.wanted(config);
    if (devices) this.virtio = VirtioDevices.open(config, { onEvent: (id, name) => this.emit('virtio-device', name, { id }), log: this.log });
    if (options.waitForWorkers) await this.pool.ready();
  }

  protected threadHooks() {
    return supervisedHooks((event) => this.supervisor.post(event), () => this.machine?.generation ?? this.generation, this.log);
  }

  private async buildMachine(make: (context: BuildContext) => Promise<Machine>): Promise<void> {
    this.kvm ??= openKvm();
    const machine = await make({
      kvm: this.kvm,
      pool: this.pool!,
      generation: ++this.generation,
      quirks: this.quirks,
      host: this.console.host,
      profileExits: this.options.profileExits ?? 0,
      log: this.log,
      virtio: this.virtio?.slots,
    });
    try {
      await this.virtio?.attach(machine);
    } catch (error) {
      await teardown(machine, this.pool!);
      throw error;
    }
    this.machine = machine;
    this.console.attach(machine.platform.serial);
    for (const spec of machine.specs) this.emit('cpu_manager', 'create_vcpu', { id: String(spec.vcpuId) });
  }

  /** Stops every vCPU and releases the VM; the config stays (state Shutdown), its taps too unless `ending`. */
  private async stopVm(reason: string, ending = false): Promise<void> {
    await this.teardownMachine();
    await this.closeDevices(ending);
    this.setState('Shutdown');
    this.emit('vm', 'shutdown', { reason });
  }

  protected async teardownMachine(): Promise<void> {
    const machine = this.machine;
    if (!machine) return;
    this.machine = null;
    this.console.detachInput();
    try {
      await this.pool!.halt(Control.STOP);
    } finally {
      this.console.stopPumps(); // takes the guest's last bytes
    }
    await this.virtio?.detach();
    await teardown(machine, this.pool!);
  }

  private async rebuild(reason: string): Promise<void> {
    this.emit('vm', 'rebooting', { reason });
    await this.teardownMachine();
    await this.buildMachine((context) => bootFromPayload(this.config!, context));
    this.pool!.run(this.machine!.generation);
    this.lifecycleCounts.reboots++;
    this.setState('Running');
    this.emit('vm', 'rebooted', { reason });
  }

  protected async doResume(): Promise<void> {
    this.emit('vm', 'resuming');
    await this.virtio?.resume();
    this.pool!.run(this.machine!.generation);
    this.lifecycleCounts.resumes++;
    this.setState('Running');
    this.emit('vm', 'resumed');
  }

  /** Ends the VMM: stops the VM if any, ends the worker threads, emits vmm/shutdown, resolves `exited`. */
  protected async terminate(exit: VmmExit): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    let outcome = exit;
    if (this.machine) {
      try {
        await this.teardownMachine();
        await this.closeDevices(true).catch(() => {}); // taps let go before vm/shutdown: libvirt deletes them on it
        if (exit.reason !== 'fatal') {
          this.setState('Shutdown');
          this.emit('vm', 'shutdown', { reason: exit.reason });
        }
      } catch (error) {
        outcome = { code: 1, reason: 'fatal', error: `${exit.error ? exit.error + '; ' : ''}${(error as Error).message}` };
      }
    }
    await this.closeDevices(true).catch(() => {});
    await this.pool?.close().catch(() => {});
    this.pool = null;
    await this.releasePayloadPool().catch(() => {});
    this.kvm?.close();
    this.kvm = null;
    await this.console.end();
    this.emit('vmm', 'shutdown', { reason: outcome.reason, ...(outcome.error ? { error: outcome.error } : {}) });
    this.supervisor.complete();
    await this.flushEvents();
    this.events.complete();
    this.state.complete();
    this.resolveExit(outcome);
  }

  /** Ends the device threads and closes their images, dropping the locks (a stopped VM holds none); the config's tap fds too when the VMM ends. */
  protected async closeDevices(ending = false): Promise<void> {
    const devices = this.virtio;
    this.virtio = null;
    if (ending && this.config) this.config = releaseNetFds(this.config);
    await devices?.close();
  }

  /** Queues a §2 request: its step is looked up when its turn comes, in the state of that moment. */
  protected request(request: VmRequest, run: (step: ReturnType<typeof stepFor>) => Promise<void>): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    return this.enqueue(async () => {
      if (this.finished) throw new VmmError('wrong-state', 'the VMM is shutting down');
      const refusedNow = this.refusal();
      if (refusedNow) throw refusedNow;
      await run(stepFor(request, this.config ? this.state.value : 'NotCreated'));
    });
  }

  /** Why no request may run now (a subclass's long work, such as a migration), or null. */
  protected refusal(): VmmError | null {
    return null;
  }

  /** Requests and lifecycle actions queued from now on wait until `work` settles. */
  protected holdQueueUntil(work: Promise<unknown>): void {
    this.operations.holdUntil(work);
  }

  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    return this.operations.run(operation);
  }

  protected setState(state: VmState): void {
    if (this.state.value !== state) this.state.next(state);
  }

  protected emit(source: EventSource, event: string, properties: Record<string, string> | null = null): void {
    this.events.next({ timestamp: this.clock.stamp(), source, event, properties });
  }
}
