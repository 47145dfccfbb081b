// The embedding facade: `import { Vmm } from 'nodevmm'`. The VMM core (src/vmm/), with snapshots and
// migration, plus what an embedder or the CLI may ask for at construction: the event monitor of
// LIFECYCLE.md §3.
import { MigratingVmm } from '../vmm/migrating-vmm.js';
import type { VmmCoreOptions } from '../vmm/types.js';
import { releaseNetFds, withAddedNet } from '../vmm/add-net.js';
import { EventMonitor, type EventMonitorTarget } from './event-monitor.js';

export { VERSION } from '../version.js';
export type { ExitReason, VmCounters, VmInfo, VmmExit, VmState } from '../vmm/types.js';

export interface VmmOptions extends VmmCoreOptions {
  /** where lifecycle events are written (a file, a FIFO, a fd), as Cloud Hypervisor's --event-monitor */
  eventMonitor?: EventMonitorTarget;
  /** where trouble that does not stop the VMM is reported (an event monitor that fails); default: log */
  warn?: (message: string) => void;
}

export class Vmm extends MigratingVmm {
  constructor(options: VmmOptions = {}) {
    super(options);
    const target = options.eventMonitor;
    const warn = options.warn ?? ((message: string) => this.log(message));
    if (target) this.useEventSink(new EventMonitor(target, () => this.stamp(), (e) => warn(`event monitor: ${e.message}`)));
  }

  /** vm.delete; the config's tap descriptors close with it (each boot's device used a dup). */
  override async deleteVm(): Promise<void> {
    const config = this.config;
    await super.deleteVm();
    if (config && this.config === null) releaseNetFds(config);
  }

  /**
   * vm.add-net: a net (CH's NetConfig) joins a VM that is Created or Shut down, built at its next boot.
   * `fds` are its tap's descriptors, handed over with the request; on success the VM owns them.
   */
  addNet(net: unknown, fds: readonly number[] = []): Promise<void> {
    return this.request('add-net', async () => {
      this.config = withAddedNet(this.config!, net, fds);
    });
  }
}
