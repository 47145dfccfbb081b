// virtio-net's backend over a stand-in tap (frames in a list): frames pass with their header
// unchanged, num_buffers is set, an empty tap leaves the request in the ring, a refused frame is
// dropped and counted, a too-small receive buffer is the guest's fault, and the driver's accepted
// features become the tap's offloads. The real tap is exercised by test/linux/virtio-net.test.ts.
import test from 'ava';
import { NetDevice, NetFeature, netDeviceInfo, NET_HEADER_BYTES, RX_QUEUE, TapOffload, tapOffloads, TX_QUEUE, type TapIo } from '../../../../src/devices/virtio/net.js';
import { QueueError } from '../../../../src/devices/virtio/queue.js';
import { DeviceType, Feature } from '../../../../src/devices/virtio/constants.js';

function fakeTap(incoming: Uint8Array[] = []) {
  const sent: Uint8Array[] = [];
  const state = { offload: -1, refuse: false };
  const io: TapIo = {
    readv: (_fd, buffers) => {
      const frame = incoming.shift();
      if (!frame) return -1;
      let done = 0;
      for (const b of buffers) {
        const take = Math.min(b.byteLength, frame.length - done);
        b.set(frame.subarray(done, done + take));
        done += take;
      }
      return frame.length;
    },
    writev: (_fd, buffers) => {
      if (state.refuse) return -5;
      sent.push(Buffer.concat(buffers));
      return buffers.reduce((n, b) => n + b.byteLength, 0);
    },
    setOffload: (_fd, flags) => void (state.offload = flags),
  };
  return { io, sent, state };
}

const frame = (bytes: number, fill: number) => {
  const f = new Uint8Array(bytes).fill(fill);
  f.fill(0, 0, NET_HEADER_BYTES);
  f[10] = 0xee; // num_buffers as a tap leaves it: whatever was in the buffer
  return f;
};

test('the device offers its MAC, link up, one queue pair and the offloads asked for', (t) => {
  const info = netDeviceInfo({ mac: '52:54:00:12:34:56', queueSize: 256, csum: true, tso: true });
  t.is(info.type, DeviceType.NET);
  t.deepEqual(info.queueSizes, [256, 256]);
  t.deepEqual([...info.config], [0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 1, 0]);
  for (const bit of [Feature.VERSION_1, Feature.RING_EVENT_IDX, Feature.RING_INDIRECT_DESC, NetFeature.MAC, NetFeature.STATUS, NetFeature.HOST_TSO4, NetFeature.GUEST_CSUM]) {
    t.not(info.features & (1n << BigInt(bit)), 0n, `bit ${bit}`);
  }
  const plain = netDeviceInfo({ mac: '52:54:00:12:34:56', queueSize: 256, csum: false, tso: true });
  t.is(plain.features & ((1n << BigInt(NetFeature.CSUM)) | (1n << BigInt(NetFeature.HOST_TSO4))), 0n, 'TSO is not offered without checksum offload');
  t.throws(() => netDeviceInfo({ mac: 'zz', queueSize: 256, csum: true, tso: true }), { message: /bad MAC/ });
});

test('a received frame fills the buffers with its header; num_buffers is 1; an empty tap gives null', (t) => {
  const tap = fakeTap([frame(100, 7)]);
  const device = new NetDevice({ fd: 9 }, tap.io);
  t.deepEqual(device.sources, [{ fd: 9, queue: RX_QUEUE }]);
  const head = new Uint8Array(NET_HEADER_BYTES);
  const body = new Uint8Array(1500);
  t.is(device.handle(RX_QUEUE, { head: 0, readable: [], writable: [head, body] }), 100);
  t.is(head[10] | (head[11] << 8), 1);
  t.deepEqual([...body.subarray(0, 88)], new Array(88).fill(7));
  t.is(device.handle(RX_QUEUE, { head: 1, readable: [], writable: [new Uint8Array(2048)] }), null);
  t.is(device.received, 1);
});

test('a frame larger than the buffers is cut to them; a buffer smaller than the header is a guest error', (t) => {
  const device = new NetDevice({ fd: 9 }, fakeTap([frame(3000, 1)]).io);
  t.is(device.handle(RX_QUEUE, { head: 0, readable: [], writable: [new Uint8Array(2000)] }), 2000);
  t.throws(() => device.handle(RX_QUEUE, { head: 0, readable: [], writable: [new Uint8Array(8)] }), { instanceOf: QueueError, message: /smaller than the 12-byte header/ });
});

test('transmit writes header and frame to the tap as one; refused and empty frames are dropped and counted', (t) => {
  const tap = fakeTap();
  const device = new NetDevice({ fd: 9 }, tap.io);
  const out = frame(60, 3);
  t.is(device.handle(TX_QUEUE, { head: 0, readable: [out.subarray(0, 12), out.subarray(12)], writable: [] }), 0);
  t.deepEqual(tap.sent, [Buffer.from(out)]);
  tap.state.refuse = true;
  device.handle(TX_QUEUE, { head: 1, readable: [out], writable: [] });
  tap.state.refuse = false;
  device.handle(TX_QUEUE, { head: 2, readable: [out.subarray(0, 12)], writable: [] });
  t.is(tap.sent.length, 1);
  t.deepEqual({ sent: device.sent, dropped: device.dropped }, { sent: 1, dropped: 2 });
});

test("the tap's offloads follow the features the driver accepted", (t) => {
  const bits = (...b: number[]) => b.reduce((m, x) => m | (1n << BigInt(x)), 0n);
  t.is(tapOffloads(bits(NetFeature.GUEST_CSUM, NetFeature.GUEST_TSO4, NetFeature.GUEST_TSO6)), TapOffload.CSUM | TapOffload.TSO4 | TapOffload.TSO6);
  t.is(tapOffloads(bits(NetFeature.GUEST_TSO4)), 0, 'no TSO without checksum offload');
  t.is(tapOffloads(bits(NetFeature.GUEST_CSUM)), TapOffload.CSUM);
  const tap = fakeTap();
  new NetDevice({ fd: 9 }, tap.io).activate(bits(NetFeature.GUEST_CSUM, NetFeature.GUEST_TSO4));
  t.is(tap.state.offload, TapOffload.CSUM | TapOffload.TSO4);
});
