// What the runner starts beside a VMM (the REST API, the serial terminal): its own module, so that
// the services and the runner do not import each other.
import type { Vmm } from '../api/vmm.js';
import type { CliOptions } from './args.js';

/** Starts a service over a running VMM; returns its closer. */
export type ServiceStarter = (vmm: Vmm, options: CliOptions, log: (message: string) => void) => Promise<() => Promise<void>>;
