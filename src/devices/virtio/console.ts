// virtio-console (virtio 1.2 §5.3), the guest's hvc0: one port, a receive and a transmit queue, no
// MULTIPORT. What the guest writes goes to an output fd (a pty, a file, the VMM's stdout) without
// waiting: bytes the fd cannot take now are dropped and counted, so a guest never stalls on a
// reader. An input fd (a pty, stdin) feeds the receive queue (backend.ts's sources) until it ends.
import type { DescriptorChain } from './queue.js';
import type { FdIo, QueueSource, VirtioBackend } from './backend.js';
import { DeviceType, Feature, featureBits } from './constants.js';
import type { VirtioDeviceInfo } from './transport-state.js';
import { byteLength, skipBytes } from './buffers.js';

export const CONSOLE_RX_QUEUE = 0;
export const CONSOLE_TX_QUEUE = 1;
const QUEUE_SIZE = 128;

export interface ConsoleOptions {
  /** where the guest's output goes; null: nowhere (mode Null) */
  output: number | null;
  /** what the guest reads; null: nothing */
  input: number | null;
}

export function consoleDeviceInfo(): VirtioDeviceInfo {
  // cols, rows (no VIRTIO_CONSOLE_F_SIZE: unused), max_nr_ports (no MULTIPORT: unused), emerg_wr
  const config = new Uint8Array(12);
  return { type: DeviceType.CONSOLE, features: featureBits(Feature.VERSION_1, Feature.RING_EVENT_IDX, Feature.RING_INDIRECT_DESC), queueSizes: [QUEUE_SIZE, QUEUE_SIZE], config };
}

export class ConsoleDevice implements VirtioBackend {
  /** guest output the fd would not take */
  dropped = 0;
  private inputEnded = false;
  private readonly inputSources: readonly QueueSource[];

  constructor(private readonly options: ConsoleOptions, private readonly io: FdIo) {
    this.inputSources = options.input === null ? [] : [{ fd: options.input, queue: CONSOLE_RX_QUEUE }];
  }

  get sources(): readonly QueueSource[] {
    return this.inputEnded ? [] : this.inputSources;
  }

  handle(queue: number, chain: DescriptorChain): number | null {
    return queue === CONSOLE_RX_QUEUE ? this.receive(chain) : this.transmit(chain);
  }

  private receive(chain: DescriptorChain): number | null {
    if (this.options.input === null || this.inputEnded) return null;
    const n = this.io.readv(this.options.input, chain.writable);
    if (n === 0) this.inputEnded = true; // stdin closed: stop watching it
    return n > 0 ? n : null;
  }

  private transmit(chain: DescriptorChain): number {
    if (this.options.output === null) return 0;
    let pending = chain.readable;
    for (let tries = 0; pending.length > 0 && tries < 4; tries++) {
      const n = this.io.writev(this.options.output, pending);
      if (n < 0) break; // EAGAIN: the reader is behind; anything else: the fd is gone
      pending = skipBytes(pending, n);
    }
    this.dropped += byteLength(pending);
    return 0;
  }
}
