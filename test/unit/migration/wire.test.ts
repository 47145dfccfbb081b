// The migration wire without KVM: a sender and a receiver over a real unix socket, with RAM in plain
// buffers. Pre-copy converges and the destination's RAM ends equal to the source's; held events and
// the paused flag travel in the State; a receiver refuses, with an Error and no crash, whatever a peer
// sends out of order, out of bounds or at random (fast-check).
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { connectChannel } from '../../../src/migration/channel.js';
import { listenForMigration } from '../../../src/migration/listener.js';
import { ramViews, receiveMigration, type MigrationTarget } from '../../../src/migration/receiver.js';
import { sendMigration, type MigrationSource, type RamRun } from '../../../src/migration/sender.js';
import { MigrationError } from '../../../src/migration/errors.js';
import { Command, HEADER_BYTES, Status, decodeResponse, encodeRanges, encodeRequest, encodeStart } from '../../../src/migration/protocol.js';
import { SAVED_MACHINE_VERSION } from '../../../src/vm/machine.js';
import type { StateDocument } from '../../../src/migration/documents.js';

const dir = mkdtempSync(join(tmpdir(), 'nodevmm-wire-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;
const socketPath = () => join(dir, `m${sockets++}.sock`);

// Two RAM regions with a hole between them, as guest RAM has below and above 4 GiB.
const REGIONS = [
  { gpa: 0, hostOffset: 0, size: 64 << 10 },
  { gpa: 1 << 20, hostOffset: 64 << 10, size: 32 << 10 },
];
const RAM_BYTES = (64 + 32) << 10;
const MACHINE = { version: SAVED_MACHINE_VERSION, vcpus: [{}], vm: {}, devices: {} } as unknown as StateDocument['machine'];

function target(ram: Uint8Array, built: StateDocument[] = []): MigrationTarget {
  return {
    prepare: async (vmConfig) => {
      if ((vmConfig as { memory?: { size?: number } }).memory?.size !== ram.length) throw new MigrationError('unexpected config');
      return ramViews(ram.buffer as ArrayBuffer, REGIONS);
    },
    build: async (state) => void built.push(state),
  };
}

/** A source whose "guest" writes `writesPerIteration` bytes during each of its first iterations. */
function source(ram: Uint8Array, options: { paused?: boolean; dirtyIterations?: number; holding?: boolean; held?: StateDocument['held'] } = {}) {
  const iterations: number[] = [];
  let dirty: RamRun[] = [];
  let logging = false;
  let collected = 0;
  const scribble = () => {
    // the guest writes one page in each region
    for (const region of REGIONS) {
      const page = Math.floor(Math.random() * (region.size / 4096));
      randomFillSync(ram, region.hostOffset + page * 4096, 4096);
      dirty.push({ gpa: region.gpa + page * 4096, hostOffset: region.hostOffset + page * 4096, length: 4096 });
    }
  };
  const side: MigrationSource = {
    vmConfig: { memory: { size: RAM_BYTES } },
    paused: options.paused ?? false,
    writtenRam: () => REGIONS.map((r) => ({ gpa: r.gpa, hostOffset: r.hostOffset, length: r.size })),
    ramBytes: (offset, length) => ram.subarray(offset, offset + length),
    dirtyLog: {
      start: () => void (logging = true),
      stop: () => void (logging = false),
      collect: () => {
        if (!logging) throw new Error('not logging');
        if (collected++ < (options.dirtyIterations ?? 0)) scribble();
        const runs = dirty;
        dirty = [];
        return { runs, pages: runs.length };
      },
    },
    holding: () => options.holding ?? false,
    pause: async () => {},
    saveState: async () => MACHINE,
    takeHeld: () => options.held ?? [],
    onIteration: (id) => iterations.push(id),
    log: () => {},
  };
  return { side, iterations };
}

async function migrate(sourceRam: Uint8Array, options: Parameters<typeof source>[1], sendOptions: { downtimeMs?: number } = {}) {
  const path = socketPath();
  const listener = await listenForMigration({ kind: 'unix', path });
  const destination = new Uint8Array(RAM_BYTES);
  const built: StateDocument[] = [];
  const received = listener.accept().then((channel) => receiveMigration(channel, target(destination, built)));
  const channel = await connectChannel({ kind: 'unix', path });
  const { side, iterations } = source(sourceRam, options);
  const result = await sendMigration(channel, side, { downtimeMs: sendOptions.downtimeMs ?? 1e-9, timeoutS: 60, timeoutStrategy: 'Cancel', abort: new AbortController().signal });
  const state = await received;
  channel.close();
  await listener.close();
  return { destination, built, state, result, iterations };
}

test('pre-copy sends all RAM, then what was dirtied; the destination ends equal to the source', async (t) => {
  const ram = randomFillSync(new Uint8Array(RAM_BYTES));
  const { destination, built, state, result, iterations } = await migrate(ram, { dirtyIterations: 3 });
  t.true(Buffer.from(destination).equals(Buffer.from(ram)));
  t.deepEqual(iterations, [0, 1, 2, 3, 4], 'iteration 0, three with dirty pages, one that found none left, then the final copy');
  t.is(result.iterations, 5);
  t.is(built.length, 1);
  t.deepEqual(state.held, []);
  t.false(state.paused);
});

test('a held event ends pre-copy at once and travels in the State; a paused VM is copied once', async (t) => {
  const ram = randomFillSync(new Uint8Array(RAM_BYTES));
  const held = [{ kind: 'reset', reason: 'i8042-reset' }] as StateDocument['held'];
  const { destination, state, iterations } = await migrate(ram, { dirtyIterations: 100, holding: true, held });
  t.true(Buffer.from(destination).equals(Buffer.from(ram)));
  t.deepEqual(iterations, [0, 1], 'iteration 0, then the final copy');
  t.deepEqual(state.held, held);

  const paused = await migrate(ram, { paused: true });
  t.deepEqual(paused.iterations, [0]);
  t.true(paused.state.paused);
  t.true(Buffer.from(paused.destination).equals(Buffer.from(ram)));
});

/** Sends `bytes` to a fresh receiver; returns its outcome and the statuses it answered with. */
async function feed(bytes: Uint8Array): Promise<{ error: unknown; statuses: number[] }> {
  const path = socketPath();
  const listener = await listenForMigration({ kind: 'unix', path });
  const received = listener
    .accept()
    .then((channel) => receiveMigration(channel, target(new Uint8Array(RAM_BYTES))))
    .then(
      () => null,
      (error: unknown) => error,
    );
  const answers: Buffer[] = [];
  await new Promise<void>((resolve) => {
    const socket = connect({ path }, () => socket.end(bytes));
    socket.on('data', (chunk) => answers.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
  const error = bytes.length === 0 ? null : await received;
  await listener.close();
  const all = Buffer.concat(answers);
  const statuses: number[] = [];
  for (let at = 0; at + HEADER_BYTES <= all.length; ) {
    const response = decodeResponse(all.subarray(at));
    statuses.push(response.status);
    at += HEADER_BYTES + Number(response.length);
  }
  return { error, statuses };
}

const config = (size = RAM_BYTES) => Buffer.from(JSON.stringify({ vm_config: { memory: { size } } }));
const request = (command: Parameters<typeof encodeRequest>[0], payload: Uint8Array = Buffer.alloc(0)) => Buffer.concat([encodeRequest(command, payload.length), payload]);

test('a receiver refuses a wrong version, the wrong order, oversized lengths and ranges outside RAM', async (t) => {
  const cases: Array<[string, Buffer, number[], RegExp]> = [
    ['version 2', encodeStart(2), [Status.Error], /protocol version 2/],
    ['Memory before Config', Buffer.concat([encodeStart(), request(Command.Memory)]), [Status.Ok, Status.Error], /Memory: out of order/],
    ['a Config of 2^63 bytes', Buffer.concat([encodeStart(), encodeRequest(Command.Config, 2 ** 53)]), [Status.Ok, Status.Error], /more than the 16777216/],
    ['a Config that is not JSON', Buffer.concat([encodeStart(), request(Command.Config, Buffer.from('{nope'))]), [Status.Ok, Status.Error], /not a UTF-8 JSON/],
    [
      'a range across the hole',
      Buffer.concat([encodeStart(), request(Command.Config, config()), request(Command.Memory, encodeRanges([{ gpa: 60 << 10, length: 8 << 10 }]))]),
      [Status.Ok, Status.Ok, Status.Error],
      /not inside guest RAM/,
    ],
    ['MemoryFd', Buffer.concat([encodeStart(), request(Command.MemoryFd)]), [Status.Ok, Status.Error], /MemoryFd: not supported/],
    ['Complete before State', Buffer.concat([encodeStart(), request(Command.Config, config()), request(Command.Complete)]), [Status.Ok, Status.Ok, Status.Error], /Complete: out of order/],
    ['a State of another format', Buffer.concat([encodeStart(), request(Command.Config, config()), request(Command.State, Buffer.from('{"format":"qemu"}'))]), [Status.Ok, Status.Ok, Status.Error], /not a nodevmm migration state/],
    ['Abandon', Buffer.concat([encodeStart(), request(Command.Config, config()), request(Command.Abandon)]), [Status.Ok, Status.Ok, Status.Ok], /abandoned/],
    ['a source that hangs up', Buffer.concat([encodeStart(), request(Command.Config, config())]), [Status.Ok, Status.Ok], /closed/],
  ];
  for (const [name, bytes, statuses, message] of cases) {
    const outcome = await feed(bytes);
    t.true(outcome.error instanceof MigrationError, name);
    t.regex((outcome.error as Error).message, message, name);
    t.deepEqual(outcome.statuses.slice(0, statuses.length), statuses, name);
  }
});

test('fuzz: whatever a peer sends, the receiver ends with a MigrationError and nothing else', async (t) => {
  const header = fc.record({ command: fc.integer({ min: 0, max: 9 }), length: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constant(2 ** 40)) });
  const message = fc.tuple(header, fc.uint8Array({ maxLength: 64 })).map(([h, payload]) => Buffer.concat([encodeRequest(h.command as 1, h.length), payload]));
  const stream = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 256 }),
    fc.array(message, { minLength: 1, maxLength: 6 }).map((parts) => Buffer.concat([encodeStart(), ...parts])),
    fc.array(message, { minLength: 0, maxLength: 4 }).map((parts) => Buffer.concat([encodeStart(), request(Command.Config, config()), ...parts])),
  );
  let streams = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(stream, async (bytes) => {
      streams++;
      const outcome = await feed(bytes);
      if (outcome.error instanceof MigrationError) refused++;
      return outcome.error instanceof MigrationError;
    }),
    { numRuns: 300 },
  );
  t.is(streams, 300);
  t.is(refused, streams);
});

test('a sender refused by its destination fails with the reason; no destination: a clear error', async (t) => {
  const path = socketPath();
  const listener = await listenForMigration({ kind: 'unix', path });
  void listener.accept().then((channel) => receiveMigration(channel, target(new Uint8Array(16)))).catch(() => {});
  const channel = await connectChannel({ kind: 'unix', path });
  const { side } = source(new Uint8Array(RAM_BYTES));
  await t.throwsAsync(sendMigration(channel, side, { downtimeMs: 1, timeoutS: 60, timeoutStrategy: 'Cancel', abort: new AbortController().signal }), {
    instanceOf: MigrationError,
    message: /refused Config/,
  });
  await listener.close();
  await t.throwsAsync(connectChannel({ kind: 'unix', path: join(dir, 'nobody.sock') }), { message: /cannot connect to unix:.*nobody\.sock \(ENOENT\): is the destination receiving/ });
});

test('a peer that hangs up while parts are being written: writeAll rejects with a MigrationError, and no write is left unhandled', async (t) => {
  const path = socketPath();
  const { createServer } = await import('node:net');
  const server = createServer((socket) => socket.once('data', () => socket.destroy())); // gone mid-stream
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const channel = await connectChannel({ kind: 'unix', path });
    // small parts, more than the socket holds: some wait in the stream's buffer when the peer goes
    const parts = Array.from({ length: 512 }, () => new Uint8Array(4096));
    await t.throwsAsync(channel.writeAll(parts), { instanceOf: MigrationError });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the other writes fail meanwhile
    t.deepEqual(unhandled, []);
    channel.close();
  } finally {
    process.off('unhandledRejection', onUnhandled);
    server.close();
  }
});
