// Loads the native addon (built by node-gyp into build/Release) and types it. Every thread that loads
// this module gets its own instance of the addon; the objects it makes belong to that thread.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitRecordMismatches } from './exit-record.js';
import { structSizeMismatches } from './structs.js';

export interface NativeKvm {
  apiVersion(): number;
  checkExtension(cap: number): number;
  vcpuMmapSize(): number;
  /** 10 words per kvm_cpuid_entry2: function, index, flags, eax, ebx, ecx, edx, padding×3 */
  supportedCpuid(): Uint32Array;
  msrIndexList(): Uint32Array;
  close(): void;
}

export interface NativeVm {
  readonly fd: number;
  checkExtension(cap: number): number;
  setTssAddr(addr: number): void;
  setIdentityMapAddr(addr: number): void;
  createIrqchip(): void;
  createPit2(): void;
  irqLine(irq: number, level: boolean): void;
  setMemoryRegion(slot: number, guestPhysAddr: number, memory: NativeGuestMemory, offset?: number, size?: number, flags?: number): void;
  /**
   * KVM_GET_DIRTY_LOG of a slot registered with KVM_MEM_LOG_DIRTY_PAGES: a bit per 4 KiB page, in 64-bit
   * little-endian words (at least ceil(pages / 64) * 8 bytes, else a TypeError). KVM clears what it returns.
   */
  getDirtyLog(slot: number, bitmap: Uint8Array): void;
  /** KVM_IOEVENTFD: a guest MMIO write of `length` bytes equal to `datamatch` (< 0: any) signals `fd` in the kernel */
  ioeventfd(fd: number, mmioAddress: number, length: number, datamatch: number): void;
  /** KVM_IRQFD: signalling `fd` pulses `gsi` in the in-kernel irqchip */
  irqfd(fd: number, gsi: number): void;
  /** KVM_GET/SET_IRQCHIP (the chip named by kind), _PIT2, _CLOCK; the buffer is exactly the kernel struct. */
  getState(kind: VmStateKind, out: Uint8Array): void;
  setState(kind: VmStateKind, bytes: Uint8Array): void;
  close(): void;
}

export interface NativeGuestMemory {
  readonly buffer: ArrayBuffer;
  readonly fd: number;
  readonly size: number;
  close(): void;
  /** [offset, length, ...]: maximal runs of 4 KiB pages in the range that the guest wrote and are not zero */
  nonZeroRuns(offset: number, length: number): Float64Array;
  /** copies only the data extents of a file's [fileOffset, +length) to RAM at memoryOffset; returns bytes read */
  loadFileData(fd: number, fileOffset: number, memoryOffset: number, length: number): number;
}

export interface NativeVcpu {
  getRegs(out: Uint8Array): void;
  setRegs(regs: Uint8Array): void;
  getSregs(out: Uint8Array): void;
  setSregs(sregs: Uint8Array): void;
  getFpu(out: Uint8Array): void;
  setFpu(fpu: Uint8Array): void;
  getVcpuEvents(out: Uint8Array): void;
  setVcpuEvents(events: Uint8Array): void;
  getLapic(out: Uint8Array): void;
  setLapic(lapic: Uint8Array): void;
  getMpState(): number;
  setMpState(state: number): void;
  setCpuid(entries: Uint32Array): void;
  getMsrs(indices: Uint32Array, values: BigUint64Array): number;
  setMsrs(indices: Uint32Array, values: BigUint64Array): number;
  /** Whole-struct state ioctls (native/vcpu_state.cc): the buffer is exactly the kernel struct. */
  getState(kind: VcpuStateKind, out: Uint8Array): void;
  setState(kind: VcpuStateKind, bytes: Uint8Array): void;
  close(): void;
  readonly handle: number;
  readonly fd: number;
  readonly record: ArrayBuffer;
}

export type VcpuStateKind = 'xsave' | 'xcrs' | 'debugregs';
export type VmStateKind = 'picMaster' | 'picSlave' | 'ioapic' | 'pit2' | 'clock';

export interface NativeLayout {
  sizes: Record<'kvm_regs' | 'kvm_sregs' | 'kvm_fpu' | 'kvm_vcpu_events' | 'kvm_lapic_state' | 'kvm_cpuid_entry2', number> & {
    state: Record<VcpuStateKind | VmStateKind, number>;
  };
  exitRecord: Record<'size' | 'reason' | 'accessSize' | 'isWrite' | 'count' | 'address' | 'aux' | 'ndata' | 'flags' | 'extra' | 'data', number>;
  kickSignal: number;
}

/** One read of a Unix stream socket with the descriptors that came with it (SCM_RIGHTS). */
export interface ReceivedBytes {
  /** empty: the peer closed its end */
  data: Buffer;
  fds: number[];
  /** the message carried more descriptors than one read takes: the rest were closed */
  truncated: boolean;
}

/** Reads a connected Unix socket through its own dup, with recvmsg; says when it is readable. */
export interface NativeFdReader {
  /** calls onReadable on the event loop while the socket has something to read */
  start(): void;
  stop(): void;
  /** null when nothing is waiting */
  receive(maxBytes: number): ReceivedBytes | null;
  /** stops, and closes the dup (not the caller's fd) */
  close(): void;
}

export interface NativeAddon {
  FdReader: new (fd: number, onReadable: (status: number) => void) => NativeFdReader;
  /** one sendmsg of data with the descriptors attached; bytes sent, or -errno (-EAGAIN: full) */
  sendWithFds(fd: number, data: Buffer, fds: number[]): number;
  Kvm: new (path?: string) => NativeKvm;
  Vm: new (kvm: NativeKvm) => NativeVm;
  Vcpu: new (vmFd: number, id: number, mmapSize: number) => NativeVcpu;
  GuestMemory: new (size: number, fd?: number) => NativeGuestMemory;
  /**
   * KVM_RUN on the vCPU this thread constructed, decoding the exit into its record (the hot path:
   * a plain function, cheaper per call than an ObjectWrap method). Throws on a failed KVM_RUN.
   */
  enterGuest(): void;
  /** Kicks the vCPU with this handle out of KVM_RUN from any thread; false if it no longer exists. */
  kickVcpu(handle: number): boolean;
  irqLine(vmFd: number, irq: number, level: boolean): void;
  /** A pseudo-terminal pair, both fds close-on-exec, the master non-blocking, the slave in raw mode. */
  openPty(): { master: number; slave: number; path: string };
  /** names the calling thread (15 bytes kept), as tools that find threads by name expect */
  setThreadName(name: string): void;
  /** bytes in a pty's input queue that no reader has taken yet (FIONREAD on the slave fd) */
  ptyUnread(slaveFd: number): number;
  /** a fresh eventfd (non-blocking, close-on-exec); close it with fs.closeSync */
  eventfd(): number;
  /** adds 1 to an eventfd's counter (wakes its waiter) */
  signalEventfd(fd: number): void;
  /**
   * Blocks until one of `fds` (eventfds, at most 32) is signalled or `timeoutMs` passes (-1: forever);
   * returns the mask of signalled fds by index, each of them reset. 0 on a timeout or a signal. Only
   * the first `eventfdCount` (default: all) are eventfds; the rest are reported when readable, unread,
   * or from index `writersFrom` on, when writable.
   */
  waitEventfds(fds: Int32Array, timeoutMs: number, eventfdCount?: number, writersFrom?: number): number;
  /** an advisory open-file lock (F_OFD_SETLK) on the whole file: false if another open file holds a conflicting one */
  lockFile(fd: number, exclusive: boolean): boolean;
  /** drops this open file's lock */
  unlockFile(fd: number): void;
  /** attaches to (or, with CAP_NET_ADMIN, makes) the tap `name`, with 12-byte virtio-net headers, non-blocking */
  openTap(name: string): { fd: number; name: string };
  /** checks a handed-over fd is a tap with IFF_VNET_HDR and IFF_NO_PI, and readies it as openTap does */
  adoptTap(fd: number): { fd: number; name: string };
  /** the offloads (TUN_F_*) the tap may deliver to the guest */
  setTapOffload(fd: number, flags: number): void;
  /** readv that returns -1 instead of blocking */
  readvNonblocking(fd: number, buffers: Uint8Array[]): number;
  /** writev that returns -errno on failure instead of throwing */
  writevNonblocking(fd: number, buffers: Uint8Array[]): number;
  /** a non-blocking listening Unix stream socket at `path` (which must not exist) */
  unixListen(path: string): number;
  /** a connected non-blocking fd, or -1 when no client waits */
  unixAccept(listener: number): number;
  /** a connected non-blocking fd, or -errno */
  unixConnect(path: string): number;
  /** shutdown(2): 0 read, 1 write, 2 both */
  shutdownSocket(fd: number, how: number): void;
  layout: NativeLayout;
}

function findAddon(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'build', 'Release', 'nodevmm_kvm.node');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('nodevmm native addon not built: run `npm run build:native`');
}

let addon: NativeAddon | undefined;

// The addon also binds enterGuest through V8's own API (cheaper per call, see native/fast_entry.cc)
// and hands it over on the thread's global object; take it from there and leave no trace.
const FAST_ENTRY = '__nodevmmFastEnterGuest';

export function native(): NativeAddon {
  if (!addon) {
    const loaded = createRequire(import.meta.url)(findAddon()) as NativeAddon;
    const globals = globalThis as Record<string, unknown>;
    const fast = globals[FAST_ENTRY];
    delete globals[FAST_ENTRY];
    const mismatches = [...exitRecordMismatches(loaded.layout), ...structSizeMismatches(loaded.layout)];
    if (mismatches.length > 0) {
      throw new Error(`nodevmm native addon does not match this code's exit record or struct sizes (${mismatches.join('; ')}): rebuild it with \`npm run build:native\``);
    }
    addon = typeof fast === 'function' ? { ...loaded, enterGuest: fast as () => void } : loaded;
  }
  return addon;
}
