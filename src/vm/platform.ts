// What a thread needs to build the devices of one VM build: the device state (shared memory) and the
// rings that carry the guest's serial and debug-console bytes to the main thread. Each vCPU worker and
// the main thread pass it to the one buildPlatform() (src/devices/platform.ts) through platformDeps().
import { ByteRing } from '../host/byte-ring.js';
import { native } from '../kvm/native.js';
import { createPlatformState, type PlatformDeps, type PlatformState, type VirtioTransportPlan } from '../devices/platform.js';
import type { IrqLine, LifecycleSink } from '../devices/device.js';
import { MMIO_HOLE_START, type RamRegion } from '../boot/memory-layout.js';

export { buildPlatform, type Platform } from '../devices/platform.js';

/** Rings owned by the VMM (they outlive VM builds), drained on the main thread. */
export interface PlatformHostSide {
  serialOut: SharedArrayBuffer;
  debugOut: SharedArrayBuffer;
}

/** Everything a thread needs to build the platform; structured-cloneable. */
export interface PlatformShared {
  devices: PlatformState;
  serialEnabled: boolean;
  host: PlatformHostSide;
}

export function createPlatformShared(options: { serial: boolean; regions: readonly RamRegion[]; host: PlatformHostSide; virtio?: readonly VirtioTransportPlan[] }): PlatformShared {
  const below = options.regions.filter((r) => r.gpa < MMIO_HOLE_START).reduce((sum, r) => sum + r.size, 0);
  const above = options.regions.filter((r) => r.gpa >= MMIO_HOLE_START).reduce((sum, r) => sum + r.size, 0);
  return {
    devices: createPlatformState({ belowFourGiB: below, aboveFourGiB: above }, options.virtio),
    serialEnabled: options.serial,
    host: options.host,
  };
}

export interface PlatformThreadDeps {
  irq(line: number): IrqLine;
  lifecycle: LifecycleSink;
  unclaimed?: PlatformDeps['unclaimed'];
}

/** Kick handles are eventfds: any thread with the addon signals them. */
const signalEventfd = (fd: number): void => native().signalEventfd(fd);

/** This thread's side effects for buildPlatform(shared.devices, …): its irq lines, lifecycle, the rings. */
export function platformDeps(shared: PlatformShared, deps: PlatformThreadDeps): PlatformDeps {
  return {
    lifecycle: deps.lifecycle,
    irq: deps.irq,
    signal: signalEventfd,
    serialOutput: shared.serialEnabled ? new ByteRing(shared.host.serialOut) : null,
    debugLog: new ByteRing(shared.host.debugOut),
    ...(deps.unclaimed ? { unclaimed: deps.unclaimed } : {}),
  };
}
