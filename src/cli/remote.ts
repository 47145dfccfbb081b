// `nodevmm-remote`: drives a running nodevmm over its API socket, as ch-remote drives Cloud Hypervisor.
// One command per run; the exit status says how the VMM answered.
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { ApiClient, ApiConnectionError, errorMessages } from '../api/remote-client.js';
import { VERSION } from '../version.js';

export const RemoteExit = { OK: 0, REFUSED: 1, USAGE: 2, UNREACHABLE: 3 } as const;

export const REMOTE_USAGE = `Usage: nodevmm-remote --api-socket PATH <command>

Commands:
  ping             the VMM's version, build and pid
  create FILE      create the VM from a VmConfig JSON file (- reads standard input)
  boot             boot the VM (or resume a paused one)
  shutdown         stop the VM; it keeps its config and can boot again
  reboot           reboot the VM
  pause | resume   stop and restart every vCPU
  delete           stop the VM and forget its config
  power-button     press the VM's ACPI power button
  info             the VM's config and state (JSON)
  counters         per-vCPU exit counts and lifecycle counts (JSON)
  snapshot URL     write the paused VM to file:///DIR (config.json, state.json, memory-ranges)
  restore URL      restore a snapshot (source_url=file:///DIR or the bare URL) into a VMM
                   without a VM; it comes back Paused
  send-migration URL
                   migrate the VM to a receiving VMM (unix:/PATH or tcp:HOST:PORT); the
                   outcome is reported as events (vm/migration-finished or -failed)
  receive-migration URL
                   listen on unix:/PATH or tcp:HOST:PORT for a VM sent by send-migration
  shutdown-vmm     end the VMM process (it exits 0)

Exit status: 0 the VMM did it (HTTP 2xx); 1 the VMM refused or failed (its answer is printed);
2 bad usage; 3 the VMM could not be reached.
`;

/** A command's one argument: a VmConfig file, or a URL that becomes the body. */
type Argument = { kind: 'file' } | { kind: 'url'; body: (text: string) => object };
type Command = { endpoint: string; method: 'GET' | 'PUT'; argument?: Argument };

/** ch-remote's `restore source_url=…[,prefault=on]`, or the bare URL. */
function restoreArgument(text: string): object {
  const parts = Object.fromEntries(text.split(',').map((part) => (part.includes('=') ? [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] : ['source_url', part])));
  return { source_url: parts.source_url, ...(parts.prefault !== undefined ? { prefault: parts.prefault === 'on' || parts.prefault === 'true' } : {}) };
}

const COMMANDS: Record<string, Command> = {
  ping: { endpoint: 'vmm.ping', method: 'GET' },
  create: { endpoint: 'vm.create', method: 'PUT', argument: { kind: 'file' } },
  boot: { endpoint: 'vm.boot', method: 'PUT' },
  shutdown: { endpoint: 'vm.shutdown', method: 'PUT' },
  reboot: { endpoint: 'vm.reboot', method: 'PUT' },
  pause: { endpoint: 'vm.pause', method: 'PUT' },
  resume: { endpoint: 'vm.resume', method: 'PUT' },
  delete: { endpoint: 'vm.delete', method: 'PUT' },
  'power-button': { endpoint: 'vm.power-button', method: 'PUT' },
  info: { endpoint: 'vm.info', method: 'GET' },
  counters: { endpoint: 'vm.counters', method: 'GET' },
  'shutdown-vmm': { endpoint: 'vmm.shutdown', method: 'PUT' },
  snapshot: { endpoint: 'vm.snapshot', method: 'PUT', argument: { kind: 'url', body: (url) => ({ destination_url: url }) } },
  restore: { endpoint: 'vm.restore', method: 'PUT', argument: { kind: 'url', body: restoreArgument } },
  'send-migration': { endpoint: 'vm.send-migration', method: 'PUT', argument: { kind: 'url', body: (url) => ({ destination_url: url }) } },
  'receive-migration': { endpoint: 'vm.receive-migration', method: 'PUT', argument: { kind: 'url', body: (url) => ({ receiver_url: url }) } },
};

export interface RemoteIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** read for `create -` */
  stdin?: NodeJS.ReadableStream;
}

class RemoteUsageError extends Error {}

interface Invocation {
  socket?: string;
  command?: string;
  args: string[];
  help: boolean;
  version: boolean;
}

function parseRemoteArgs(argv: readonly string[]): Invocation {
  const out: Invocation = { args: [], help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--api-socket' || arg.startsWith('--api-socket=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (value === undefined || value === '') throw new RemoteUsageError('--api-socket needs a path');
      out.socket = value.startsWith('path=') ? value.slice(5) : value;
    } else if (arg === '-h' || arg === '--help') out.help = true;
    else if (arg === '-V' || arg === '--version') out.version = true;
    else if (arg.startsWith('-') && arg !== '-') throw new RemoteUsageError(`unknown option ${arg}`);
    else if (out.command === undefined) out.command = arg;
    else out.args.push(arg);
  }
  return out;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Validates the invocation; returns the command and its body. */
async function prepare(invocation: Invocation, io: RemoteIo): Promise<{ socket: string; name: string; command: Command; body?: string }> {
  const name = invocation.command;
  if (name === undefined) throw new RemoteUsageError('no command given');
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) throw new RemoteUsageError(`unknown command '${name}' (expected ${Object.keys(COMMANDS).join(', ')})`);
  if (!invocation.socket) throw new RemoteUsageError('--api-socket PATH is required');
  const argument = command.argument;
  if (invocation.args.length !== (argument ? 1 : 0)) {
    const wanted = { file: 'one FILE (a VmConfig JSON file, or -)', url: 'one URL' };
    throw new RemoteUsageError(argument ? `${name} needs ${wanted[argument.kind]}` : `${name} takes no arguments`);
  }
  if (!argument) return { socket: invocation.socket, name, command };
  if (argument.kind === 'url') return { socket: invocation.socket, name, command, body: JSON.stringify(argument.body(invocation.args[0])) };
  const file = invocation.args[0];
  let body: string;
  try {
    body = file === '-' ? await readStream(io.stdin ?? process.stdin) : readFileSync(file, 'utf8');
  } catch (error) {
    throw new RemoteUsageError(`${name}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return { socket: invocation.socket, name, command, body };
}

function printJson(io: RemoteIo, text: string): void {
  try {
    io.stdout.write(JSON.stringify(JSON.parse(text), null, 2) + '\n');
  } catch {
    io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
}

export async function remoteMain(argv: readonly string[], io: RemoteIo = process): Promise<number> {
  let prepared: Awaited<ReturnType<typeof prepare>>;
  try {
    const invocation = parseRemoteArgs(argv);
    if (invocation.help) {
      io.stdout.write(REMOTE_USAGE);
      return RemoteExit.OK;
    }
    if (invocation.version) {
      io.stdout.write(`nodevmm-remote ${VERSION}\n`);
      return RemoteExit.OK;
    }
    prepared = await prepare(invocation, io);
  } catch (error) {
    if (!(error instanceof RemoteUsageError)) throw error;
    io.stderr.write(`nodevmm-remote: ${error.message}\nTry 'nodevmm-remote --help'.\n`);
    return RemoteExit.USAGE;
  }

  const { socket, name, command, body } = prepared;
  try {
    const response = await new ApiClient(socket).request(command.method, command.endpoint, body);
    if (response.status >= 200 && response.status <= 299) {
      if (response.text !== '') printJson(io, response.text);
      return RemoteExit.OK;
    }
    const answer = errorMessages(response.text);
    io.stderr.write(
      `nodevmm-remote: ${name}: the VMM answered ${response.status} ${STATUS_CODES[response.status] ?? ''}` +
        `${answer.length ? ': ' + answer.join(': ') : ''}\n`,
    );
    return RemoteExit.REFUSED;
  } catch (error) {
    if (!(error instanceof ApiConnectionError)) throw error;
    io.stderr.write(`nodevmm-remote: ${name}: ${error.reason}\n`);
    return RemoteExit.UNREACHABLE;
  }
}
