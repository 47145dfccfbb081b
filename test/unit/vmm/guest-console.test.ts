// The guest console's count of lost serial output (vm.counters' serial.dropped_bytes): bytes the
// ring could not hold and bytes its output could not deliver (a pty nobody opens) both count, and a
// closed output's losses are kept. No guest: the test writes the ring as a vCPU's UART would.
import test from 'ava';
import { ByteRing } from '../../../src/host/byte-ring.js';
import { GuestConsole } from '../../../src/vmm/guest-console.js';
import { waitFor } from '../../helpers/project.js';

test('serial output a pty nobody opens cannot take counts as dropped, and stays counted after the pty closes', async (t) => {
  const console = new GuestConsole({ tty: process.stdout, log: () => {} });
  t.teardown(() => console.end());
  await console.open({ mode: 'Pty' });
  t.truthy(console.ptyPath);
  console.attach(null);
  const uart = new ByteRing(console.host.serialOut); // the producer side, as the UART has it
  const total = 1 << 20;
  for (let sent = 0; sent < total; ) {
    // in bursts the pump can drain: what the ring cannot hold would count too, but here the pty's part is checked
    for (let i = 0; i < 8192; i++, sent++) uart.write(0x41);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => console.droppedBytes > 0, 5000, 'the pty\'s losses counted');
  console.stopPumps();
  const dropped = console.droppedBytes;
  t.true(dropped > total / 2, `${dropped} of ${total} bytes dropped: a pty holds a few KiB`);
  await console.close();
  t.is(console.droppedBytes, dropped, 'a closed output\'s losses stay counted');
});
