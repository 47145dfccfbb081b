// virtio-vsock (virtio 1.2 §5.10), stream sockets, in the hybrid form of Cloud Hypervisor and
// Firecracker: the host side is a Unix socket PATH. A host program connects there and sends
// "CONNECT <port>\n"; the device asks the guest's listener on that port (REQUEST) and, once it
// answers, replies "OK <host port>\n" and relays bytes both ways. A guest connecting to the host
// (CID 2) on port P reaches a listener at PATH_P. Credit flow control bounds what the device holds
// for each connection to BUFFER_BYTES; everything in a packet's header comes from the guest and is
// checked (type, CIDs, lengths, ports of connections it has).
import type { DescriptorChain } from './queue.js';
import { QueueError } from './queue.js';
import type { FdIo, HostWatch, QueueSource, VirtioBackend } from './backend.js';
import { DeviceType, Feature, featureBits } from './constants.js';
import type { VirtioDeviceInfo } from './transport-state.js';
import { byteLength, dropLastBytes, gather, scatter, skipBytes } from './buffers.js';
import { decodeHeader, encodeHeader, HOST_CID, Op, Shutdown, TYPE_STREAM, VSOCK_HEADER_BYTES, type VsockHeader } from './vsock-packet.js';

export const VSOCK_RX_QUEUE = 0;
export const VSOCK_TX_QUEUE = 1;
export const VSOCK_EVENT_QUEUE = 2;
/** what each connection may have in flight towards the host (our buf_alloc) */
export const BUFFER_BYTES = 256 * 1024;
/** connections at once: each may need two fds in the device thread's poll (32 in all) */
export const MAX_CONNECTIONS = 12;
const MAX_PAYLOAD = 64 * 1024;
const FIRST_LOCAL_PORT = 1 << 30;
const MAX_HANDSHAKE = 32;
const EAGAIN = 11;

/** What the device needs from the thread's addon (native/unix_socket.cc, tap.cc). */
export interface SocketIo extends FdIo {
  accept(listener: number): number;
  connect(path: string): number;
  shutdown(fd: number, how: number): void;
  close(fd: number): void;
}

export interface VsockOptions {
  cid: number;
  /** the listening socket at `path` */
  listener: number;
  path: string;
}

interface Connection {
  fd: number;
  /** the host side's port, and the guest's */
  localPort: number;
  peerPort: number;
  state: 'handshake' | 'connecting' | 'open';
  line: string;
  peerBufAlloc: number;
  peerFwdCnt: number;
  /** payload bytes sent to the guest, and guest bytes written to the host socket (both mod 2^32) */
  txCnt: number;
  fwdCnt: number;
  fwdCntSent: number;
  /** guest bytes the socket has not taken yet (copies; at most BUFFER_BYTES by the credit) */
  pending: Uint8Array[];
  hostEnded: boolean;
  /** the guest sends no more: half-close the socket once `pending` is written */
  guestEnded: boolean;
  /** a CREDIT_UPDATE waits in the replies */
  updateQueued: boolean;
  /** the guest closed: close the socket once `pending` is written */
  closing: boolean;
}

export function vsockDeviceInfo(cid: number): VirtioDeviceInfo {
  const config = new Uint8Array(8);
  new DataView(config.buffer).setBigUint64(0, BigInt(cid), true);
  return { type: DeviceType.VSOCK, features: featureBits(Feature.VERSION_1, Feature.RING_EVENT_IDX, Feature.RING_INDIRECT_DESC), queueSizes: [256, 256, 64], config };
}

export class VsockDevice implements VirtioBackend {
  private readonly connections = new Map<string, Connection>();
  private handshakes: Connection[] = [];
  private readonly replies: VsockHeader[] = [];
  private nextLocalPort = FIRST_LOCAL_PORT;
  /** packets the guest got wrong (dropped) */
  dropped = 0;

  constructor(private readonly options: VsockOptions, private readonly io: SocketIo) {}

  get sources(): readonly QueueSource[] {
    const out: QueueSource[] = [];
    for (const c of this.connections.values()) if (c.state === 'open' && !c.hostEnded && credit(c) > 0) out.push({ fd: c.fd, queue: VSOCK_RX_QUEUE });
    return out;
  }

  hostWatches(): readonly HostWatch[] {
    const watches: HostWatch[] = [];
    if (this.connections.size + this.handshakes.length < MAX_CONNECTIONS) watches.push({ fd: this.options.listener });
    for (const c of this.handshakes) watches.push({ fd: c.fd });
    for (const c of this.connections.values()) if (c.pending.length > 0) watches.push({ fd: c.fd, write: true });
    return watches;
  }

  hostReady(fd: number): number {
    if (fd === this.options.listener) this.acceptClients();
    const shaking = this.handshakes.find((c) => c.fd === fd);
    if (shaking) this.readHandshake(shaking);
    for (const c of this.connections.values()) if (c.fd === fd && c.pending.length > 0) this.flush(c);
    return this.pendingQueues();
  }

  pendingQueues(): number {
    return this.replies.length > 0 ? 1 << VSOCK_RX_QUEUE : 0;
  }

  /** A (re)started device has no connections: the guest's driver forgot them too. */
  activate(): void {
    for (const c of [...this.connections.values(), ...this.handshakes]) this.io.close(c.fd);
    this.connections.clear();
    this.handshakes = [];
    this.replies.length = 0;
  }

  handle(queue: number, chain: DescriptorChain): number | null {
    if (queue === VSOCK_TX_QUEUE) return this.transmit(chain);
    if (queue === VSOCK_RX_QUEUE) return this.receive(chain);
    return null; // event queue: transport resets only, none sent
  }

  private receive(chain: DescriptorChain): number | null {
    const room = byteLength(chain.writable);
    if (room < VSOCK_HEADER_BYTES) throw new QueueError(`receive buffer of ${room} bytes is smaller than the ${VSOCK_HEADER_BYTES}-byte header`);
    const reply = this.replies.shift();
    if (reply) return this.put(chain, reply);
    for (const c of this.connections.values()) {
      if (c.state !== 'open' || c.hostEnded || credit(c) <= 0) continue;
      const limit = Math.min(credit(c), MAX_PAYLOAD, room - VSOCK_HEADER_BYTES);
      const payload = skipBytes(chain.writable, VSOCK_HEADER_BYTES);
      const n = this.io.readv(c.fd, dropLastBytes(payload, byteLength(payload) - limit));
      if (n < 0) continue;
      if (n === 0) {
        // the host program half-closed (or closed) its side: the guest reads EOF, and may still send
        c.hostEnded = true;
        return this.put(chain, this.header(c, Op.SHUTDOWN, Shutdown.SEND));
      }
      c.txCnt = (c.txCnt + n) >>> 0;
      // move this connection to the back: the others get the next buffer
      this.connections.delete(key(c.localPort, c.peerPort));
      this.connections.set(key(c.localPort, c.peerPort), c);
      return this.put(chain, { ...this.header(c, Op.RW), len: n });
    }
    return null;
  }

  private transmit(chain: DescriptorChain): number {
    const bytes = gather(chain.readable, VSOCK_HEADER_BYTES);
    if (!bytes) return this.drop();
    const h = decodeHeader(bytes);
    if (h.srcCid !== this.options.cid || h.dstCid !== HOST_CID) return this.drop();
    if (h.type !== TYPE_STREAM) return this.reset(h);
    const c = this.connections.get(key(h.dstPort, h.srcPort));
    if (c) {
      c.peerBufAlloc = h.bufAlloc;
      c.peerFwdCnt = h.fwdCnt;
    }
    switch (h.op) {
      case Op.REQUEST: return c ? this.reset(h) : this.connectToHost(h);
      case Op.RESPONSE:
        if (!c || c.state !== 'connecting') return this.reset(h);
        c.state = 'open';
        this.io.writev(c.fd, [new TextEncoder().encode(`OK ${c.localPort}\n`)]);
        return 0;
      case Op.RW: {
        if (!c || c.state !== 'open' || c.guestEnded) return this.reset(h);
        const payload = skipBytes(chain.readable, VSOCK_HEADER_BYTES);
        const length = Math.min(h.len, byteLength(payload));
        if (length > BUFFER_BYTES) return this.close(c, true);
        c.pending.push(...dropLastBytes(payload, byteLength(payload) - length).map((b) => b.slice()));
        this.flush(c);
        return 0;
      }
      case Op.SHUTDOWN:
        if (!c) return this.reset(h);
        // the guest sends no more: what it sent still goes out, then the socket is half-closed, or
        // (both directions ended) closed, with RST telling the guest the connection is gone
        if (h.flags & Shutdown.SEND) c.guestEnded = true;
        if ((h.flags & (Shutdown.RCV | Shutdown.SEND)) === (Shutdown.RCV | Shutdown.SEND)) c.closing = true;
        this.flush(c);
        return 0;
      case Op.RST:
        if (c) this.close(c, false);
        return 0;
      case Op.CREDIT_REQUEST:
        if (c) this.replies.push(this.header(c, Op.CREDIT_UPDATE));
        return 0;
      case Op.CREDIT_UPDATE: return 0;
      default: return c ? this.close(c, true) : this.reset(h);
    }
  }

  private connectToHost(h: VsockHeader): number {
    if (this.connections.size + this.handshakes.length >= MAX_CONNECTIONS) return this.reset(h);
    const fd = this.io.connect(`${this.options.path}_${h.dstPort}`);
    if (fd < 0) return this.reset(h);
    const c = connection(fd, h.dstPort, h.srcPort, 'open');
    c.peerBufAlloc = h.bufAlloc;
    c.peerFwdCnt = h.fwdCnt;
    this.connections.set(key(c.localPort, c.peerPort), c);
    this.replies.push(this.header(c, Op.RESPONSE));
    return 0;
  }

  private acceptClients(): void {
    while (this.connections.size + this.handshakes.length < MAX_CONNECTIONS) {
      const fd = this.io.accept(this.options.listener);
      if (fd < 0) return;
      this.handshakes.push(connection(fd, 0, 0, 'handshake'));
    }
  }

  /** Reads the client's "CONNECT <port>\n" a byte at a time, so no byte after it is taken early. */
  private readHandshake(c: Connection): void {
    const byte = new Uint8Array(1);
    for (;;) {
      const n = this.io.readv(c.fd, [byte]);
      if (n < 0) return;
      const done = n === 0 || byte[0] === 0x0a || c.line.length >= MAX_HANDSHAKE;
      if (n > 0 && byte[0] !== 0x0a) c.line += String.fromCharCode(byte[0]);
      if (!done) continue;
      this.handshakes = this.handshakes.filter((other) => other !== c);
      const match = n > 0 && byte[0] === 0x0a ? /^CONNECT (\d{1,10})$/.exec(c.line.trimEnd()) : null;
      if (!match || Number(match[1]) > 0xffff_ffff) {
        this.io.close(c.fd);
        return;
      }
      c.peerPort = Number(match[1]);
      c.localPort = this.freeLocalPort(c.peerPort);
      c.state = 'connecting';
      this.connections.set(key(c.localPort, c.peerPort), c);
      this.replies.push(this.header(c, Op.REQUEST));
      return;
    }
  }

  private freeLocalPort(peerPort: number): number {
    for (;;) {
      const port = this.nextLocalPort;
      this.nextLocalPort = this.nextLocalPort >= 0xffff_fffe ? FIRST_LOCAL_PORT : this.nextLocalPort + 1;
      if (!this.connections.has(key(port, peerPort))) return port;
    }
  }

  /** Writes what the host socket takes; tells the guest of freed credit now and then. */
  private flush(c: Connection): void {
    while (c.pending.length > 0) {
      const n = this.io.writev(c.fd, c.pending);
      if (n === -EAGAIN) break;
      if (n < 0) {
        this.close(c, true); // the host program is gone
        return;
      }
      c.fwdCnt = (c.fwdCnt + n) >>> 0;
      c.pending = skipBytes(c.pending, n);
    }
    if (c.pending.length === 0 && c.closing) {
      this.close(c, true);
      return;
    }
    if (c.pending.length === 0 && c.guestEnded) this.io.shutdown(c.fd, 1);
    if (!c.updateQueued && ((c.fwdCnt - c.fwdCntSent) >>> 0) >= BUFFER_BYTES / 4) {
      c.updateQueued = true;
      this.replies.push(this.header(c, Op.CREDIT_UPDATE));
    }
  }

  private close(c: Connection, tellGuest: boolean): number {
    this.connections.delete(key(c.localPort, c.peerPort));
    this.io.close(c.fd);
    if (tellGuest) this.replies.push(this.header(c, Op.RST));
    return 0;
  }

  /** RST for a packet that belongs to no connection we have. */
  private reset(h: VsockHeader): number {
    if (h.op !== Op.RST) this.replies.push({ srcCid: HOST_CID, dstCid: this.options.cid, srcPort: h.dstPort, dstPort: h.srcPort, len: 0, type: TYPE_STREAM, op: Op.RST, flags: 0, bufAlloc: 0, fwdCnt: 0 });
    return 0;
  }

  private drop(): number {
    this.dropped++;
    return 0;
  }

  private header(c: Connection, op: number, flags = 0): VsockHeader {
    return { srcCid: HOST_CID, dstCid: this.options.cid, srcPort: c.localPort, dstPort: c.peerPort, len: 0, type: TYPE_STREAM, op, flags, bufAlloc: BUFFER_BYTES, fwdCnt: c.fwdCnt };
  }

  /** Writes `h` at the start of the chain; its payload (h.len bytes) is already behind it. */
  private put(chain: DescriptorChain, h: VsockHeader): number {
    const bytes = new Uint8Array(VSOCK_HEADER_BYTES);
    encodeHeader(h, bytes);
    scatter(chain.writable, bytes);
    const c = this.connections.get(key(h.srcPort, h.dstPort));
    if (c) {
      c.fwdCntSent = h.fwdCnt;
      if (h.op === Op.CREDIT_UPDATE) c.updateQueued = false;
    }
    return VSOCK_HEADER_BYTES + h.len;
  }
}

const key = (localPort: number, peerPort: number): string => `${localPort}:${peerPort}`;

function connection(fd: number, localPort: number, peerPort: number, state: Connection['state']): Connection {
  return { fd, localPort, peerPort, state, line: '', peerBufAlloc: 0, peerFwdCnt: 0, txCnt: 0, fwdCnt: 0, fwdCntSent: 0, pending: [], hostEnded: false, guestEnded: false, updateQueued: false, closing: false };
}

/** Bytes the guest's socket can take from us now. */
function credit(c: Connection): number {
  return c.peerBufAlloc - ((c.txCnt - c.peerFwdCnt) >>> 0);
}
