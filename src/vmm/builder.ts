// Making a VM build ready to run. Two entries, as a VMM needs them: boot from a payload (a fresh
// machine; the payload loaded into new RAM) and, later, restore from saved state. Either way the build
// is attached to the vCPU workers before it is returned, and nothing stays open if a step fails.
import type { NativeKvm } from '../kvm/native.js';
import type { VcpuPool } from '../actors/vcpu-pool.js';
import { Machine } from '../vm/machine.js';
import type { PlatformQuirks } from '../vm/quirks.js';
import type { PlatformHostSide } from '../vm/platform.js';
import type { VmConfig } from './config.js';

export interface BuildContext {
  kvm: NativeKvm;
  pool: VcpuPool;
  generation: number;
  quirks: PlatformQuirks | null;
  host: PlatformHostSide;
  profileExits: number;
  log: (message: string) => void;
}

/** A fresh machine for `config` with its payload loaded, its vCPUs attached and not yet running. */
export async function bootFromPayload(config: VmConfig, context: BuildContext): Promise<Machine> {
  const machine = await Machine.build(
    {
      vcpus: config.cpus.boot_vcpus,
      memoryBytes: config.memory.size,
      payload: { kernel: config.payload.kernel, cmdline: config.payload.cmdline ?? '', initramfs: config.payload.initramfs },
      serial: config.serial.mode !== 'Off',
      profileExits: context.profileExits,
    },
    {
      kvm: context.kvm,
      generation: context.generation,
      quirks: context.quirks,
      host: context.host,
      vcpuControl: context.pool.control,
      log: context.log,
    },
  );
  return attach(machine, context.pool);
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
