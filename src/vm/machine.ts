// One build of the VM: a KVM VM with its RAM, irqchip, devices and payload, run by the vCPU pool.
// A build starts from a payload (fresh RAM, ACPI tables and the payload loaded) or from a saved
// build's state (RAM copied back, devices, vCPUs and the in-kernel irqchip, PIT and clock restored).
// A reset throws the build away and makes a new one from the payload; the pool's threads are reused.
import { native, type NativeGuestMemory, type NativeKvm, type NativeVm } from '../kvm/native.js';
import { stateCaps, type VcpuState } from '../kvm/vcpu-state.js';
import { restoreVmState, saveVmState, type VmState } from '../kvm/vm-state.js';
import { DirtyLog } from '../kvm/dirty-log.js';
import { writtenRuns, type DirtyPages, type LoggedRegion } from '../kvm/dirty-runs.js';
import type { DevicesState } from '../devices/device-manager.js';
import { GuestRam } from '../boot/guest-ram.js';
import { ramRegions, type RamRegion } from '../boot/memory-layout.js';
import { COUNTER_SLOTS, vcpuCounters, type VcpuSpec } from './vcpu-spec.js';
import { cpuidForVcpu } from './cpuid.js';
import { loadPayload, type PayloadConfig } from './load-payload.js';
import { buildPlatform, createPlatformShared, platformDeps, type Platform, type PlatformHostSide } from './platform.js';
import type { PlatformQuirks } from './quirks.js';
import { buildAcpiTables } from '../acpi/tables.js';
import type { VirtioSlot } from '../devices/virtio/device-protocol.js';
import { Reg } from '../devices/virtio/constants.js';
import { EXIT_TIMING_WORDS, exitTimesByReason, vcpuExitTiming, type ReasonTimes } from './exit-timing-layout.js';

// Addresses KVM needs for its own use on Intel hosts (real-mode TSS and EPT identity map), just below
// the 4 GiB boundary where no RAM or device lives.
const KVM_IDENTITY_MAP_ADDRESS = 0xfffb_c000;
const KVM_TSS_ADDRESS = 0xfffb_d000;

export interface MachineConfig {
  vcpus: number;
  memoryBytes: number;
  payload: PayloadConfig;
  serial: boolean;
  /** time one exit in N per reason inside the workers (0: off) */
  profileExits: number;
  /** virtio-mmio devices: their threads run outside the build, which registers their eventfds */
  virtio?: readonly VirtioSlot[];
}

/** Everything a paused build is, but its config: what a restore needs (LIFECYCLE's snapshot state). */
export interface SavedMachine {
  version: typeof SAVED_MACHINE_VERSION;
  vcpus: VcpuState[];
  vm: VmState;
  devices: DevicesState;
  /**
   * Guest RAM, all of it, in host-offset order (the regions' layout follows from its size), when it
   * travels in this object. Absent when the RAM goes its own way (a snapshot's memory-ranges file,
   * a migration's Memory commands): then the source's `loadRam` fills it.
   */
  ram?: Uint8Array;
}

/** The guest RAM's memfd, as another thread maps it (a RAM copy task, a vCPU worker). */
export interface RamHandle {
  fd: number;
  size: number;
}

export const SAVED_MACHINE_VERSION = 1;

/** Where a build's contents come from. */
export type MachineSource =
  | { from: 'payload' }
  | {
      from: 'state';
      state: SavedMachine;
      /** fills the new RAM (a snapshot's memory-ranges) */
      loadRam?: (ram: RamHandle, regions: readonly RamRegion[]) => Promise<void>;
      /** RAM that already holds the guest's bytes (a migration received them): the build owns it from now on */
      adoptRam?: NativeGuestMemory;
    };

export interface MachineContext {
  kvm: NativeKvm;
  generation: number;
  quirks: PlatformQuirks | null;
  host: PlatformHostSide;
  /** the vCPU pool's control words (Control.RUN / PAUSE / STOP per vCPU), shared with every build */
  vcpuControl: SharedArrayBuffer;
  log?: (message: string) => void;
}

/** KVM's MSR index list is fixed for a /dev/kvm handle: read it once, not on every build and reset. */
const msrIndexCache = new WeakMap<object, number[]>();
function msrIndicesOf(kvm: { msrIndexList(): Uint32Array }): number[] {
  let indices = msrIndexCache.get(kvm);
  if (!indices) msrIndexCache.set(kvm, (indices = [...kvm.msrIndexList()]));
  return indices;
}

export class Machine {
  private constructor(
    readonly generation: number,
    readonly config: MachineConfig,
    private readonly vm: NativeVm,
    private readonly memory: NativeGuestMemory,
    readonly regions: RamRegion[],
    readonly platform: Platform,
    readonly specs: VcpuSpec[],
    readonly counters: SharedArrayBuffer,
    private readonly exitTiming: SharedArrayBuffer | null,
    /** the in-kernel device state to put back once the vCPUs exist (a build from state) */
    private pendingVmState: VmState | null,
  ) {}

  /**
   * Builds the VM from `source`; nothing runs yet. Cleans up after itself if it fails. A build from
   * state needs finishRestore() once its vCPUs are attached.
   */
  static async build(config: MachineConfig, context: MachineContext, source: MachineSource = { from: 'payload' }): Promise<Machine> {
    const addon = native();
    const vm = new addon.Vm(context.kvm);
    let memory: NativeGuestMemory | undefined;
    try {
      // RAM first: adding a memory slot once the irqchip exists costs the kernel extra grace periods.
      const regions = ramRegions(config.memoryBytes);
      const adopted = source.from === 'state' ? source.adoptRam : undefined;
      if (adopted && adopted.size !== config.memoryBytes) throw new RangeError(`adopted RAM has ${adopted.size} bytes, the config ${config.memoryBytes}`);
      memory = adopted ?? new addon.GuestMemory(config.memoryBytes);
      regions.forEach((region, slot) => vm.setMemoryRegion(slot, region.gpa, memory!, region.hostOffset, region.size));
      vm.setTssAddr(KVM_TSS_ADDRESS);
      vm.setIdentityMapAddr(KVM_IDENTITY_MAP_ADDRESS);
      vm.createIrqchip();
      vm.createPit2();
      const saved = source.from === 'state' ? source.state : null;
      let boot: VcpuSpec['boot'] = null;
      if (saved) {
        checkSavedMachine(saved, config);
        // adopted RAM holds the guest's bytes already
        if (!adopted) {
          if (saved.ram) new Uint8Array(memory.buffer).set(saved.ram);
          else if (source.from === 'state' && source.loadRam) await source.loadRam({ fd: memory.fd, size: memory.size }, regions);
          else throw new RangeError('saved VM state: no RAM, and nothing to load it from');
        }
      } else {
        const ram = new GuestRam(memory.buffer, regions);
        // No timer override: KVM's default routing takes the in-kernel PIT's IRQ 0 to IOAPIC pin 0.
        const acpi = buildAcpiTables(ram, { vcpus: config.vcpus, serial: config.serial, timerGsi: 0, virtio: (config.virtio ?? []).map((slot) => slot.placement) });
        const loaded = await loadPayload(config.payload, ram, regions, {
          rsdpAddress: acpi.rsdpAddress,
          linuxCmdline: context.quirks?.linuxCmdline,
          log: context.log,
        });
        boot = loaded.boot;
        context.log?.(`payload ${config.payload.kernel}: ${loaded.boot.mode} entry, command line "${loaded.cmdline}"`);
      }

      const virtio = (config.virtio ?? []).map((slot) => ({ id: slot.id, info: slot.info, base: slot.placement.base, kicks: { device: slot.fds.control, queues: slot.fds.queues } }));
      const shared = createPlatformShared({ serial: config.serial, regions, host: context.host, virtio });
      registerVirtioEventfds(vm, config.virtio ?? []);
      const platform = buildPlatform(shared.devices, platformDeps(shared, {
        irq: (line) => ({ set: (level) => vm.irqLine(line, level) }),
        // Only vCPU workers see guest writes; the main thread's copy never raises lifecycle requests.
        lifecycle: { guestExit: () => {}, reset: () => {} },
      }));
      if (saved) platform.devices.restore(saved.devices);
      const saving = { msrIndices: msrIndicesOf(context.kvm), caps: stateCaps(vm) };

      const supported = context.kvm.supportedCpuid();
      const counters = new SharedArrayBuffer(config.vcpus * COUNTER_SLOTS * 8);
      const exitTiming = config.profileExits > 0 ? new SharedArrayBuffer(config.vcpus * EXIT_TIMING_WORDS * 8) : null;
      const mmapSize = context.kvm.vcpuMmapSize();
      const specs: VcpuSpec[] = [];
      for (let id = 0; id < config.vcpus; id++) {
        specs.push({
          generation: context.generation,
          vcpuId: id,
          vcpuCount: config.vcpus,
          vmFd: vm.fd,
          kvmRunMmapSize: mmapSize,
          platform: shared,
          control: context.vcpuControl,
          counters,
          cpuid: cpuidForVcpu(supported, { vcpuId: id, vcpuCount: config.vcpus, hide: context.quirks?.hiddenCpuFeatures }),
          boot: id === 0 ? boot : null,
          restore: saved ? saved.vcpus[id] : null,
          saving,
          quirks: { completeInstructions: context.quirks?.completeInstructions ?? false },
          exitTiming: exitTiming ? { sampleEvery: config.profileExits, totals: exitTiming } : null,
        });
      }
      return new Machine(context.generation, config, vm, memory, regions, platform, specs, counters, exitTiming, saved?.vm ?? null);
    } catch (error) {
      vm.close();
      memory?.close();
      throw error;
    }
  }

  /**
   * A build from state, its vCPUs attached (restored in their threads): the PICs, IOAPIC, PIT and
   * clock go back now, since the IOAPIC and PIC route to vCPUs that must exist, and the interrupt
   * levels the devices' state implies are driven again.
   */
  finishRestore(): void {
    const vmState = this.pendingVmState;
    if (!vmState) return;
    this.pendingVmState = null;
    restoreVmState(this.vm, vmState);
    this.platform.devices.reassertIrqs();
  }

  /**
   * The build's state with the vCPUs' (saved by the pool, every vCPU paused). RAM is copied unless
   * `withRam` is false: a snapshot or migration copies it from `ram` on another thread instead.
   */
  save(vcpus: VcpuState[], withRam = true): SavedMachine {
    return {
      version: SAVED_MACHINE_VERSION,
      vcpus,
      vm: saveVmState(this.vm),
      devices: this.platform.devices.save(),
      ...(withRam ? { ram: new Uint8Array(this.memory.buffer).slice() } : {}),
    };
  }

  /** A virtio device's registers in this build, for its device thread. */
  virtioState(id: string): SharedArrayBuffer {
    const found = this.specs[0]?.platform.devices.virtio.find((v) => v.id === id);
    if (!found) throw new Error(`this VM build has no virtio device ${id}`);
    return found.registers;
  }

  /** The bytes of guest RAM at `hostOffset` (a migration sends them from here). Valid until destroy(). */
  ramBytes(hostOffset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, hostOffset, length);
  }

  /** The RAM's memfd, for a copy task on another thread. Valid until destroy(). */
  get ram(): RamHandle {
    return { fd: this.memory.fd, size: this.memory.size };
  }

  /** The RAM the guest wrote and left non-zero: a migration's first pass to a fresh (zero) destination. */
  writtenRam(): DirtyPages {
    return writtenRuns(this.loggedRegions(), (offset, length) => this.memory.nonZeroRuns(offset, length));
  }

  /** Dirty-page tracking over this build's RAM slots (off until its start()), for a migration's pre-copy. */
  dirtyLog(): DirtyLog {
    return new DirtyLog(this.vm, this.memory, this.loggedRegions());
  }

  /** The RAM regions with their KVM slot numbers: the regions' indices, as build() registered them. */
  private loggedRegions(): LoggedRegion[] {
    return this.regions.map((region, slot) => ({ slot, ...region }));
  }

  /** Exit counts per vCPU, indexed by KVM exit reason. */
  exitCounts(): Float64Array[] {
    return this.specs.map((_, id) => vcpuCounters(this.counters, id));
  }

  /** With exit profiling on: per vCPU, time per exit by KVM exit reason. */
  exitTimes(): Array<Record<number, ReasonTimes>> | null {
    const totals = this.exitTiming;
    if (!totals) return null;
    return this.specs.map((_, id) => exitTimesByReason(vcpuExitTiming(totals, id)));
  }

  /** Releases the VM and its RAM. The vCPUs must be detached from the pool first. */
  destroy(): void {
    this.vm.close();
    this.memory.close();
  }
}

/**
 * Each queue's QueueNotify goes to its eventfd inside KVM (datamatch on the queue index), and each
 * device's interrupt eventfd drives its GSI: the data path needs no userspace exit either way.
 */
function registerVirtioEventfds(vm: NativeVm, slots: readonly VirtioSlot[]): void {
  for (const slot of slots) {
    slot.fds.queues.forEach((fd, queue) => vm.ioeventfd(fd, slot.placement.base + Reg.QUEUE_NOTIFY, 4, queue));
    vm.irqfd(slot.fds.irq, slot.placement.gsi);
  }
}

/** A saved build must fit the config it is restored with; its parts check themselves on restore. */
function checkSavedMachine(saved: SavedMachine, config: MachineConfig): void {
  if (saved.version !== SAVED_MACHINE_VERSION) throw new RangeError(`saved VM state: version ${saved.version}, expected ${SAVED_MACHINE_VERSION}`);
  if (saved.ram && saved.ram.length !== config.memoryBytes) throw new RangeError(`saved VM state: ${saved.ram.length} bytes of RAM, the config has ${config.memoryBytes}`);
  if (saved.vcpus.length !== config.vcpus) throw new RangeError(`saved VM state: ${saved.vcpus.length} vCPUs, the config has ${config.vcpus}`);
}

/**
 * Guest RAM of `bytes`, laid out in regions as a build of that size lays it out, for a build to adopt
 * later (MachineSource adoptRam): a migration's destination fills it before the VM exists.
 */
export function allocateRam(bytes: number): { memory: NativeGuestMemory; regions: RamRegion[] } {
  return { memory: new (native().GuestMemory)(bytes), regions: ramRegions(bytes) };
}
