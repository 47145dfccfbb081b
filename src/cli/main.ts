// The `nodevmm` runner: flags → a Vmm, then wait for it to end. This is the only layer that knows
// about exit statuses and signals; the bin shim calls process.exit with what `main` returns.
import { Vmm } from '../api/vmm.js';
import { versionLine } from '../version.js';
import { VmmError, errorChain } from '../errors.js';
import { eventName } from '../vmm/events.js';
import { ApiServer } from '../api/http-server.js';
import { UsageError, USAGE, parseArgs, type CliOptions } from './args.js';
import { serialTerminalService } from './terminal.js';
import type { ServiceStarter } from './service.js';
import { handleSignals } from './early-signals.js';

export type { ServiceStarter };

export const ExitStatus = { OK: 0, FATAL: 1, USAGE: 2 } as const;

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** the name the program was run as: `cloud-hypervisor` gives Cloud Hypervisor's --version line */
  programName?: string;
}

/** The REST API on --api-socket; nothing without the flag. */
export const restApiService: ServiceStarter = async (vmm, options, log) => {
  if (!options.apiSocket) return async () => {};
  const server = await ApiServer.start(vmm, options.apiSocket, { log });
  return () => server.close();
};

export async function main(
  argv: readonly string[],
  io: CliIo = process,
  services: ServiceStarter[] = [restApiService, serialTerminalService],
): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`nodevmm: ${error.message}\nTry 'nodevmm --help'.\n`);
    return ExitStatus.USAGE;
  }
  if (options.help) {
    io.stdout.write(USAGE);
    return ExitStatus.OK;
  }
  if (options.version) {
    io.stdout.write(versionLine(io.programName ?? 'nodevmm'));
    return ExitStatus.OK;
  }
  if (!options.kernel && !options.apiSocket && !options.restore) {
    io.stderr.write("nodevmm: nothing to do: give --kernel to boot a VM, or --api-socket to wait for requests\nTry 'nodevmm --help'.\n");
    return ExitStatus.USAGE;
  }
  if (options.restore && !options.restore.resume && !options.apiSocket) {
    io.stderr.write("nodevmm: --restore leaves the VM Paused: give --api-socket to resume it there, or resume=on\nTry 'nodevmm --help'.\n");
    return ExitStatus.USAGE;
  }

  const log = (message: string): void => {
    if (options.verbose > 0) io.stderr.write(`nodevmm: ${message}\n`);
  };
  const vmm = new Vmm({
    noShutdown: options.noShutdown,
    eventMonitor: options.eventMonitor,
    quirks: options.quirks,
    profileExits: options.profileExits,
    log,
    warn: (message) => io.stderr.write(`nodevmm: warning: ${message}\n`),
    tty: io.stdout,
  });
  vmm.events$.subscribe((e) => log(`event ${eventName(e)}${e.properties ? ' ' + JSON.stringify(e.properties) : ''}`));
  vmm.debugConsole$.subscribe((bytes) => log(`guest debug console: ${Buffer.from(bytes).toString('latin1').trimEnd()}`));

  handleSignals((signal) => {
    log(`${signal}: shutting down`);
    void vmm.shutdown('signal');
  });

  const closers: Array<() => Promise<void>> = [];
  try {
    for (const start of services) closers.push(await start(vmm, options, log));
    // a VMM that waits for its VM over the API (a create, a restore, a migration) starts a worker now
    if (!options.kernel && !options.restore) vmm.startWorkerAhead();
    if (options.kernel) {
      await vmm.createVm({
        cpus: { boot_vcpus: options.cpus },
        ...(options.memoryBytes !== undefined ? { memory: { size: options.memoryBytes } } : {}),
        payload: {
          kernel: options.kernel,
          ...(options.cmdline !== undefined ? { cmdline: options.cmdline } : {}),
          ...(options.initramfs !== undefined ? { initramfs: options.initramfs } : {}),
        },
        serial: options.serial,
        ...(options.console ? { console: options.console } : {}),
        ...(options.disks.length > 0 ? { disks: options.disks } : {}),
        ...(options.rng ? { rng: options.rng } : {}),
        ...(options.nets.length > 0 ? { net: options.nets } : {}),
        ...(options.vsock ? { vsock: options.vsock } : {}),
      });
      await vmm.boot();
    }
    if (options.restore) {
      await vmm.restore(options.restore.sourceUrl, { resume: options.restore.resume });
    }
    if (options.kernel || options.restore) {
      const { serial, console } = vmm.info().config;
      if (serial.mode === 'Pty') io.stderr.write(`nodevmm: serial port on ${serial.file}\n`);
      if (console.mode === 'Pty') io.stderr.write(`nodevmm: virtio console on ${console.file}\n`);
    }
  } catch (error) {
    const usage = error instanceof VmmError && error.kind === 'invalid-config';
    io.stderr.write(`nodevmm: ${errorChain(error).join(': ')}\n`);
    await vmm.shutdown('api');
    await Promise.all(closers.map((close) => close()));
    return usage ? ExitStatus.USAGE : ExitStatus.FATAL;
  }

  const exit = await vmm.exited;
  handleSignals(null);
  await Promise.all(closers.map((close) => close().catch(() => {})));
  if (exit.code !== 0) io.stderr.write(`nodevmm: fatal: ${exit.error ?? exit.reason}\n`);
  else log(`exiting (${exit.reason})`);
  return exit.code;
}
