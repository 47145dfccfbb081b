// A vCPU's run loop: enter the guest, handle port and MMIO exits right here through the device buses,
// re-enter. It returns only when the vCPU must stop entering the guest: the VMM kicked it (stop or
// pause), a device raised a lifecycle request, or something fatal happened. No allocation per exit.
import { KvmExit, KvmExitName, KvmInternalError } from '../kvm/constants.js';
import { ExitRecordView } from '../kvm/exit-record.js';
import { emulationBytes, type ExitCompleter } from '../kvm/internal-error.js';
import type { VcpuStop, FatalDetail } from './lifecycle.js';
import { hex } from '../util/units.js';

export interface LoopVcpu {
  run(): number;
  readonly record: ArrayBuffer;
}

export interface PortBus {
  read(port: number, size: number): number;
  write(port: number, size: number, value: number): void;
}

export interface AddressBus {
  read(address: number, size: number): number;
  write(address: number, size: number, value: number): void;
}

/** What the VMM asks of a running vCPU through shared memory (then a kick). */
export const Control = { RUN: 0, PAUSE: 1, STOP: 2 } as const;

/** A device's lifecycle request lands here and ends the loop after the current exit. */
export interface PendingStop {
  stop: VcpuStop | null;
}

export interface LoopContext {
  pio: PortBus;
  mmio: AddressBus;
  control: Int32Array;
  controlIndex: number;
  /** exit counts indexed by KVM exit reason */
  counters: Float64Array;
  pending: PendingStop;
  completer?: ExitCompleter;
  /** called for the fatal message: where the guest was (e.g. reads RIP); may throw */
  describeLocation?: () => Partial<FatalDetail>;
  vcpuId: number;
}

export function runVcpu(vcpu: LoopVcpu, record: ExitRecordView, ctx: LoopContext): VcpuStop {
  const { pio, mmio, counters, pending } = ctx;
  for (;;) {
    const reason = vcpu.run();
    counters[reason]++;
    switch (reason) {
      case KvmExit.IO:
        handlePio(pio, record);
        break;
      case KvmExit.MMIO:
        handleMmio(mmio, record);
        break;
      case KvmExit.INTR: {
        const request = Atomics.load(ctx.control, ctx.controlIndex);
        if (request === Control.STOP) return { kind: 'stopped' };
        if (request === Control.PAUSE) return { kind: 'paused' };
        break; // a stale kick: go on
      }
      case KvmExit.HLT:
        break; // only without an in-kernel irqchip; re-entering waits for the next interrupt
      case KvmExit.SHUTDOWN:
        return { kind: 'reset', reason: 'triple-fault' };
      default:
        if (ctx.completer?.(reason, record)) break;
        return { kind: 'fatal', detail: describeFatal(reason, record, ctx) };
    }
    if (pending.stop !== null) {
      const stop = pending.stop;
      pending.stop = null;
      return stop;
    }
  }
}

function handlePio(bus: PortBus, record: ExitRecordView): void {
  const port = record.words[4];
  const size = record.words[1];
  const count = record.words[3];
  if (record.words[2] !== 0) {
    for (let i = 0, at = 0; i < count; i++, at += size) bus.write(port, size, record.readValue(at, size));
  } else {
    for (let i = 0, at = 0; i < count; i++, at += size) record.writeValue(at, size, bus.read(port, size));
  }
}

function handleMmio(bus: AddressBus, record: ExitRecordView): void {
  const address = record.address;
  const size = record.words[1];
  if (record.words[2] !== 0) {
    if (size <= 4) {
      bus.write(address, size, record.readValue(0, size));
    } else {
      bus.write(address, 4, record.readValue(0, 4));
      bus.write(address + 4, 4, record.readValue(4, 4));
    }
  } else if (size <= 4) {
    record.writeValue(0, size, bus.read(address, size));
  } else {
    record.writeValue(0, 4, bus.read(address, 4));
    record.writeValue(4, 4, bus.read(address + 4, 4));
  }
}

function describeFatal(reason: number, record: ExitRecordView, ctx: LoopContext): FatalDetail {
  const exitReason = KvmExitName[reason] ?? `unknown exit ${reason}`;
  const detail: FatalDetail = { message: '', vcpu: ctx.vcpuId, exitReason };
  let what: string;
  switch (reason) {
    case KvmExit.INTERNAL_ERROR: {
      const suberror = Number(record.aux);
      detail.suberror = suberror;
      what = `KVM internal error, suberror ${suberror}${suberror === KvmInternalError.EMULATION ? ' (emulation failure)' : ''}`;
      const bytes = emulationBytes(record);
      if (bytes) detail.instructionBytes = bytes;
      break;
    }
    case KvmExit.FAIL_ENTRY:
      what = `KVM entry failed, hardware reason ${hex(record.aux)}`;
      break;
    case KvmExit.UNKNOWN:
      what = `unknown KVM exit, hardware reason ${hex(record.aux)}`;
      break;
    default:
      what = `unexpected KVM exit ${exitReason} (${reason})`;
  }
  try {
    Object.assign(detail, ctx.describeLocation?.());
  } catch {
    // the location is a bonus; the exit itself is the news
  }
  const where = detail.rip ? ` at RIP ${detail.rip}` : '';
  const bytes = detail.instructionBytes ? `, instruction bytes ${detail.instructionBytes}` : '';
  detail.message = `vCPU ${ctx.vcpuId}: ${what}${where}${bytes}`;
  return detail;
}
