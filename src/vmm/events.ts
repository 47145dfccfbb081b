// Lifecycle events (LIFECYCLE.md §3) in Cloud Hypervisor's event-monitor shape, so existing consumers
// parse them: {timestamp: {secs, nanos}, source, event, properties}. Timestamps count from VMM start.

export type EventSource = 'vmm' | 'vm' | 'cpu_manager' | 'guest' | 'virtio-device';

export interface VmmEvent {
  timestamp: { secs: number; nanos: number };
  source: EventSource;
  event: string;
  properties: Record<string, string> | null;
}

export class EventClock {
  private readonly start = process.hrtime.bigint();

  stamp(): VmmEvent['timestamp'] {
    const elapsed = process.hrtime.bigint() - this.start;
    return { secs: Number(elapsed / 1_000_000_000n), nanos: Number(elapsed % 1_000_000_000n) };
  }
}

/** The name as the event monitor writes it: "source/event", e.g. "vm/shutdown". */
export function eventName(e: Pick<VmmEvent, 'source' | 'event'>): string {
  return `${e.source}/${e.event}`;
}

/** Serializes one event for the monitor: a JSON object followed by a blank line (CH's layout). */
export function formatEvent(e: VmmEvent): string {
  return JSON.stringify(e, null, 2) + '\n\n';
}
