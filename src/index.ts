// nodevmm as a library: `import { Vmm } from 'nodevmm'`.
export { Vmm, VERSION } from './api/vmm.js';
export type { VmmOptions, VmmExit, VmState, VmInfo, VmCounters, ExitReason } from './api/vmm.js';
export { parseVmConfig } from './vmm/config.js';
export type { VmConfig, ConsoleConfig, ConsoleMode } from './vmm/config.js';
export { VmmError, errorChain } from './errors.js';
export type { VmmErrorKind } from './errors.js';
export { eventName, formatEvent } from './vmm/events.js';
export type { VmmEvent, EventSource } from './vmm/events.js';
export type { EventMonitorTarget } from './api/event-monitor.js';
export type { GuestExitEvent, ResetEvent, FatalEvent } from './actors/supervisor.js';
export type { LifecycleEvent, FatalDetail, GuestExitReason, ResetReason } from './actors/lifecycle.js';
export { decide, lifecyclePolicy } from './actors/policy.js';
export type { LifecycleAction, PolicyOptions } from './actors/policy.js';
export { detectPlatformQuirks } from './vm/quirks.js';
export type { PlatformQuirks } from './vm/quirks.js';
export { ApiServer } from './api/http-server.js';
export { ApiClient, ApiError, ApiConnectionError } from './api/remote-client.js';
