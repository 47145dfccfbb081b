// virtio-vsock's backend over stand-in sockets: the hybrid handshake (CONNECT <port> -> REQUEST ->
// RESPONSE -> OK <port>), guest connections to SOCKET_PORT, data both ways within the credit, and
// what a guest gets for packets that belong to no connection or break the rules.
import test from 'ava';
import { BUFFER_BYTES, VsockDevice, VSOCK_RX_QUEUE, VSOCK_TX_QUEUE, type SocketIo } from '../../../../src/devices/virtio/vsock.js';
import { decodeHeader, encodeHeader, HOST_CID, Op, TYPE_STREAM, VSOCK_HEADER_BYTES, type VsockHeader } from '../../../../src/devices/virtio/vsock-packet.js';

const CID = 42;
const LISTENER = 3;

class FakeSockets implements SocketIo {
  inbound = new Map<number, number[]>(); // fd -> bytes the host side has sent
  outbound = new Map<number, number[]>(); // fd -> bytes written to the host side
  closed: number[] = [];
  waiting: number[] = []; // fds accept() hands out
  listeners = new Map<string, number>(); // path -> fd connect() returns
  nextFd = 100;
  readv = (fd: number, buffers: Uint8Array[]): number => {
    const bytes = this.inbound.get(fd);
    if (!bytes || bytes.length === 0) return -1;
    let n = 0;
    for (const b of buffers) for (let i = 0; i < b.length && bytes.length > 0; i++, n++) b[i] = bytes.shift()!;
    return n;
  };
  writev = (fd: number, buffers: Uint8Array[]): number => {
    const out = this.outbound.get(fd) ?? [];
    this.outbound.set(fd, out);
    let n = 0;
    for (const b of buffers) for (const byte of b) out.push(byte), n++;
    return n;
  };
  accept = (): number => this.waiting.shift() ?? -1;
  connect = (path: string): number => this.listeners.get(path) ?? -2;
  shutdown = (): void => {};
  close = (fd: number): void => void this.closed.push(fd);
}

const header = (op: number, over: Partial<VsockHeader> = {}): VsockHeader => ({ srcCid: CID, dstCid: HOST_CID, srcPort: 7000, dstPort: 6000, len: 0, type: TYPE_STREAM, op, flags: 0, bufAlloc: 65536, fwdCnt: 0, ...over });
const packet = (h: VsockHeader, payload = new Uint8Array(0)) => {
  const bytes = new Uint8Array(VSOCK_HEADER_BYTES);
  encodeHeader({ ...h, len: payload.length }, bytes);
  return { head: 0, readable: [bytes, payload], writable: [] };
};
/** What the device puts on the receive queue next: its header and payload, or null. */
function receive(device: VsockDevice): { h: VsockHeader; payload: Uint8Array } | null {
  const buffer = new Uint8Array(VSOCK_HEADER_BYTES + 4096);
  const n = device.handle(VSOCK_RX_QUEUE, { head: 0, readable: [], writable: [buffer] });
  if (n === null) return null;
  return { h: decodeHeader(buffer), payload: buffer.slice(VSOCK_HEADER_BYTES, n) };
}

function setup() {
  const io = new FakeSockets();
  const device = new VsockDevice({ cid: CID, listener: LISTENER, path: '/run/v.sock' }, io);
  return { io, device };
}

test('a guest connects to SOCKET_PORT: RESPONSE, then data both ways, then RST closes the host side', (t) => {
  const { io, device } = setup();
  io.listeners.set('/run/v.sock_6000', 50);
  t.is(device.handle(VSOCK_TX_QUEUE, packet(header(Op.REQUEST))), 0);
  t.is(device.pendingQueues(), 1 << VSOCK_RX_QUEUE);
  t.like(receive(device)!.h, { op: Op.RESPONSE, srcCid: HOST_CID, dstCid: CID, srcPort: 6000, dstPort: 7000, bufAlloc: BUFFER_BYTES });
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.RW), new TextEncoder().encode('ping')));
  t.is(new TextDecoder().decode(Uint8Array.from(io.outbound.get(50)!)), 'ping');
  io.inbound.set(50, [...new TextEncoder().encode('pong')]);
  t.deepEqual(device.sources, [{ fd: 50, queue: VSOCK_RX_QUEUE }]);
  const reply = receive(device)!;
  t.like(reply.h, { op: Op.RW, len: 4 });
  t.is(new TextDecoder().decode(reply.payload), 'pong');
  t.is(receive(device), null, 'nothing more to read');
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.RST)));
  t.deepEqual(io.closed, [50]);
  t.deepEqual(device.sources, []);
});

test('no listener at SOCKET_PORT: the guest gets RST', (t) => {
  const { device } = setup();
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.REQUEST, { dstPort: 6001 })));
  t.like(receive(device)!.h, { op: Op.RST, srcPort: 6001, dstPort: 7000 });
});

test('a host client: CONNECT <port> becomes a REQUEST; the guest RESPONSE gives "OK <port>"; bad handshakes are closed', (t) => {
  const { io, device } = setup();
  t.deepEqual(device.hostWatches(), [{ fd: LISTENER }]);
  io.waiting.push(60, 61);
  io.inbound.set(60, [...new TextEncoder().encode('CONNECT 5000\n')]);
  io.inbound.set(61, [...new TextEncoder().encode('HELLO\n')]);
  t.is(device.hostReady(LISTENER), 0);
  t.deepEqual(device.hostWatches(), [{ fd: LISTENER }, { fd: 60 }, { fd: 61 }]);
  t.is(device.hostReady(60), 1 << VSOCK_RX_QUEUE);
  device.hostReady(61);
  t.deepEqual(io.closed, [61]);
  const request = receive(device)!.h;
  t.like(request, { op: Op.REQUEST, dstPort: 5000, dstCid: CID });
  t.true(request.srcPort >= 1 << 30);
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.RESPONSE, { srcPort: 5000, dstPort: request.srcPort })));
  t.is(new TextDecoder().decode(Uint8Array.from(io.outbound.get(60)!)), `OK ${request.srcPort}\n`);
});

test('credit: the device sends the guest no more than its buf_alloc allows, and resumes on a credit update', (t) => {
  const { io, device } = setup();
  io.listeners.set('/run/v.sock_6000', 50);
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.REQUEST, { bufAlloc: 10 })));
  receive(device);
  io.inbound.set(50, new Array(25).fill(1));
  t.is(receive(device)!.h.len, 10);
  t.is(receive(device), null, 'out of credit');
  t.deepEqual(device.sources, [], 'the socket is not watched without credit');
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.CREDIT_UPDATE, { bufAlloc: 10, fwdCnt: 10 })));
  t.is(receive(device)!.h.len, 10);
});

test('the guest breaking the rules: wrong CIDs are dropped, RW on no connection gets RST, non-stream types RST', (t) => {
  const { device } = setup();
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.REQUEST, { srcCid: 99 })));
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.REQUEST, { dstCid: 7 })));
  device.handle(VSOCK_TX_QUEUE, { head: 0, readable: [new Uint8Array(10)], writable: [] });
  t.is(device.dropped, 3);
  t.is(receive(device), null);
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.RW), new Uint8Array(4)));
  t.like(receive(device)!.h, { op: Op.RST });
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.REQUEST, { type: 2 })));
  t.like(receive(device)!.h, { op: Op.RST });
  t.throws(() => device.handle(VSOCK_RX_QUEUE, { head: 0, readable: [], writable: [new Uint8Array(8)] }), { message: /smaller than the 44-byte header/ });
});

test('a host half-close tells the guest SEND only (it may still answer); a guest close writes what it sent, then RST', (t) => {
  const { io, device } = setup();
  io.listeners.set('/run/v.sock_6000', 50);
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.REQUEST)));
  receive(device);
  io.inbound.set(50, []);
  const fakeEof = io.readv;
  io.readv = (fd, buffers) => (fd === 50 ? 0 : fakeEof(fd, buffers));
  t.like(receive(device)!.h, { op: Op.SHUTDOWN, flags: 2 });
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.RW), new TextEncoder().encode('late')));
  device.handle(VSOCK_TX_QUEUE, packet(header(Op.SHUTDOWN, { flags: 3 })));
  t.is(new TextDecoder().decode(Uint8Array.from(io.outbound.get(50)!)), 'late');
  t.deepEqual(io.closed, [50]);
  t.like(receive(device)!.h, { op: Op.RST });
});
