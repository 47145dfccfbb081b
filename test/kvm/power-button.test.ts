// The ACPI power button (vm.power-button): a guest that honours it powers off through the guest-exit
// path, and so obeys --no-shutdown.
import { firstValueFrom } from 'rxjs';
import { Vmm } from '../../src/index.js';
import { eventNames, guestPath, readEvents, waitFor } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';
import { startApiVmm, tmpFile } from '../helpers/api-vmm.js';

kvmTest('library: powerButton() makes a guest that handles it power off; the VMM exits 0', async (t) => {
  const vmm = new Vmm();
  let serial = '';
  vmm.serial$.subscribe((b) => (serial += Buffer.from(b).toString('latin1')));
  await vmm.createVm({ payload: { kernel: guestPath('power-button') }, memory: { size: 32 << 20 }, serial: { mode: 'Null' } });
  await vmm.boot();
  await waitFor(() => serial.includes('nodevmm guest: power-button'), 10_000, 'banner');
  t.false(serial.includes('pressed'), 'nothing happens before the button is pressed');
  const guestExit = firstValueFrom(vmm.guestExit$);
  await vmm.powerButton();
  t.is((await guestExit).reason, 'guest-shutdown');
  t.deepEqual(await vmm.exited, { code: 0, reason: 'guest-shutdown' });
  t.regex(serial, /power button pressed: powering off/);
});

kvmTest('REST: PUT vm.power-button with --no-shutdown → vm/shutdown, state Shutdown, the VMM stays', async (t) => {
  const events = tmpFile(`power-button-${Date.now()}.json`);
  const vmm = await startApiVmm(['--no-shutdown', '--event-monitor', `path=${events}`]);
  try {
    t.is((await vmm.call('PUT', 'vm.create', { payload: { kernel: guestPath('power-button') }, memory: { size: 32 << 20 }, serial: { mode: 'Tty' } })).status, 204);
    t.is((await vmm.call('PUT', 'vm.boot')).status, 204);
    await vmm.waitForOutput('nodevmm guest: power-button');
    t.is((await vmm.call('PUT', 'vm.power-button')).status, 204);
    await waitFor(() => eventNames(events).includes('vm/shutdown'), 10_000, 'vm/shutdown');
    t.is(readEvents(events).at(-1)?.properties?.reason, 'guest-shutdown');
    const info = await vmm.call('GET', 'vm.info');
    t.is((info.json as { state: string }).state, 'Shutdown');
    t.is(vmm.child.exitCode, null);
    t.is((await vmm.call('PUT', 'vm.power-button')).status, 409, 'no button on a VM that is off');
  } finally {
    await vmm.stop();
  }
});
