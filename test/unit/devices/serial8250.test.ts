import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Serial8250, UartRegister as R } from '../../../src/devices/serial8250.js';
import { SharedState } from '../../../src/devices/shared-state.js';
import { ByteCollector, FakeIrq } from './helpers/fakes.js';

const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IER_ALL = 0x0f;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_IDLE = 0x60; // THRE | TEMT
const IIR_NO_INT = 0x01;

function setup(state?: SharedState) {
  const irq = new FakeIrq();
  const out = new ByteCollector();
  const uart = new Serial8250({ irq, output: out }, state);
  const rd = (reg: number): number => uart.read(reg, 1);
  const wr = (reg: number, value: number): void => uart.write(reg, 1, value);
  return { uart, irq, out, rd, wr };
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

test('power-on registers', (t) => {
  const { rd, wr } = setup();
  t.is(rd(R.IER), 0);
  t.is(rd(R.IIR), IIR_NO_INT);
  t.is(rd(R.LCR), 0);
  t.is(rd(R.MCR), 0);
  t.is(rd(R.LSR), LSR_IDLE);
  t.is(rd(R.MSR), 0xb0, 'DCD, DSR and CTS asserted by the host side');
  t.is(rd(R.SCR), 0);
  wr(R.LCR, 0x80);
  t.is(rd(R.DLL), 12, '9600 baud divisor');
  t.is(rd(R.DLM), 0);
});

test('bytes written to THR go to the sink at once and the transmitter stays idle', (t) => {
  const { out, rd, wr } = setup();
  for (const c of 'hi\n') wr(R.THR, c.charCodeAt(0));
  t.is(out.text, 'hi\n');
  t.is(rd(R.LSR), LSR_IDLE);
});

test('DLAB switches offsets 0 and 1 to the divisor latch', (t) => {
  const { out, rd, wr } = setup();
  wr(R.IER, 0x05);
  wr(R.LCR, 0x83);
  wr(R.DLL, 0x01);
  wr(R.DLM, 0x02);
  t.deepEqual(out.bytes, [], 'a DLL write is not a transmission');
  t.is(rd(R.DLL), 0x01);
  t.is(rd(R.DLM), 0x02);
  t.is(rd(R.LCR), 0x83);
  wr(R.LCR, 0x03);
  t.is(rd(R.IER), 0x05, 'IER untouched by DLM writes');
  wr(R.LCR, 0x80);
  t.is(rd(R.DLL), 0x01, 'divisor kept across DLAB toggles');
});

test('IER keeps only its four defined bits', (t) => {
  const { rd, wr } = setup();
  wr(R.IER, 0xff);
  t.is(rd(R.IER), 0x0f);
  wr(R.IER, 0x40); // XScale UUE bit: must not stick, or Linux thinks this is an XScale UART
  t.is(rd(R.IER), 0);
});

test('passes the Linux 8250 autoconfig probe as a 16550A', (t) => {
  const { rd, wr } = setup();
  // IER existence test
  wr(R.IER, 0);
  t.is(rd(R.IER) & 0x0f, 0);
  wr(R.IER, 0x0f);
  t.is(rd(R.IER) & 0x0f, 0x0f);
  wr(R.IER, 0);
  // loopback test: LOOP | OUT2 | RTS must read back as DCD | CTS
  const saveMcr = rd(R.MCR);
  wr(R.MCR, MCR_LOOP | 0x0a);
  t.is(rd(R.MSR) & 0xf0, 0x90);
  wr(R.MCR, saveMcr);
  // clear the EFR (if any), enable FIFOs, look at IIR[7:6]
  wr(R.LCR, 0xbf);
  wr(R.FCR, 0);
  wr(R.LCR, 0);
  wr(R.FCR, 0x01);
  t.is(rd(R.IIR) >> 6, 3, '16550A');
  // no EFR: offset 2 under DLAB and under LCR 0xbf is still the (non-zero) IIR
  wr(R.LCR, 0x80);
  t.not(rd(R.IIR), 0);
  wr(R.LCR, 0xbf);
  t.not(rd(R.IIR), 0);
  // not a 16750: IIR bit 5 stays clear with the 64-byte FIFO bit, with and without DLAB
  wr(R.LCR, 0);
  wr(R.FCR, 0x21);
  t.is(rd(R.IIR) >> 5, 6);
  wr(R.LCR, 0x80);
  wr(R.FCR, 0x21);
  t.is(rd(R.IIR) >> 5, 6);
  wr(R.LCR, 0);
  // size_fifo(): in loopback, 256 bytes written, the receiver holds 16
  wr(R.FCR, 0x07);
  wr(R.MCR, MCR_LOOP);
  for (let i = 0; i < 256; i++) wr(R.THR, i);
  let received = 0;
  while ((rd(R.LSR) & LSR_DR) !== 0 && received < 256) {
    t.is(rd(R.RBR), received);
    received++;
  }
  t.is(received, 16);
});

test('THRE is re-asserted when THRI is enabled again (Linux startup THRE test)', (t) => {
  const { rd, wr } = setup();
  wr(R.FCR, 0x01);
  wr(R.IER, IER_THRI);
  const iir1 = rd(R.IIR);
  wr(R.IER, 0);
  wr(R.IER, IER_THRI);
  const iir2 = rd(R.IIR);
  wr(R.IER, 0);
  t.is(iir1, 0xc2);
  t.is(iir2, 0xc2);
  t.is(rd(R.IIR), 0xc1);
});

test('THRE interrupt: raised on enable, cleared by reading IIR, raised again by a THR write', (t) => {
  const { irq, rd, wr } = setup();
  wr(R.MCR, MCR_OUT2);
  wr(R.IER, IER_THRI);
  t.deepEqual(irq.changes, [true]);
  t.is(rd(R.IIR), 0x02);
  t.deepEqual(irq.changes, [true, false]);
  t.is(rd(R.IIR), IIR_NO_INT, 'acknowledged');
  wr(R.THR, 0x41);
  t.deepEqual(irq.changes, [true, false, true]);
  wr(R.IER, 0);
  t.deepEqual(irq.changes, [true, false, true, false]);
});

test('the IRQ output is gated by MCR OUT2', (t) => {
  const { uart, irq, rd, wr } = setup();
  wr(R.IER, IER_RDI);
  uart.receive(bytes(0x31));
  t.deepEqual(irq.changes, [], 'pending but OUT2 is off');
  t.is(rd(R.IIR), 0x04, 'the UART itself still shows the interrupt');
  wr(R.MCR, MCR_OUT2);
  t.deepEqual(irq.changes, [true]);
  wr(R.MCR, 0);
  t.deepEqual(irq.changes, [true, false]);
  wr(R.MCR, MCR_OUT2);
  rd(R.RBR);
  t.deepEqual(irq.changes, [true, false, true, false], 'drops when the data is read');
});

test('the IRQ line is driven only when its level changes', (t) => {
  const { uart, irq, rd, wr } = setup();
  wr(R.FCR, 0x01);
  wr(R.MCR, MCR_OUT2);
  wr(R.IER, IER_RDI);
  uart.receive(bytes(1));
  uart.receive(bytes(2, 3));
  rd(R.IIR);
  rd(R.LSR);
  rd(R.RBR);
  t.deepEqual(irq.changes, [true]);
  rd(R.RBR);
  rd(R.RBR);
  t.deepEqual(irq.changes, [true, false]);
});

test('receive fills a 16-byte FIFO, or a single holding register with FIFOs off', (t) => {
  const { uart, rd, wr } = setup();
  const data = Uint8Array.from({ length: 20 }, (_, i) => 0x40 + i);
  t.is(uart.receive(data), 1, '16450 mode holds one byte');
  t.is(uart.rxSpace, 0);
  t.is(rd(R.RBR), 0x40);
  wr(R.FCR, 0x01);
  t.is(uart.rxSpace, 16);
  t.is(uart.receive(data), 16);
  t.is(uart.receive(data.subarray(16)), 0, 'a full FIFO accepts nothing');
  t.is(rd(R.LSR) & LSR_OE, 0, 'the host is refused, not overrun');
  const got: number[] = [];
  while (rd(R.LSR) & LSR_DR) got.push(rd(R.RBR));
  t.deepEqual(got, [...data.subarray(0, 16)]);
  t.is(uart.receive(data.subarray(16)), 4, 'room again after the guest read');
});

test('FCR clears the receive FIFO, and so does switching FIFO mode', (t) => {
  const { uart, rd, wr } = setup();
  wr(R.FCR, 0x01);
  uart.receive(bytes(1, 2, 3));
  wr(R.FCR, 0x03);
  t.is(rd(R.LSR) & LSR_DR, 0);
  uart.receive(bytes(4, 5));
  wr(R.FCR, 0x00);
  t.is(rd(R.LSR) & LSR_DR, 0);
  t.is(rd(R.IIR) & 0xc0, 0, 'FIFO-enabled bits clear');
});

test('received data below the trigger level reports a character timeout, at or above it RDA', (t) => {
  const { uart, rd, wr } = setup();
  wr(R.FCR, 0x81); // trigger level 8
  wr(R.IER, IER_RDI);
  uart.receive(bytes(1, 2, 3));
  t.is(rd(R.IIR), 0xcc);
  uart.receive(bytes(4, 5, 6, 7, 8));
  t.is(rd(R.IIR), 0xc4);
  wr(R.FCR, 0xc3); // trigger 14, RX FIFO cleared
  uart.receive(bytes(9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22));
  t.is(rd(R.IIR), 0xc4);
  rd(R.RBR);
  t.is(rd(R.IIR), 0xcc, '13 bytes left: below 14');
});

test('IIR reports interrupts by priority: line status, data, THRE, modem status', (t) => {
  const { irq, rd, wr } = setup();
  wr(R.FCR, 0x01);
  wr(R.MCR, MCR_LOOP | MCR_OUT2); // CTS and DSR drop in loopback: modem status deltas
  wr(R.IER, IER_ALL);
  for (let i = 0; i < 17; i++) wr(R.THR, i); // the 17th byte overruns the FIFO
  t.is(rd(R.IIR), 0xc6, 'receiver line status');
  t.is(rd(R.LSR), LSR_IDLE | LSR_OE | LSR_DR);
  t.is(rd(R.LSR) & LSR_OE, 0, 'OE cleared by reading LSR');
  t.is(rd(R.IIR), 0xc4, 'received data');
  for (let i = 0; i < 16; i++) t.is(rd(R.RBR), i);
  t.is(rd(R.IIR), 0xc2, 'THR empty (cleared by this read)');
  t.is(rd(R.IIR), 0xc0, 'modem status');
  t.is(rd(R.MSR) & 0x0f, 0x03, 'DCTS and DDSR');
  t.is(rd(R.IIR), 0xc1, 'nothing left');
  t.deepEqual(irq.changes, [true, false]);
});

test('loopback: TX goes to RX, MSR mirrors MCR, host input is refused', (t) => {
  const { uart, out, rd, wr } = setup();
  wr(R.FCR, 0x01);
  wr(R.MCR, MCR_LOOP | 0x0f);
  t.is(rd(R.MSR) & 0xf0, 0xf0);
  wr(R.MCR, MCR_LOOP | 0x01); // DTR → DSR
  t.is(rd(R.MSR) & 0xf0, 0x20);
  wr(R.MCR, MCR_LOOP | 0x04); // OUT1 → RI
  t.is(rd(R.MSR) & 0xf0, 0x40);
  wr(R.THR, 0x5a);
  t.deepEqual(out.bytes, []);
  t.is(rd(R.RBR), 0x5a);
  t.is(uart.receive(bytes(1)), 0);
  wr(R.MCR, 0);
  t.is(rd(R.MSR) & 0xf0, 0xb0, 'host lines again');
  t.is(uart.receive(bytes(1)), 1);
  wr(R.THR, 0x33);
  t.deepEqual(out.bytes, [0x33]);
});

test('MSR delta bits: set on change, TERI only on the trailing edge of RI, cleared by reading', (t) => {
  const { rd, wr } = setup();
  wr(R.MCR, MCR_LOOP | 0x04); // RI rises; DCD/DSR/CTS fall
  t.is(rd(R.MSR), 0x40 | 0x08 | 0x02 | 0x01);
  t.is(rd(R.MSR), 0x40, 'deltas cleared');
  wr(R.MCR, MCR_LOOP);
  t.is(rd(R.MSR), 0x04, 'RI fell: TERI');
});

test('16450 mode loopback overrun keeps the newest byte', (t) => {
  const { rd, wr } = setup();
  wr(R.MCR, MCR_LOOP);
  wr(R.THR, 1);
  wr(R.THR, 2);
  t.is(rd(R.LSR), LSR_IDLE | LSR_OE | LSR_DR);
  t.is(rd(R.RBR), 2);
});

test('SCR stores a byte; LSR and MSR ignore writes', (t) => {
  const { rd, wr } = setup();
  wr(R.SCR, 0xa5);
  t.is(rd(R.SCR), 0xa5);
  wr(R.LSR, 0x00);
  wr(R.MSR, 0x00);
  t.is(rd(R.LSR), LSR_IDLE);
  t.is(rd(R.MSR), 0xb0);
});

test('a 2-byte read is two consecutive register reads', (t) => {
  const { uart } = setup();
  t.is(uart.read(R.LSR, 2), LSR_IDLE | (0xb0 << 8));
  uart.write(R.LCR, 2, 0x0b03); // LCR = 0x03, MCR = 0x0b
  t.is(uart.read(R.LCR, 1), 0x03);
  t.is(uart.read(R.MCR, 1), 0x0b);
});

test('two instances over one state are one UART', (t) => {
  const a = setup();
  const b = setup(a.uart.state);
  a.wr(R.SCR, 0x77);
  t.is(b.rd(R.SCR), 0x77);
  b.wr(R.FCR, 0x01);
  b.wr(R.MCR, MCR_OUT2);
  b.wr(R.IER, IER_RDI);
  t.is(a.uart.receive(bytes(0x61, 0x62)), 2, 'FIFO mode set through the other instance');
  t.deepEqual(a.irq.changes, [true], 'the receiving instance raises the line');
  t.is(b.rd(R.RBR), 0x61);
  t.is(b.rd(R.RBR), 0x62);
  t.deepEqual(b.irq.changes, [false], 'the instance that drained it lowers it');
  const c = new Serial8250({ irq: new FakeIrq(), output: new ByteCollector() }, a.uart.state.buffer);
  t.is(c.read(R.SCR, 1), 0x77, 'a bare SharedArrayBuffer works too');
});

test('rejects a state buffer that is too small', (t) => {
  t.throws(() => setup(SharedState.create(4)), { instanceOf: RangeError, message: /needs/ });
});

test('waitForRxSpace resolves when the guest reads, or false on timeout', async (t) => {
  const { uart, rd, wr } = setup();
  wr(R.FCR, 0x01);
  t.true(await uart.waitForRxSpace(10), 'room now');
  uart.receive(new Uint8Array(16));
  t.false(await uart.waitForRxSpace(20), 'still full after the timeout');
  const waiting = uart.waitForRxSpace(5000);
  rd(R.RBR);
  t.true(await waiting);
  t.is(uart.rxSpace, 1);
});

test('a worker thread draining the UART sees every byte the main thread feeds, in order', async (t) => {
  const { uart, wr } = setup();
  wr(R.FCR, 0x01);
  const count = 3000;
  const data = Uint8Array.from({ length: count }, (_, i) => (i * 7) & 0xff);
  const worker = new Worker(new URL('./fixtures/device-worker.js', import.meta.url), {
    workerData: { kind: 'serial-reader', buffer: uart.state.buffer, count },
  });
  const received = new Promise<number[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let sent = 0;
  while (sent < count) {
    sent += uart.receive(data.subarray(sent));
    if (sent < count) await uart.waitForRxSpace(1000);
  }
  t.deepEqual(await received, [...data]);
  await worker.terminate();
});
