// The device types a device thread can run, from a structured-cloneable description.
import type { VirtioBackend } from './backend.js';
import { BlockDevice, type BlockOptions } from './block.js';
import { NetDevice, type NetOptions, type TapIo } from './net.js';
import { RngDevice } from './rng.js';
import { ConsoleDevice, type ConsoleOptions } from './console.js';
import { VsockDevice, type SocketIo, type VsockOptions } from './vsock.js';

export type BackendSpec = { kind: 'block'; options: BlockOptions } | { kind: 'rng'; fd: number } | { kind: 'net'; options: NetOptions } | { kind: 'console'; options: ConsoleOptions } | { kind: 'vsock'; options: VsockOptions };

/** What the backends need from the thread's addon. */
export interface BackendHost {
  tap: TapIo;
  sockets: SocketIo;
}

export function makeBackend(spec: BackendSpec, host: BackendHost): VirtioBackend {
  switch (spec.kind) {
    case 'block': return new BlockDevice(spec.options);
    case 'rng': return new RngDevice({ fd: spec.fd });
    case 'net': return new NetDevice(spec.options, host.tap);
    case 'console': return new ConsoleDevice(spec.options, host.tap);
    case 'vsock': return new VsockDevice(spec.options, host.sockets);
  }
}
