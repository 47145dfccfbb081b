// The vCPU run loop against synthetic exits: no KVM, a fake vCPU that replays exit records.
import test from 'ava';
import { ExitRecordView, RecordLayout } from '../../../src/kvm/exit-record.js';
import { runVcpu, Control, type LoopContext, type LoopVcpu, type PendingStop } from '../../../src/actors/vcpu-loop.js';
import { KvmExit } from '../../../src/kvm/constants.js';
import { ByteRing } from '../../../src/host/byte-ring.js';

type Exit = { reason: number; port?: number; address?: number; size?: number; write?: boolean; data?: number[]; count?: number; aux?: number; extra?: bigint[] };

/** Replays a script of exits; an IN's answer is captured before the next run, as KVM would see it. */
class FakeVcpu implements LoopVcpu {
  readonly record = new ArrayBuffer(RecordLayout.data + 4096);
  readonly answers: number[][] = [];
  private lastWasIn = false;
  private lastSize = 0;
  private lastCount = 0;
  constructor(private readonly script: Exit[], private readonly onRun: (i: number) => void = () => {}) {}
  private i = 0;
  run(): number {
    const bytes = new Uint8Array(this.record);
    if (this.lastWasIn) this.answers.push([...bytes.subarray(RecordLayout.data, RecordLayout.data + this.lastSize * this.lastCount)]);
    this.onRun(this.i);
    const exit = this.script[this.i++];
    if (!exit) throw new Error('script ran out');
    const view = new DataView(this.record);
    view.setUint32(RecordLayout.reason, exit.reason, true);
    view.setUint32(RecordLayout.size, exit.size ?? 1, true);
    view.setUint32(RecordLayout.isWrite, exit.write ? 1 : 0, true);
    view.setUint32(RecordLayout.count, exit.count ?? 1, true);
    view.setBigUint64(RecordLayout.address, BigInt(exit.port ?? exit.address ?? 0), true);
    view.setBigUint64(RecordLayout.aux, BigInt(exit.aux ?? 0), true);
    view.setUint32(RecordLayout.ndata, exit.extra?.length ?? 0, true);
    exit.extra?.forEach((v, k) => view.setBigUint64(RecordLayout.extra + 8 * k, v, true));
    bytes.set(exit.data ?? [], RecordLayout.data);
    this.lastWasIn = (exit.reason === KvmExit.IO || exit.reason === KvmExit.MMIO) && !exit.write;
    this.lastSize = exit.size ?? 1;
    this.lastCount = exit.count ?? 1;
    return exit.reason;
  }
}

function context(overrides: Partial<LoopContext> = {}): LoopContext & { writes: string[] } {
  const writes: string[] = [];
  const pending: PendingStop = { stop: null };
  return {
    writes,
    pio: {
      read: (port, size) => (port === 0x71 ? 0x42 : size === 2 ? 0xbeef : 0xff),
      write: (port, size, value) => {
        writes.push(`pio ${port.toString(16)}/${size}=${value.toString(16)}`);
        if (port === 0x600 && value === 0x34) pending.stop = { kind: 'guest-exit', reason: 'guest-shutdown' };
      },
    },
    mmio: {
      read: (address, size) => (address === 0xd000_0000 ? 0x1234_5678 : size),
      write: (address, size, value) => writes.push(`mmio ${address.toString(16)}/${size}=${value.toString(16)}`),
    },
    control: new Int32Array(new SharedArrayBuffer(4)),
    controlIndex: 0,
    counters: new Float64Array(64),
    pending,
    vcpuId: 0,
    ...overrides,
  };
}

test('port writes go to the bus; a lifecycle request ends the loop after the exit', (t) => {
  const ctx = context();
  const vcpu = new FakeVcpu([
    { reason: KvmExit.IO, port: 0x3f8, write: true, data: [0x41] },
    { reason: KvmExit.IO, port: 0x80, size: 2, write: true, data: [0x34, 0x12] },
    { reason: KvmExit.IO, port: 0x600, write: true, data: [0x34] },
  ]);
  const stop = runVcpu(vcpu, new ExitRecordView(vcpu.record), ctx);
  t.deepEqual(stop, { kind: 'guest-exit', reason: 'guest-shutdown' });
  t.deepEqual(ctx.writes, ['pio 3f8/1=41', 'pio 80/2=1234', 'pio 600/1=34']);
  t.is(ctx.counters[KvmExit.IO], 3);
  t.is(ctx.pending.stop, null, 'the request is consumed');
});

test('port reads answer in the record; rep ins repeats; MMIO reads and 8-byte writes', (t) => {
  const ctx = context();
  const vcpu = new FakeVcpu([
    { reason: KvmExit.IO, port: 0x71, write: false },
    { reason: KvmExit.IO, port: 0x1f0, size: 2, write: false, count: 3 },
    { reason: KvmExit.MMIO, address: 0xd000_0000, size: 4, write: false },
    { reason: KvmExit.MMIO, address: 0xd000_0010, size: 8, write: true, data: [1, 0, 0, 0, 2, 0, 0, 0] },
    { reason: KvmExit.SHUTDOWN },
  ]);
  const stop = runVcpu(vcpu, new ExitRecordView(vcpu.record), ctx);
  t.deepEqual(stop, { kind: 'reset', reason: 'triple-fault' });
  t.deepEqual(vcpu.answers, [[0x42], [0xef, 0xbe, 0xef, 0xbe, 0xef, 0xbe], [0x78, 0x56, 0x34, 0x12]]);
  t.deepEqual(ctx.writes, ['mmio d0000010/4=1', 'mmio d0000014/4=2']);
});

test('a kick ends the loop only when the VMM asked: stop, pause, or nothing (a stale kick)', (t) => {
  const ctx = context();
  const vcpu = new FakeVcpu(
    [{ reason: KvmExit.INTR }, { reason: KvmExit.IO, port: 0x80, write: true, data: [1] }, { reason: KvmExit.INTR }, { reason: KvmExit.INTR }],
    (i) => {
      if (i === 2) Atomics.store(ctx.control, 0, Control.PAUSE);
    },
  );
  t.deepEqual(runVcpu(vcpu, new ExitRecordView(vcpu.record), ctx), { kind: 'paused' });
  Atomics.store(ctx.control, 0, Control.STOP);
  t.deepEqual(runVcpu(vcpu, new ExitRecordView(vcpu.record), ctx), { kind: 'stopped' });
  t.is(ctx.counters[KvmExit.INTR], 3);
});

test('an internal error is fatal and says where: suberror, RIP, instruction bytes', (t) => {
  const ctx = context({ describeLocation: () => ({ rip: '0xd0000000' }) });
  // flags = 1 (instruction bytes valid), then insn_size = 2 and the bytes 0f 0b
  const insn = 0x0b0f02n;
  const vcpu = new FakeVcpu([{ reason: KvmExit.INTERNAL_ERROR, aux: 1, extra: [1n, insn, 0n] }]);
  const stop = runVcpu(vcpu, new ExitRecordView(vcpu.record), ctx);
  t.is(stop.kind, 'fatal');
  if (stop.kind !== 'fatal') return;
  t.is(stop.detail.suberror, 1);
  t.is(stop.detail.rip, '0xd0000000');
  t.is(stop.detail.instructionBytes, '0f 0b');
  t.regex(stop.detail.message, /vCPU 0: KVM internal error, suberror 1 \(emulation failure\) at RIP 0xd0000000, instruction bytes 0f 0b/);
});

test('entry failure and unknown exits are fatal; a completer may handle an exit instead', (t) => {
  const failEntry = new FakeVcpu([{ reason: KvmExit.FAIL_ENTRY, aux: 0x21 }]);
  const stop = runVcpu(failEntry, new ExitRecordView(failEntry.record), context());
  t.regex(stop.kind === 'fatal' ? stop.detail.message : '', /KVM entry failed, hardware reason 0x21/);

  const odd = new FakeVcpu([{ reason: 99 }]);
  const oddStop = runVcpu(odd, new ExitRecordView(odd.record), context());
  t.regex(oddStop.kind === 'fatal' ? oddStop.detail.message : '', /unexpected KVM exit unknown exit 99/);

  let completed = 0;
  const handled = new FakeVcpu([{ reason: KvmExit.INTERNAL_ERROR, aux: 1 }, { reason: KvmExit.SHUTDOWN }]);
  const after = runVcpu(handled, new ExitRecordView(handled.record), context({ completer: () => ++completed > 0 }));
  t.is(completed, 1);
  t.deepEqual(after, { kind: 'reset', reason: 'triple-fault' });
});

test('ByteRing: producers never block; a full ring drops and counts', (t) => {
  const ring = ByteRing.create(8);
  for (const b of [1, 2, 3]) ring.write(b);
  t.deepEqual([...(ring.drain() ?? [])], [1, 2, 3]);
  t.is(ring.drain(), null);
  for (let i = 0; i < 10; i++) ring.write(i);
  t.is(ring.dropped, 2);
  t.deepEqual([...(ring.drain() ?? [])], [0, 1, 2, 3, 4, 5, 6, 7]);
  const twin = new ByteRing(ring.buffer);
  twin.write(9);
  t.deepEqual([...(ring.drain() ?? [])], [9], 'two views of one buffer are one ring');
});
