// Every device of a platform by id, with how it is shared, and the VM's device state as one object.
// A thread's DeviceManager knows the devices that thread built: each vCPU worker and the main thread
// build the shared-memory ones over the same buffers, so saving or restoring through any one of them
// covers all threads. A device with a host backend (a disk file, a tap) is registered as 'owner' by the
// one thread that has the backend; save() there includes it.
import type { BusDevice } from './device.js';
import type { SavedDeviceState, Stateful } from './saved-state.js';
import type { GuestClock, GuestClockState } from './guest-clock.js';

export type DeviceId = 'serial0' | 'i8042' | 'cmos' | 'ged' | 'post-code' | 'pci' | 'acpi-pm' | 'acpi-sleep-reset' | 'debug-console' | (string & {});

/**
 * 'shared-memory': state in SharedArrayBuffers, driven by any vCPU thread under the device lock;
 * 'stateless': nothing to share or save (computed from the guest clock, or output only);
 * 'owner': lives in one thread only (host backends); other threads reach it by message, not memory.
 */
export type DeviceSharing = 'shared-memory' | 'stateless' | 'owner';

export interface DeviceEntry {
  id: DeviceId;
  device: BusDevice;
  sharing: DeviceSharing;
  state?: Stateful;
  /** drives the interrupt level the device's state implies (after a restore) */
  reassertIrq?(): void;
}

export interface DevicesState {
  version: 1;
  clock: GuestClockState;
  devices: Record<string, SavedDeviceState>;
}

export class DeviceManager {
  private readonly byId = new Map<DeviceId, DeviceEntry>();

  constructor(readonly clock: GuestClock) {}

  register(entry: DeviceEntry): void {
    if (this.byId.has(entry.id)) throw new Error(`device ${entry.id} registered twice`);
    this.byId.set(entry.id, entry);
  }

  get(id: DeviceId): DeviceEntry | undefined {
    return this.byId.get(id);
  }

  get entries(): readonly DeviceEntry[] {
    return [...this.byId.values()];
  }

  /** The guest clock and every stateful device's state; take it with every vCPU paused. */
  save(): DevicesState {
    const devices: Record<string, SavedDeviceState> = {};
    for (const entry of this.byId.values()) if (entry.state) devices[entry.id] = entry.state.save();
    return { version: 1, clock: this.clock.save(), devices };
  }

  /**
   * Restores a save(), every vCPU paused. All or nothing: a device refusing its part puts back what
   * the others held, and the error names the device and field. Then call reassertIrqs().
   */
  restore(saved: unknown): void {
    const s = saved as Partial<DevicesState> | null;
    if (typeof s !== 'object' || s === null) throw new TypeError('devices: saved state is not an object');
    if (s.version !== 1) throw new TypeError(`devices: saved state version ${JSON.stringify(s.version)} is not the supported version 1`);
    const parts = s.devices;
    if (typeof parts !== 'object' || parts === null) throw new TypeError('devices: saved state has no devices object');
    const stateful = [...this.byId.values()].filter((e) => e.state);
    for (const e of stateful) if (!(e.id in parts)) throw new TypeError(`devices: saved state lacks device ${e.id}`);
    for (const id of Object.keys(parts)) if (!this.byId.get(id)?.state) throw new TypeError(`devices: saved state has unknown device ${id}`);
    const before = this.save();
    try {
      for (const e of stateful) e.state!.restore((parts as Record<string, unknown>)[e.id]);
      this.clock.restore(s.clock);
    } catch (error) {
      for (const e of stateful) e.state!.restore(before.devices[e.id]);
      throw error;
    }
  }

  /** Drives every interrupt line to what the devices' state implies (a restored or fresh irqchip). */
  reassertIrqs(): void {
    for (const entry of this.byId.values()) entry.reassertIrq?.();
  }
}
