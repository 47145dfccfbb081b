// The devices of one VM build as every thread sees them: the device state (shared memory), and the
// rings that carry the guest's serial and debug-console bytes to the main thread. The same function
// builds the platform in each vCPU worker and on the main thread.
import { ByteRing } from '../host/byte-ring.js';
import { buildPlatform as buildDevicePlatform, createPlatformState, type Platform, type PlatformState } from '../devices/platform.js';
import type { IrqLine, LifecycleSink } from '../devices/device.js';
import { MMIO_HOLE_START, type RamRegion } from '../boot/memory-layout.js';

export type { Platform };

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

export function createPlatformShared(options: { serial: boolean; regions: readonly RamRegion[]; host: PlatformHostSide }): PlatformShared {
  const below = options.regions.filter((r) => r.gpa < MMIO_HOLE_START).reduce((sum, r) => sum + r.size, 0);
  const above = options.regions.filter((r) => r.gpa >= MMIO_HOLE_START).reduce((sum, r) => sum + r.size, 0);
  return {
    devices: createPlatformState({ belowFourGiB: below, aboveFourGiB: above }),
    serialEnabled: options.serial,
    host: options.host,
  };
}

export interface PlatformThreadDeps {
  irq(line: number): IrqLine;
  lifecycle: LifecycleSink;
}

export function buildPlatform(shared: PlatformShared, deps: PlatformThreadDeps): Platform {
  const serialRing = new ByteRing(shared.host.serialOut);
  const debugRing = new ByteRing(shared.host.debugOut);
  return buildDevicePlatform(
    {
      lifecycle: deps.lifecycle,
      irq: deps.irq,
      serialOutput: shared.serialEnabled ? serialRing : null,
      debugLog: debugRing,
    },
    shared.devices,
  );
}
