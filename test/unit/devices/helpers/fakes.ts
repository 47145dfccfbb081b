// Fakes for the side effects devices are given: they record what happened for the tests to check.
import type { ByteSink, Clock, IrqLine, LifecycleSink } from '../../../../src/devices/device.js';

/** Records every set() call; `level` is the line's current level. */
export class FakeIrq implements IrqLine {
  readonly changes: boolean[] = [];
  set(level: boolean): void {
    this.changes.push(level);
  }
  get level(): boolean {
    return this.changes.at(-1) ?? false;
  }
}

export class FakeLifecycle implements LifecycleSink {
  readonly events: string[] = [];
  guestExit(reason: string): void {
    this.events.push(`guest-exit:${reason}`);
  }
  reset(reason: string): void {
    this.events.push(`reset:${reason}`);
  }
}

export class ByteCollector implements ByteSink {
  readonly bytes: number[] = [];
  write(byte: number): void {
    this.bytes.push(byte);
  }
  get text(): string {
    return String.fromCharCode(...this.bytes);
  }
}

export class FakeClock implements Clock {
  constructor(public ns = 0, public ms = 0) {}
  monotonicNs(): number {
    return this.ns;
  }
  wallMs(): number {
    return this.ms;
  }
}
