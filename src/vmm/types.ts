// The VMM core's vocabulary as the TypeScript API speaks it (camelCase; the REST layer maps it to
// Cloud Hypervisor's snake_case). The VM config itself is Cloud Hypervisor's document, kept as is.
import type { VmConfig } from './config.js';
import type { VmmEvent } from './events.js';

/** exit counts by exit-reason name: { io: 123, mmio: 4, … } */
export type ExitCounts = Record<string, number>;
export type ExitTimes = Record<string, { exits: number; timed: number; kvmNs: number; vmmNs: number }>;

export type VmState = 'NotCreated' | 'Created' | 'Running' | 'Paused' | 'Shutdown';

/** 'migrated': a live migration handed the VM to its destination */
export type ExitReason = 'guest-shutdown' | 'api' | 'signal' | 'fatal' | 'migrated';

export interface VmmExit {
  /** the status the process should exit with: 0 clean, 1 fatal */
  code: 0 | 1;
  reason: ExitReason;
  error?: string;
}

/** Where the core's events go besides events$ (the event monitor), with what it could not deliver. */
export interface EventSink {
  write(event: VmmEvent): void;
  readonly lostCount: number;
  readonly pendingCount: number;
  /** lets the last events out before the process ends */
  close(timeoutMs: number): Promise<void>;
}

export interface VmmCoreOptions {
  /** QEMU's -no-shutdown: a guest exit stops only the VM */
  noShutdown?: boolean;
  /** 'auto' applies the platform quirks profile when its platform is detected; 'off' never does */
  quirks?: 'auto' | 'off';
  /** diagnostic lines (the CLI prints them with -v) */
  log?: (message: string) => void;
  /** time one exit in N by reason inside the vCPU workers (see counters().exitTiming); 0 = off */
  profileExits?: number;
  /** where serial mode Tty writes (default process.stdout) */
  tty?: NodeJS.WritableStream;
}

export interface VmInfo {
  config: VmConfig;
  state: Exclude<VmState, 'NotCreated'>;
  memoryActualSize: number;
}

export interface LifecycleCounts {
  boots: number;
  reboots: number;
  guestShutdowns: number;
  apiShutdowns: number;
  pauses: number;
  resumes: number;
}

export interface VmCounters {
  /** per vCPU: exits by reason (io, mmio, hlt, shutdown, intr, internal_error…) */
  vcpus: ExitCounts[];
  lifecycle: LifecycleCounts;
  /** guest accesses to ports and MMIO addresses no device claims (read as all ones, writes dropped), all vCPUs */
  unclaimed: { pioReads: number; pioWrites: number; mmioReads: number; mmioWrites: number };
  serial: { droppedBytes: number };
  /** events the event monitor could not deliver (a reader that fell too far behind, a failed target) */
  eventMonitor: { lostEvents: number; pendingEvents: number };
  /**
   * With `profileExits`: per vCPU, by exit reason, the mean time per timed exit spent in KVM_RUN
   * (`kvmNs`: the guest, the kernel's exit and entry, the addon call) and in the worker (`vmmNs`).
   */
  exitTiming?: ExitTimes[];
}
