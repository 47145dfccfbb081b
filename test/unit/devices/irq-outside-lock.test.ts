// The irq line is a system call (KVM_IRQ_LINE): devices must drive it only after unlocking.
import test from 'ava';
import { Ged } from '../../../src/devices/ged.js';
import { Serial8250, UartRegister as R } from '../../../src/devices/serial8250.js';
import type { IrqLine } from '../../../src/devices/device.js';
import type { SharedState } from '../../../src/devices/shared-state.js';
import { ByteCollector } from './helpers/fakes.js';

class LockCheckingIrq implements IrqLine {
  state: SharedState | null = null;
  readonly changes: boolean[] = [];
  underLock = 0;
  set(level: boolean): void {
    if (this.state?.locked) this.underLock++;
    this.changes.push(level);
  }
}

test('the UART drives its irq line with the lock released', async (t) => {
  const irq = new LockCheckingIrq();
  const uart = new Serial8250({ irq, output: new ByteCollector() });
  irq.state = uart.state;
  uart.write(R.MCR, 1, 0x08); // OUT2
  uart.write(R.IER, 1, 0x03); // RDI | THRI: THRE interrupt at once
  uart.read(R.IIR, 1); // acknowledges THRE
  uart.receive(Uint8Array.of(1));
  await uart.receiveAsync(Uint8Array.of(2));
  uart.read(R.RBR, 1);
  uart.read(R.RBR, 1);
  uart.write(R.THR, 1, 0x41);
  uart.read(R.IIR, 1);
  t.true(irq.changes.length >= 4, `changes ${irq.changes.join(',')}`);
  t.is(irq.underLock, 0);
  t.false(irq.changes.at(-1));
});

test('the GED drives its irq line with the lock released', async (t) => {
  const irq = new LockCheckingIrq();
  const ged = new Ged({ irq });
  irq.state = ged.state;
  ged.notify(1);
  ged.read(0, 4);
  await ged.notifyAsync(1);
  ged.read(0, 4);
  t.deepEqual(irq.changes, [true, false, true, false]);
  t.is(irq.underLock, 0);
});
