// Serial mode Pty on real KVM with the serial-echo guest (it echoes lowercase letters uppercased and
// powers off on `q`): the CLI's --serial pty and the library's { mode: 'Pty' }, a client on the
// terminal's path as `screen` would be.
import { existsSync } from 'node:fs';
import { attachPty as attach } from '../helpers/pty-client.js';
import { filter, firstValueFrom, skip, take } from 'rxjs';
import { Vmm } from '../../src/index.js';
import { guestPath, startVmm, waitFor } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';
import { scaled } from '../helpers/timing.js';

const READY = 'echo ready (q quits)';

/** Types `!` until the guest echoes it: keys sent before the guest set up its UART are lost. */
async function untilEchoing(client: ReturnType<typeof attach>): Promise<void> {
  const deadline = Date.now() + scaled(20_000);
  while (!client.text().includes('!')) {
    if (Date.now() > deadline) throw new Error(`the guest never echoed; got: ${client.text()}`);
    client.type('!');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

kvmTest('CLI --serial pty: prints the path; a client there sees the output and its keys reach the guest', async (t) => {
  const vmm = startVmm(['--kernel', guestPath('serial-echo'), '--memory', 'size=32M', '--serial', 'pty']);
  await waitFor(() => /serial port on \/dev\/pts\/\d+\n/.test(vmm.stderr()), 20_000, 'the pty path on stderr');
  const path = /serial port on (\/dev\/pts\/\d+)/.exec(vmm.stderr())![1];
  const client = attach(path);
  await untilEchoing(client);
  t.true(client.text().includes(READY), 'output written before the client attached waited in the pty');
  client.type('hello over a pty\n');
  await waitFor(() => client.text().includes('HELLO OVER A PTY\n'), 10_000, 'the echo');
  client.type('q');
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());
  await waitFor(() => client.text().includes('serial interrupts'), 5_000, 'the last output');
  t.false(vmm.stdout().includes('nodevmm guest'), 'serial output goes to the pty, not stdout');
  client.close();
  t.false(existsSync(path), 'the terminal is gone with the VMM');
});

kvmTest('library Pty: vm.info reports the path, it stays the same across boots, and vm.delete releases it', async (t) => {
  const vmm = new Vmm({ noShutdown: true });
  await vmm.createVm({ payload: { kernel: guestPath('serial-echo') }, memory: { size: 32 << 20 }, serial: { mode: 'Pty' } });
  t.deepEqual(vmm.info().config.serial, { mode: 'Pty' }, 'no terminal before the first boot');
  await vmm.boot();
  const path = vmm.info().config.serial.file!;
  t.regex(path, /^\/dev\/pts\/\d+$/);
  const client = attach(path);
  await untilEchoing(client);
  const stopped = firstValueFrom(vmm.state$.pipe(skip(1), filter((s) => s === 'Shutdown'), take(1)));
  client.type('q');
  await stopped;
  await vmm.boot();
  t.is(vmm.info().config.serial.file, path, 'a fresh boot keeps the terminal');
  const start = client.text().length;
  await waitFor(() => client.text().slice(start).includes(READY), 20_000, 'the second boot on the same terminal');
  await vmm.deleteVm();
  t.false(existsSync(path), 'vm.delete closes the terminal');
  client.close();
  t.deepEqual(await vmm.shutdown(), { code: 0, reason: 'api' });
});
