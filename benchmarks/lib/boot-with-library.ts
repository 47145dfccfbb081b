// Child process for the "nodevmm-lib" system: boots a guest through the embedding API (no CLI) and
// prints, as JSON, where the time went. The per-exit cost uses bootToShutdownNs: from the boot() call
// to the vm/shutdown event, which holds the whole guest run. phasesMs breaks the whole run down.
//   node boot-with-library.js GUEST.elf CMDLINE
const scriptStartMs = performance.now(); // since the process started (performance's time origin)
const { Vmm } = await import('../../src/api/vmm.js');
const importedMs = performance.now();

const [kernel, cmdline = ''] = process.argv.slice(2);
const now = (): bigint => process.hrtime.bigint();

const vmm = new Vmm({ quirks: 'auto' });
const seen: Record<string, bigint> = {};
vmm.events$.subscribe((e) => (seen[`${e.source}/${e.event}`] ??= now()));
const createStartMs = performance.now();
await vmm.createVm({
  cpus: { boot_vcpus: 1 },
  memory: { size: 64 * 1024 * 1024 },
  payload: { kernel, cmdline },
  serial: { mode: 'Null' },
});
const bootCalledMs = performance.now();
const bootCalled = now();
await vmm.boot();
const exit = await vmm.exited;
const exited = now();
if (exit.code !== 0) {
  process.stderr.write(`guest run failed: ${exit.error ?? exit.reason}\n`);
  process.exit(1);
}
const since = (t: bigint | undefined): number => (t === undefined ? NaN : Number(t - bootCalled));
const ms = (ns: number): number => ns / 1e6;
const bootToBooted = since(seen['vm/booted']);
const bootToShutdown = since(seen['vm/shutdown']);
const bootToExited = since(exited);
process.stdout.write(
  JSON.stringify({
    bootToShutdownNs: bootToShutdown,
    phasesMs: {
      'node start → script runs': scriptStartMs,
      'import nodevmm (rxjs, comlink, …)': importedMs - scriptStartMs,
      'new Vmm + createVm': bootCalledMs - createStartMs + (createStartMs - importedMs),
      'boot() → vm/booted (workers, VM build, vCPU attach)': ms(bootToBooted),
      'vm/booted → vm/shutdown (guest run, S5, teardown)': ms(bootToShutdown - bootToBooted),
      'vm/shutdown → exited (threads end, events flushed)': ms(bootToExited - bootToShutdown),
      'at exit (script end)': performance.now(),
    },
  }) + '\n',
);
