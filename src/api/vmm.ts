// The embedding facade: `import { Vmm } from 'nodevmm'`. The VMM core (src/vmm/), with snapshots and
// migration, plus what an embedder or the CLI may ask for at construction: the event monitor of
// LIFECYCLE.md §3.
import { MigratingVmm } from '../vmm/migrating-vmm.js';
import type { VmmCoreOptions } from '../vmm/types.js';
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
}
