// The embedding API: one VMM, at most one VM, driven by method calls and observed through RxJS
// streams. The REST API and the CLI are thin layers over this class. It never calls process.exit:
// `exited` resolves with the status the process should end with.
import { BehaviorSubject, Observable, ReplaySubject, Subject } from '../rx.js';
import type { NativeKvm } from '../kvm/native.js';
import { openKvm } from '../kvm/availability.js';
import { Supervisor, type FatalEvent, type GuestExitEvent, type ResetEvent } from '../actors/supervisor.js';
import type { LifecycleAction } from '../actors/policy.js';
import type { LifecycleEvent, VcpuStop } from '../actors/lifecycle.js';
import { VcpuPool } from '../actors/vcpu-pool.js';
import { Control } from '../actors/vcpu-loop.js';
import { ByteRing, pumpRing } from '../actors/byte-ring.js';
import { Machine } from '../vm/machine.js';
import { detectPlatformQuirks, type PlatformQuirks } from '../vm/quirks.js';
import { acquirePayloadPool } from '../vm/payload-pool.js';
import { EventClock, type EventSource, type VmmEvent } from './events.js';
import { EventMonitor, type EventMonitorTarget } from './event-monitor.js';
import { parseVmConfig, type VmConfig } from './config.js';
import { VmmError, errorChain } from './errors.js';
import { SerialInput } from './serial-input.js';
import { openSerialOutput, type SerialOutput } from './serial-output.js';
import { exitCountsByName, exitTimesByName, type ExitCounts, type ExitTimes } from './counters.js';

export type VmState = 'NotCreated' | 'Created' | 'Running' | 'Paused' | 'Shutdown';

export type ExitReason = 'guest-shutdown' | 'api' | 'signal' | 'fatal';

export interface VmmExit {
  /** the status the process should exit with: 0 clean, 1 fatal */
  code: 0 | 1;
  reason: ExitReason;
  error?: string;
}

export interface VmmOptions {
  /** QEMU's -no-shutdown: a guest exit stops only the VM */
  noShutdown?: boolean;
  eventMonitor?: EventMonitorTarget;
  /** 'auto' applies the platform quirks profile when its platform is detected; 'off' never does */
  quirks?: 'auto' | 'off';
  /** diagnostic lines (the CLI prints them with -v) */
  log?: (message: string) => void;
  /** time one exit in N by reason inside the vCPU workers (see counters().exit_timing); 0 = off */
  profileExits?: number;
  /** where serial mode Tty writes (default process.stdout) */
  tty?: NodeJS.WritableStream;
}

export interface VmInfo {
  config: VmConfig;
  state: Exclude<VmState, 'NotCreated'>;
  memory_actual_size: number;
}

export interface VmCounters {
  /** per vCPU: exits by reason (io, mmio, hlt, shutdown, intr, internal_error…) */
  vcpus: ExitCounts[];
  lifecycle: { boots: number; reboots: number; guest_shutdowns: number; api_shutdowns: number; pauses: number; resumes: number };
  serial: { dropped_bytes: number };
  /** events the event monitor could not deliver (a reader that fell too far behind, a failed target) */
  event_monitor: { lost_events: number; pending_events: number };
  /**
   * With `profileExits`: per vCPU, by exit reason, the time per timed exit spent in KVM_RUN (`kvm_ns`:
   * the guest, the kernel's exit and entry, the addon call) and in the worker's handling (`vmm_ns`).
   */
  exit_timing?: ExitTimes[];
}

export const VERSION = '0.1.0';

export class Vmm {
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

  private readonly events = new ReplaySubject<VmmEvent>(256);
  private readonly state = new BehaviorSubject<VmState>('NotCreated');
  private readonly serial = new Subject<Uint8Array>();
  private readonly debugConsole = new Subject<Uint8Array>();
  private readonly clock = new EventClock();
  private readonly supervisor: Supervisor;
  private readonly monitor?: EventMonitor;
  private readonly serialRing = ByteRing.create();
  private readonly debugRing = ByteRing.create(1 << 12);
  /** drain the serial and debug rings while a VM runs */
  private pumps: Array<{ stop(): void }> = [];
  private readonly log: (message: string) => void;
  private readonly releasePayloadPool = acquirePayloadPool();
  private kvm: NativeKvm | null = null;
  private config: VmConfig | null = null;
  private machine: Machine | null = null;
  private pool: VcpuPool | null = null;
  private generation = 0;
  private operations: Promise<unknown> = Promise.resolve();
  private finished = false;
  private resolveExit!: (exit: VmmExit) => void;
  private serialOutput: SerialOutput | null = null;
  private readonly serialInput = new SerialInput();
  private readonly lifecycleCounts = { boots: 0, reboots: 0, guest_shutdowns: 0, api_shutdowns: 0, pauses: 0, resumes: 0 };

  constructor(private readonly options: VmmOptions = {}) {
    this.log = options.log ?? (() => {});
    this.events$ = this.events.asObservable();
    this.state$ = this.state.asObservable();
    this.serial$ = this.serial.asObservable();
    this.debugConsole$ = this.debugConsole.asObservable();
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.quirks = options.quirks === 'off' ? null : detectPlatformQuirks();
    if (this.quirks) this.log(`platform quirks: ${this.quirks.platform} (instruction completion on; --quirks off disables)`);

    this.supervisor = new Supervisor({ noShutdown: options.noShutdown ?? false });
    this.guestExit$ = this.supervisor.guestExit$;
    this.reset$ = this.supervisor.reset$;
    this.fatal$ = this.supervisor.fatal$;
    this.supervisor.actions$.subscribe((action) => void this.enqueue(() => this.apply(action)).catch(() => {}));

    if (options.eventMonitor) {
      const monitor = new EventMonitor(options.eventMonitor, () => this.clock.stamp(), (e) => this.log(`event monitor: ${e.message}`));
      this.monitor = monitor;
      this.events.subscribe((event) => monitor.write(event));
    }
    this.emit('vmm', 'starting');
  }

  get vmState(): VmState {
    return this.state.value;
  }

  // ---- requests (LIFECYCLE.md §2); each runs after the ones before it --------------------------------

  /** Stores the VM config (vm.create). Files are checked now, so a bad path fails here. */
  createVm(config: unknown): Promise<void> {
    return this.enqueue(async () => {
      this.ensureAlive();
      if (this.config) throw new VmmError('already-created', 'a VM is already created; delete it first');
      this.config = parseVmConfig(config);
      this.setState('Created');
    });
  }

  /** vm.boot: Created or Shutdown → Running (a fresh VM); Paused → Running (resumes). */
  boot(): Promise<void> {
    return this.enqueue(async () => {
      this.ensureAlive();
      const state = this.requireConfig('boot');
      if (state === 'Paused') return this.doResume();
      if (state !== 'Created' && state !== 'Shutdown') throw this.wrongState('boot');
      await this.bootFresh();
    });
  }

  /** vm.shutdown: Running or Paused → Shutdown. */
  shutdownVm(): Promise<void> {
    return this.enqueue(async () => {
      this.ensureAlive();
      const state = this.requireConfig('shutdown');
      if (state !== 'Running' && state !== 'Paused') throw this.wrongState('shut down');
      this.lifecycleCounts.api_shutdowns++;
      await this.stopVm('api');
    });
  }

  /** vm.reboot: Running or Paused → Running, with a fresh VM. */
  reboot(): Promise<void> {
    return this.enqueue(async () => {
      this.ensureAlive();
      const state = this.requireConfig('reboot');
      if (state !== 'Running' && state !== 'Paused') throw this.wrongState('reboot');
      await this.rebuild('api');
    });
  }

  pause(): Promise<void> {
    return this.enqueue(async () => {
      this.ensureAlive();
      const state = this.requireConfig('pause');
      if (state !== 'Running') throw this.wrongState('pause');
      this.emit('vm', 'pausing');
      await this.pool!.halt(Control.PAUSE);
      this.lifecycleCounts.pauses++;
      this.setState('Paused');
      this.emit('vm', 'paused');
    });
  }

  resume(): Promise<void> {
    return this.enqueue(async () => {
      this.ensureAlive();
      const state = this.requireConfig('resume');
      if (state !== 'Paused') throw this.wrongState('resume');
      await this.doResume();
    });
  }

  /** vm.delete: stops the VM if it runs and forgets its config. Without a config it does nothing. */
  deleteVm(): Promise<void> {
    return this.enqueue(async () => {
      this.ensureAlive();
      if (!this.config) return;
      if (this.machine) await this.stopVm('api');
      this.config = null;
      await this.closeSerialOutput();
      this.setState('NotCreated');
      this.emit('vm', 'deleted');
    });
  }

  /** vm.power-button: presses the ACPI power button; a guest that handles it powers off. */
  powerButton(): Promise<void> {
    return this.enqueue(async () => {
      this.ensureAlive();
      const state = this.requireConfig('press the power button of');
      if (state !== 'Running') throw this.wrongState('press the power button of');
      await this.machine!.platform.ged.notifyAsync(1);
    });
  }

  /**
   * Host → guest serial bytes: queued and fed to the UART in order as its receive FIFO frees up;
   * resolves once the UART has taken them all. Rejects ('wrong-state') without a running or paused VM
   * with a serial port, and when the VM stops or reboots first: the queue is per VM build.
   */
  writeSerial(bytes: Uint8Array): Promise<void> {
    return this.serialInput.write(bytes);
  }

  info(): VmInfo {
    if (!this.config) throw new VmmError('not-found', 'no VM is created');
    // As Cloud Hypervisor reports it: a Pty's path in the serial config's `file`.
    const ptyPath = this.config.serial.mode === 'Pty' ? this.serialOutput?.path : undefined;
    return {
      config: ptyPath ? { ...this.config, serial: { ...this.config.serial, file: ptyPath } } : this.config,
      state: this.state.value as VmInfo['state'],
      memory_actual_size: this.config.memory.size,
    };
  }

  counters(): VmCounters {
    if (!this.config) throw new VmmError('not-found', 'no VM is created');
    const times = this.machine?.exitTimes();
    return {
      vcpus: (this.machine?.exitCounts() ?? []).map(exitCountsByName),
      lifecycle: { ...this.lifecycleCounts },
      serial: { dropped_bytes: this.serialRing.dropped },
      event_monitor: { lost_events: this.monitor?.lostCount ?? 0, pending_events: this.monitor?.pendingCount ?? 0 },
      ...(times ? { exit_timing: times.map(exitTimesByName) } : {}),
    };
  }

  /** Shuts the VMM down (vmm.shutdown, or a signal): stops the VM, ends the threads, exits 0. */
  shutdown(reason: 'api' | 'signal' = 'api'): Promise<VmmExit> {
    void this.enqueue(() => this.terminate({ code: 0, reason })).catch(() => {});
    return this.exited;
  }

  /** Lets a monitor write the event and the stream end before the process exits. */
  async flushEvents(timeoutMs = 1000): Promise<void> {
    await this.monitor?.close(timeoutMs);
  }

  // ---- applying the supervisor's decisions ---------------------------------------------------------

  private async apply(action: LifecycleAction): Promise<void> {
    const event = action.event;
    const current = this.machine?.generation;
    if (action.type !== 'fatal-exit' && (event.generation !== current || this.finished)) {
      this.log(`ignored ${event.kind} (${event.reason}) from an earlier VM build`);
      return;
    }
    switch (action.type) {
      case 'exit-vmm':
        this.lifecycleCounts.guest_shutdowns++;
        await this.stopVm(event.reason);
        this.config = null;
        this.setState('NotCreated');
        this.emit('vm', 'deleted');
        await this.terminate({ code: 0, reason: 'guest-shutdown' });
        return;
      case 'stop-vm':
        this.lifecycleCounts.guest_shutdowns++;
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
    const config = this.config!;
    this.emit('vm', 'booting');
    try {
      await this.ensurePool(config.cpus.boot_vcpus);
      await this.openSerialOutput(config);
      await this.startMachine();
    } catch (error) {
      throw error instanceof VmmError ? error : new VmmError('internal', 'boot failed', { cause: error });
    }
    this.lifecycleCounts.boots++;
    this.setState('Running');
    this.emit('vm', 'booted');
  }

  private async startMachine(): Promise<void> {
    const config = this.config!;
    this.kvm ??= openKvm();
    const generation = ++this.generation;
    const machine = await Machine.build(
      {
        vcpus: config.cpus.boot_vcpus,
        memoryBytes: config.memory.size,
        payload: { kernel: config.payload.kernel, cmdline: config.payload.cmdline ?? '', initramfs: config.payload.initramfs },
        serial: config.serial.mode !== 'Off',
        profileExits: this.options.profileExits ?? 0,
      },
      {
        kvm: this.kvm,
        generation,
        quirks: this.quirks,
        host: { serialOut: this.serialRing.buffer, debugOut: this.debugRing.buffer },
        log: this.log,
      },
      this.pool!,
    );
    try {
      await this.pool!.attach(machine.specs);
    } catch (error) {
      await this.pool!.detach().catch(() => {});
      machine.destroy();
      throw error;
    }
    this.machine = machine;
    this.pumps = [
      pumpRing(this.serialRing, (bytes) => this.onSerial(bytes)),
      pumpRing(this.debugRing, (bytes) => this.debugConsole.next(bytes)),
    ];
    this.serialInput.attach(machine.platform.serial);
    for (const spec of machine.specs) this.emit('cpu_manager', 'create_vcpu', { id: String(spec.vcpuId) });
    this.pool!.run(generation);
  }

  /** Stops every vCPU and releases the VM; the config stays (state Shutdown). */
  private async stopVm(reason: string): Promise<void> {
    await this.teardownMachine();
    this.setState('Shutdown');
    this.emit('vm', 'shutdown', { reason });
  }

  private async teardownMachine(): Promise<void> {
    const machine = this.machine;
    if (!machine) return;
    this.machine = null;
    const pumps = this.pumps;
    this.pumps = [];
    this.serialInput.detach();
    try {
      await this.pool!.halt(Control.STOP);
    } finally {
      for (const pump of pumps) pump.stop(); // takes the guest's last bytes
    }
    await this.pool!.detach();
    machine.destroy();
  }

  private async rebuild(reason: string): Promise<void> {
    this.emit('vm', 'rebooting', { reason });
    await this.teardownMachine();
    await this.startMachine();
    this.lifecycleCounts.reboots++;
    this.setState('Running');
    this.emit('vm', 'rebooted', { reason });
  }

  private async doResume(): Promise<void> {
    this.emit('vm', 'resuming');
    this.pool!.run(this.machine!.generation);
    this.lifecycleCounts.resumes++;
    this.setState('Running');
    this.emit('vm', 'resumed');
  }

  private async ensurePool(vcpus: number): Promise<void> {
    if (this.pool?.size === vcpus) return;
    await this.pool?.close();
    this.pool = new VcpuPool(vcpus, {
      onStop: (vcpuId, generation, stop) => this.onVcpuStop(vcpuId, generation, stop),
      onWorkerDeath: (vcpuId, error) =>
        this.supervisor.post({
          kind: 'fatal',
          reason: 'fatal',
          generation: this.machine?.generation ?? this.generation,
          vcpu: vcpuId,
          detail: { message: `vCPU ${vcpuId} worker died: ${error.message}`, vcpu: vcpuId },
        }),
    });
    await this.pool.start();
  }

  private onVcpuStop(vcpuId: number, generation: number, stop: VcpuStop): void {
    let event: LifecycleEvent;
    switch (stop.kind) {
      case 'guest-exit':
        event = { kind: 'guest-exit', reason: stop.reason, generation, vcpu: vcpuId };
        break;
      case 'reset':
        event = { kind: 'reset', reason: stop.reason, generation, vcpu: vcpuId };
        break;
      case 'fatal':
        event = { kind: 'fatal', reason: 'fatal', detail: stop.detail, generation, vcpu: vcpuId };
        break;
      default:
        return;
    }
    this.log(`vCPU ${vcpuId}: ${event.kind} (${event.kind === 'fatal' ? event.detail.message : event.reason})`);
    this.supervisor.post(event);
  }

  /** Ends the VMM: stops the VM if any, ends the worker threads, emits vmm/shutdown, resolves `exited`. */
  private async terminate(exit: VmmExit): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    let outcome = exit;
    if (this.machine) {
      try {
        await this.teardownMachine();
        if (exit.reason !== 'fatal') {
          this.setState('Shutdown');
          this.emit('vm', 'shutdown', { reason: exit.reason });
        }
      } catch (error) {
        outcome = { code: 1, reason: 'fatal', error: `${exit.error ? exit.error + '; ' : ''}${(error as Error).message}` };
      }
    }
    await this.pool?.close().catch(() => {});
    this.pool = null;
    await this.releasePayloadPool().catch(() => {});
    this.kvm?.close();
    this.kvm = null;
    for (const pump of this.pumps) pump.stop();
    await this.closeSerialOutput();
    this.emit('vmm', 'shutdown', { reason: outcome.reason, ...(outcome.error ? { error: outcome.error } : {}) });
    this.supervisor.complete();
    await this.flushEvents();
    this.events.complete();
    this.state.complete();
    this.serial.complete();
    this.debugConsole.complete();
    this.resolveExit(outcome);
  }

  // ---- plumbing ------------------------------------------------------------------------------------

  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.operations.then(operation, operation);
    this.operations = run.catch(() => {});
    return run.catch((error: unknown) => {
      // A failure inside a lifecycle transition that left a VM half-stopped is fatal for the VMM.
      if (!(error instanceof VmmError) && !this.finished) {
        void this.enqueue(() => this.terminate({ code: 1, reason: 'fatal', error: errorChain(error).join(': ') }));
      }
      throw error;
    });
  }

  private ensureAlive(): void {
    if (this.finished) throw new VmmError('wrong-state', 'the VMM is shutting down');
  }

  private requireConfig(action: string): VmState {
    if (!this.config) throw new VmmError('not-found', `no VM is created; cannot ${action} it`);
    return this.state.value;
  }

  private wrongState(action: string): VmmError {
    return new VmmError('wrong-state', `cannot ${action} the VM in state ${this.state.value}`);
  }

  private setState(state: VmState): void {
    if (this.state.value !== state) this.state.next(state);
  }

  private emit(source: EventSource, event: string, properties: Record<string, string> | null = null): void {
    this.events.next({ timestamp: this.clock.stamp(), source, event, properties });
  }

  private onSerial(bytes: Uint8Array): void {
    this.serialOutput?.write(bytes);
    this.serial.next(bytes);
  }

  private async openSerialOutput(config: VmConfig): Promise<void> {
    // A pty keeps its path for the VM's life: a user attached to it stays attached across boots.
    if (config.serial.mode === 'Pty' && this.serialOutput?.path) return;
    await this.closeSerialOutput();
    this.serialOutput = await openSerialOutput(config.serial, {
      tty: this.options.tty ?? process.stdout,
      input: (bytes) => this.writeSerial(bytes),
      log: this.log,
    });
  }

  private async closeSerialOutput(): Promise<void> {
    const output = this.serialOutput;
    this.serialOutput = null;
    await output?.close();
  }
}
