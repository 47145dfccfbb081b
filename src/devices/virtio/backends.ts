// The device types a device thread can run, from a structured-cloneable description.
import type { VirtioBackend } from './backend.js';
import { BlockDevice, type BlockOptions } from './block.js';
import { RngDevice } from './rng.js';

export type BackendSpec = { kind: 'block'; options: BlockOptions } | { kind: 'rng'; fd: number };

export function makeBackend(spec: BackendSpec): VirtioBackend {
  switch (spec.kind) {
    case 'block': return new BlockDevice(spec.options);
    case 'rng': return new RngDevice({ fd: spec.fd });
  }
}
