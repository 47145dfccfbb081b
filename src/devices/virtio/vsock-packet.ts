// The virtio-vsock packet header (virtio 1.2 §5.10.6), stream sockets only: what the guest sends on
// its transmit queue and receives on its receive queue, little-endian, 44 bytes before any payload.

export const VSOCK_HEADER_BYTES = 44;
export const HOST_CID = 2;
export const TYPE_STREAM = 1;

export const Op = {
  REQUEST: 1,
  RESPONSE: 2,
  RST: 3,
  SHUTDOWN: 4,
  RW: 5,
  CREDIT_UPDATE: 6,
  CREDIT_REQUEST: 7,
} as const;

/** SHUTDOWN flags: the sender will receive (RCV) or send (SEND) no more. */
export const Shutdown = { RCV: 1, SEND: 2 } as const;

export interface VsockHeader {
  srcCid: number;
  dstCid: number;
  srcPort: number;
  dstPort: number;
  len: number;
  type: number;
  op: number;
  flags: number;
  bufAlloc: number;
  fwdCnt: number;
}

export function decodeHeader(bytes: Uint8Array): VsockHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, VSOCK_HEADER_BYTES);
  // CIDs are 64-bit; guests use small ones, and anything past 2^53 is no CID of ours
  const cid = (at: number): number => Number(v.getBigUint64(at, true) & 0x1f_ffff_ffff_ffffn);
  return {
    srcCid: cid(0),
    dstCid: cid(8),
    srcPort: v.getUint32(16, true),
    dstPort: v.getUint32(20, true),
    len: v.getUint32(24, true),
    type: v.getUint16(28, true),
    op: v.getUint16(30, true),
    flags: v.getUint32(32, true),
    bufAlloc: v.getUint32(36, true),
    fwdCnt: v.getUint32(40, true),
  };
}

export function encodeHeader(header: VsockHeader, into: Uint8Array): void {
  const v = new DataView(into.buffer, into.byteOffset, VSOCK_HEADER_BYTES);
  v.setBigUint64(0, BigInt(header.srcCid), true);
  v.setBigUint64(8, BigInt(header.dstCid), true);
  v.setUint32(16, header.srcPort, true);
  v.setUint32(20, header.dstPort, true);
  v.setUint32(24, header.len, true);
  v.setUint16(28, header.type, true);
  v.setUint16(30, header.op, true);
  v.setUint32(32, header.flags, true);
  v.setUint32(36, header.bufAlloc, true);
  v.setUint32(40, header.fwdCnt >>> 0, true);
}
