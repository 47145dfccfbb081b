// Making a VM build ready to run. Two entries, as a VMM needs them: boot from a payload (a fresh
// machine; the payload loaded into new RAM) and restore from a saved build's state (its RAM, devices,
// vCPUs and in-kernel irqchip, PIT and clock put back). Either way the build is attached to the vCPU
// workers before it is returned, and nothing stays open if a step fails.
import type { NativeGuestMemory, NativeKvm } from '../kvm/native.js';
import type { VcpuPool } from '../actors/vcpu-pool.js';
import { Machine, type MachineConfig, type MachineContext, type MachineSource, type RamHandle, type SavedMachine } from '../vm/machine.js';
import type { RamRegion } from '../boot/memory-layout.js';
import type { PlatformQuirks } from '../vm/quirks.js';
import type { PlatformHostSide } from '../vm/platform.js';
import type { VmConfig } from './config.js';
import type { VirtioSlot } from '../devices/virtio/device-protocol.js';

export interface BuildContext {
  kvm: NativeKvm;
  pool: VcpuPool;
  generation: number;
  quirks: PlatformQuirks | null;
  host: PlatformHostSide;
  profileExits: number;
  log: (message: string) => void;
  /** the VM's virtio devices (their threads are the VMM's; a build registers and attaches them) */
  virtio?: readonly VirtioSlot[];
}

/** A fresh machine for `config` with its payload loaded, its vCPUs attached and not yet running. */
export function bootFromPayload(config: VmConfig, context: BuildContext): Promise<Machine> {
  return build(config, context, { from: 'payload' });
}

/**
 * A machine for `config` put back in the state `saved` holds (a build of the same config, saved while
 * paused), its vCPUs attached and restored, not yet running: resuming it goes on where it stopped.
 * Its RAM comes from `ram`: loaded by loadRam (a snapshot), or adopted with the guest's bytes in place
 * (a migration received them).
 */
export async function restoreFromState(
  config: VmConfig,
  saved: SavedMachine,
  context: BuildContext,
  ram: { loadRam?: (ram: RamHandle, regions: readonly RamRegion[]) => Promise<void>; adoptRam?: NativeGuestMemory } = {},
): Promise<Machine> {
  const machine = await build(config, context, { from: 'state', state: saved, ...ram });
  try {
    machine.finishRestore();
  } catch (error) {
    await teardown(machine, context.pool);
    throw error;
  }
  return machine;
}

/**
 * Saves a paused build: every vCPU's state from its worker, then the VM's, the devices' and (unless
 * `withRam` is false, when the caller copies `machine.ram` itself) RAM.
 */
export async function saveBuild(machine: Machine, pool: VcpuPool, withRam = true): Promise<SavedMachine> {
  return machine.save(await pool.saveStates(), withRam);
}

async function build(config: VmConfig, context: BuildContext, source: MachineSource): Promise<Machine> {
  const machine = await Machine.build(machineConfig(config, context), machineContext(context), source);
  return attach(machine, context.pool);
}

function machineConfig(config: VmConfig, context: BuildContext): MachineConfig {
  return {
    vcpus: config.cpus.boot_vcpus,
    memoryBytes: config.memory.size,
    payload: { kernel: config.payload.kernel, cmdline: config.payload.cmdline ?? '', initramfs: config.payload.initramfs },
    serial: config.serial.mode !== 'Off',
    profileExits: context.profileExits,
    virtio: context.virtio,
  };
}

function machineContext(context: BuildContext): MachineContext {
  return {
    kvm: context.kvm,
    generation: context.generation,
    quirks: context.quirks,
    host: context.host,
    vcpuControl: context.pool.control,
    log: context.log,
  };
}

async function attach(machine: Machine, pool: VcpuPool): Promise<Machine> {
  try {
    await pool.attach(machine.specs);
  } catch (error) {
    await pool.detach().catch(() => {});
    machine.destroy();
    throw error;
  }
  return machine;
}

/** Stops a build's vCPUs (they are halted already) and releases the VM and its RAM. */
export async function teardown(machine: Machine, pool: VcpuPool): Promise<void> {
  await pool.detach();
  machine.destroy();
}
