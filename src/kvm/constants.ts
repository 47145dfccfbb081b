// Numbers from the KVM API (linux/kvm.h) that the TypeScript side needs.
export const KvmExit = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  SET_TPR: 11,
  TPR_ACCESS: 12,
  NMI: 16,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
} as const;

export const KvmExitName: Record<number, string> = Object.fromEntries(
  Object.entries(KvmExit).map(([name, value]) => [value, name.toLowerCase()]),
);

export const KvmInternalError = { EMULATION: 1, SIMUL_EX: 2, DELIVERY_EV: 3, UNEXPECTED_EXIT_REASON: 4 } as const;

export const MemoryRegionFlags = { LOG_DIRTY_PAGES: 1, READONLY: 2 } as const;
