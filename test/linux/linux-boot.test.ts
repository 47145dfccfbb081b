// Debian's cloud kernel under nodevmm, on real KVM: what the kernel reports about the platform we built
// (e820, ACPI tables, CPUs from the MADT), /init's marker, and Linux's own poweroff and reboot taking
// the guest-exit and reset paths of LIFECYCLE.md §1. Slow here (guest kernel code is emulated on
// kvm_pvm), so this file runs with `npm run test:linux`, not `npm test`.
import { eventNames, readEvents, waitFor } from '../helpers/project.js';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { bootLinux, LINUX_CPUS as CPUS, LINUX_MEMORY as MEMORY } from '../helpers/linux-guest.js';
import { ramRegions } from '../../src/boot/memory-layout.js';
import { e820FromRegions, E820Type } from '../../src/boot/e820.js';

const BOOT_MINUTES = 15;
const linuxTest = kvmSerialTest;

const minutes = (n: number): number => n * 60_000;

/** The e820 lines Linux prints for the map nodevmm gave it. */
function expectedE820Lines(): string[] {
  const hex16 = (n: number): string => n.toString(16).padStart(16, '0');
  return e820FromRegions(ramRegions(MEMORY)).map(
    (e) => `BIOS-e820: [mem 0x${hex16(e.addr)}-0x${hex16(e.addr + e.size - 1)}] ${e.type === E820Type.RAM ? 'usable' : 'reserved'}`,
  );
}

linuxTest('Linux boots to /init on the platform nodevmm describes, then `poweroff` exits through S5 with 0', async (t) => {
  t.timeout(minutes(BOOT_MINUTES + 1));
  const { vmm, events } = bootLinux(t, { action: 'poweroff' });
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([vmm.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), minutes(BOOT_MINUTES))))]);
  clearTimeout(timer); // a pending 15-minute timer would keep this file's worker (and the run) alive
  if (!exit) vmm.child.kill('SIGKILL');
  const out = vmm.stdout();
  t.log(`booted and powered off in ${Math.round((exit?.ms ?? 0) / 1000)} s`);
  t.is(exit?.code, 0, vmm.stderr() + out.slice(-2000));

  t.regex(out, /Linux version 6\.1\.\d+-\d+-cloud-amd64/);
  for (const line of expectedE820Lines()) t.true(out.includes(line), `kernel did not print: ${line}`);
  for (const table of ['RSDP', 'XSDT', 'FACP', 'DSDT', 'APIC']) t.regex(out, new RegExp(`ACPI: ${table} 0x[0-9A-F]+ [0-9A-F]+ \\(v\\d\\d NODEVM`));
  t.regex(out, new RegExp(`smpboot: Allowing ${CPUS} CPUs, 0 hotplug CPUs`));
  t.regex(out, new RegExp(`smp: Brought up 1 node, ${CPUS} CPUs`));
  t.regex(out, /ttyS0 at I\/O 0x3f8 .* is a 16550A/);
  // the CMOS RTC, found through the DSDT's PNP0B00 device, sets the system clock from our CMOS time
  t.regex(out, /rtc_cmos \S+: registered as rtc0/);
  t.regex(out, /rtc_cmos \S+: setting system clock to \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d UTC/);
  t.notRegex(out, /rtc_cmos: probe of rtc_cmos failed/);
  t.regex(out, new RegExp(`NODEVMM-INIT: up, cpus=${CPUS}`));
  t.regex(out, /NODEVMM-INIT: poweroff/);
  t.regex(out, /reboot: Power down/);
  t.deepEqual(eventNames(events).slice(-3), ['vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
  t.is(readEvents(events).at(-1)?.properties?.reason, 'guest-shutdown');
});

linuxTest("keys on the VMM's stdin reach Linux user space through the 16550 and the tty layer; `poweroff` typed there powers off", async (t) => {
  t.timeout(minutes(BOOT_MINUTES + 1));
  const { vmm } = bootLinux(t, { action: 'echo', stdin: 'pipe' });
  await vmm.waitForOutput('NODEVMM-INIT: echo', 1, minutes(BOOT_MINUTES));
  vmm.child.stdin!.write('hello from the host\n');
  await vmm.waitForOutput('NODEVMM-ECHO: hello from the host', 1, minutes(2));
  vmm.child.stdin!.write('poweroff\n');
  const exit = await vmm.exited;
  t.is(exit.code, 0, vmm.stderr());
  t.regex(vmm.stdout(), /NODEVMM-INIT: poweroff/);
});

linuxTest('with --no-shutdown, Linux `poweroff` stops only the VM: vm/shutdown, and the VMM stays', async (t) => {
  t.timeout(minutes(BOOT_MINUTES + 1));
  const { vmm, events } = bootLinux(t, { action: 'poweroff', vmmArgs: ['--no-shutdown'] });
  await waitFor(() => eventNames(events).includes('vm/shutdown'), minutes(BOOT_MINUTES), 'vm/shutdown');
  t.regex(vmm.stdout(), /NODEVMM-INIT: poweroff/);
  await new Promise((r) => setTimeout(r, 1000));
  t.is(vmm.child.exitCode, null, 'the VMM must stay alive');
  t.is(eventNames(events).at(-1), 'vm/shutdown');
  t.is(readEvents(events).at(-1)?.properties?.reason, 'guest-shutdown');
  vmm.child.kill('SIGTERM');
  t.is((await vmm.exited).code, 0);
});

// Which reset Linux uses: reboot_init() (arch/x86/kernel/reboot.c) picks EFI reboot when the FADT is
// hardware-reduced (efi_reboot_required()) and EFI runtime services are not disabled, even without EFI;
// efi_reboot() then finds no EFI and the loop falls to BOOT_BIOS: machine_real_restart() writes 0 to CMOS
// register 0x0F with NMIs masked (index 0x8F), which nodevmm's CMOS takes as a reset, as Cloud
// Hypervisor's does. The ACPI reset register (FADT: 1 to port 0x600) is used when the user asks for it
// with reboot=acpi (next test).
linuxTest('Linux `reboot` takes the reset path: vm/rebooting, and the kernel boots again', async (t) => {
  t.timeout(minutes(BOOT_MINUTES + 2));
  const { vmm, events } = bootLinux(t, { action: 'reboot' });
  await vmm.waitForOutput('NODEVMM-INIT: reboot', 1, minutes(BOOT_MINUTES));
  await vmm.waitForOutput(/Linux version 6\.1/, 2, minutes(2));
  await waitFor(() => eventNames(events).includes('vm/rebooted'), 10_000, 'vm/rebooted');
  const rebooting = readEvents(events).find((e) => e.event === 'rebooting');
  t.true(['acpi-reset', 'i8042-reset', 'cmos-reset', 'triple-fault'].includes(rebooting?.properties?.reason ?? ''), JSON.stringify(rebooting));
  t.is(rebooting?.properties?.reason, 'cmos-reset', "Linux 6.1's default reset on a hardware-reduced FADT without EFI");
  t.false(eventNames(events).includes('vm/shutdown'));
  t.is(vmm.child.exitCode, null);
  vmm.child.kill('SIGTERM');
  t.is((await vmm.exited).code, 0);
});

linuxTest('with reboot=acpi, Linux `reboot` writes the FADT reset value to the reset register: acpi-reset', async (t) => {
  t.timeout(minutes(BOOT_MINUTES + 1));
  const { vmm, events } = bootLinux(t, { action: 'reboot', cmdline: 'reboot=acpi' });
  await vmm.waitForOutput('NODEVMM-INIT: reboot', 1, minutes(BOOT_MINUTES));
  await waitFor(() => eventNames(events).includes('vm/rebooted'), 60_000, 'vm/rebooted');
  const rebooting = readEvents(events).find((e) => e.event === 'rebooting');
  t.is(rebooting?.properties?.reason, 'acpi-reset', JSON.stringify(rebooting));
  vmm.child.kill('SIGTERM');
  t.is((await vmm.exited).code, 0);
});
