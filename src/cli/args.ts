// Command-line flags in Cloud Hypervisor's style (`--cpus boot=2`, `--memory size=256M`,
// `--serial tty|off|null|pty|file=PATH|socket=PATH`), parsed into a plain object. Errors name the flag.
import { escapeKeysHelp } from './escape-keys.js';

import { UsageError } from './usage-error.js';
import { parseDiskFlag, parseNetFlag, parseRngFlag, parseVsockFlag, type DiskFlag, type NetFlag } from './device-args.js';

export { UsageError };

export interface CliOptions {
  kernel?: string;
  cmdline?: string;
  initramfs?: string;
  /** --restore source_url=file:///DIR[,prefault=on][,resume=on] */
  restore?: { sourceUrl: string; resume: boolean };
  cpus: number;
  memoryBytes?: number;
  serial: SerialFlag;
  /** the virtio console (hvc0); absent: off */
  console?: SerialFlag;
  /** --disk, in order (several values may follow one flag) */
  disks: DiskFlag[];
  /** --net, in order (several values may follow one flag) */
  nets: NetFlag[];
  rng?: { src: string };
  vsock?: { cid: number; socket: string; id?: string };
  apiSocket?: { path: string } | { fd: number };
  eventMonitor?: { path: string } | { fd: number };
  noShutdown: boolean;
  quirks: 'auto' | 'off';
  /** time one exit in N by reason (0: off) */
  profileExits: number;
  verbose: number;
  help: boolean;
  version: boolean;
}

export type SerialFlag = { mode: 'Tty' | 'Null' | 'Off' | 'Pty' } | { mode: 'File'; file: string } | { mode: 'Socket'; socket: string };

const VALUE_FLAGS = ['--kernel', '--cmdline', '--initramfs', '--cpus', '--memory', '--serial', '--console', '--vsock', '--api-socket', '--event-monitor', '--quirks', '--restore'] as const;
const BOOLEAN_FLAGS = ['--no-shutdown', '-v', '--verbose', '--help', '-h', '--version', '-V'] as const;

export const USAGE = `Usage: nodevmm [options]

Boots a VM on /dev/kvm. With --kernel the VM is created and booted at start; without it
the VMM waits for requests on --api-socket.

Payload:
  --kernel PATH            PVH ELF kernel (vmlinux or a test guest) or bzImage
  --cmdline STRING         kernel command line
  --initramfs PATH         initramfs image
  --restore source_url=file:///DIR[,resume=on]
                           the VM of a snapshot (vm.snapshot), Paused unless resume=on
Machine:
  --cpus boot=N            vCPUs (default 1)
  --memory size=SIZE       guest RAM, bytes or with K/M/G (default 256M)
  --serial MODE            tty (default) | null | off | pty | file=PATH | socket=PATH
  --console MODE           virtio console hvc0: off (default) | null | tty | pty | file=PATH
  --disk path=IMG[,readonly=on][,id=ID][,serial=S][,queue_size=N] [path=IMG2...]
                           virtio-blk disks (raw images); several may follow one --disk
  --net tap=NAME|fd=N[,mac=MAC][,id=ID][,offload_tso=off][,offload_csum=off] [tap=...]
                           virtio-net on a tap (opened by name, or an inherited fd)
  --vsock cid=N,socket=PATH  virtio-vsock; the host side is the Unix socket PATH (CONNECT <port>)
  --rng [src=PATH]         virtio-rng fed from PATH (default /dev/urandom)
Control:
  --api-socket path=PATH|fd=N  REST API on a Unix socket (Cloud Hypervisor's API)
  --event-monitor path=PATH|fd=N  write lifecycle events as JSON
  --no-shutdown            on guest poweroff stop only the VM; keep the VMM running
  --quirks auto|off        platform quirks profile (default auto: applied when detected)
  --profile-exits[=N]      time exits (one in N) by reason inside the vCPU workers; see vm.counters
  -v, --verbose            log lifecycle events and decisions to stderr
  -h, --help               this text
  -V, --version            print the version

Serial terminal (--serial tty): the guest's serial port is on stdout and stdin. A terminal on
stdin is in raw mode while the VM runs (every key, Ctrl-C too, goes to the guest) except:
${escapeKeysHelp()}A pipe on stdin is forwarded byte for byte (no escape keys); its end stops the input.
--serial socket=PATH serves the port on a Unix socket (mode 0600, removed at exit): each client
gets the output from when it connects; what any client sends goes to the guest.
--serial pty puts the port on a new pseudo-terminal and prints its path (attach with
screen PATH); output nobody reads is dropped, the guest never waits.

Exit status: 0 clean (also guest poweroff), 1 fatal VMM error, 2 bad usage or config.
`;

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30, T: 2 ** 40 };

/** "256M", "1G", "65536" → bytes. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!match) throw new UsageError(`${flag}: invalid size '${text}' (use bytes or a number with K, M or G, e.g. 256M)`);
  const bytes = Number(match[1]) * SIZE_UNITS[match[2].toUpperCase()];
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${flag}: size '${text}' is too large`);
  return bytes;
}

/** "boot=2,max=2" → { boot: "2", max: "2" }; a bare value counts as `bare`. */
function parseKeyValues(text: string, flag: string, bare: string, allowed: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const [key, value] = eq < 0 ? [bare, part] : [part.slice(0, eq), part.slice(eq + 1)];
    if (!allowed.includes(key)) throw new UsageError(`${flag}: unknown parameter '${key}' (expected ${allowed.join(', ')})`);
    out[key] = value;
  }
  return out;
}

function parseSocketTarget(text: string, flag: string): { path: string } | { fd: number } {
  const kv = parseKeyValues(text, flag, 'path', ['path', 'fd']);
  if (kv.fd !== undefined) {
    if (!/^\d+$/.test(kv.fd)) throw new UsageError(`${flag}: fd must be a number, got '${kv.fd}'`);
    return { fd: Number(kv.fd) };
  }
  if (!kv.path) throw new UsageError(`${flag}: expected path=PATH or fd=N`);
  return { path: kv.path };
}

function parseSerial(text: string, flag = '--serial'): SerialFlag {
  const lower = text.toLowerCase();
  if (lower === 'tty') return { mode: 'Tty' };
  if (lower === 'null') return { mode: 'Null' };
  if (lower === 'off') return { mode: 'Off' };
  if (lower === 'pty') return { mode: 'Pty' };
  if (lower.startsWith('file=') && text.length > 5) return { mode: 'File', file: text.slice(5) };
  if (lower.startsWith('socket=') && text.length > 7 && flag === '--serial') return { mode: 'Socket', socket: text.slice(7) };
  throw new UsageError(`${flag}: invalid mode '${text}' (expected tty, null, off, pty, file=PATH${flag === '--serial' ? ' or socket=PATH' : ''})`);
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { cpus: 1, serial: { mode: 'Tty' }, disks: [], nets: [], noShutdown: false, quirks: 'auto', profileExits: 0, verbose: 0, help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if ((VALUE_FLAGS as readonly string[]).includes(arg)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
        value = argv[++i];
      }
      applyValue(options, arg as (typeof VALUE_FLAGS)[number], value);
    } else if ((BOOLEAN_FLAGS as readonly string[]).includes(arg)) {
      if (value !== undefined) throw new UsageError(`${arg} takes no value`);
      if (arg === '--no-shutdown') options.noShutdown = true;
      else if (arg === '-v' || arg === '--verbose') options.verbose++;
      else if (arg === '--help' || arg === '-h') options.help = true;
      else options.version = true;
    } else if (arg === '--disk' || arg === '--net') {
      // Cloud Hypervisor's form: every value up to the next flag is a disk (a net)
      const values = value !== undefined ? [value] : [];
      while (value === undefined && i + 1 < argv.length && !argv[i + 1].startsWith('-')) values.push(argv[++i]);
      if (arg === '--disk') {
        if (values.length === 0) throw new UsageError('--disk needs a value (path=IMAGE)');
        options.disks.push(...values.map(parseDiskFlag));
      } else {
        if (values.length === 0) throw new UsageError('--net needs a value (tap=NAME or fd=N)');
        options.nets.push(...values.map(parseNetFlag));
      }
    } else if (arg === '--rng') {
      const next = value ?? (i + 1 < argv.length && !argv[i + 1].startsWith('-') ? argv[++i] : '');
      options.rng = parseRngFlag(next);
    } else if (arg === '--profile-exits') {
      // a bare flag times every exit; --profile-exits=N times one in N
      if (value !== undefined && !/^[1-9]\d*$/.test(value)) throw new UsageError(`--profile-exits: expected a positive number, got '${value}'`);
      options.profileExits = value === undefined ? 1 : Number(value);
    } else if (/^-v+$/.test(arg)) {
      options.verbose += arg.length - 1;
    } else {
      throw new UsageError(arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument '${arg}'`);
    }
  }
  if (!options.kernel && (options.cmdline !== undefined || options.initramfs !== undefined)) {
    throw new UsageError('--cmdline and --initramfs need --kernel');
  }
  const devices = options.disks.length > 0 || options.nets.length > 0 || options.rng !== undefined || options.vsock !== undefined || (options.console !== undefined && options.console.mode !== 'Off');
  if (options.restore && (options.kernel || options.memoryBytes !== undefined || options.cpus !== 1 || devices)) {
    throw new UsageError('--restore takes the VM config from the snapshot: it cannot go with --kernel, --cpus, --memory, --console, --disk, --net, --vsock or --rng');
  }
  if (!options.kernel && devices && !options.restore) {
    throw new UsageError('--console, --disk, --net, --vsock and --rng need --kernel');
  }
  return options;
}

function applyValue(options: CliOptions, flag: (typeof VALUE_FLAGS)[number], value: string): void {
  switch (flag) {
    case '--kernel':
    case '--initramfs':
      if (value === '') throw new UsageError(`${flag} needs a path`);
      options[flag === '--kernel' ? 'kernel' : 'initramfs'] = value;
      return;
    case '--cmdline':
      options.cmdline = value;
      return;
    case '--cpus': {
      const kv = parseKeyValues(value, flag, 'boot', ['boot', 'max']);
      const boot = kv.boot ?? kv.max;
      if (boot === undefined || !/^\d+$/.test(boot)) throw new UsageError(`--cpus: boot must be a whole number, got '${boot ?? ''}'`);
      const n = Number(boot);
      if (n < 1) throw new UsageError('--cpus: boot must be at least 1');
      if (kv.max !== undefined && Number(kv.max) !== n) throw new UsageError('--cpus: max must equal boot (no vCPU hotplug)');
      options.cpus = n;
      return;
    }
    case '--memory': {
      const kv = parseKeyValues(value, flag, 'size', ['size']);
      if (kv.size === undefined) throw new UsageError('--memory: expected size=SIZE');
      options.memoryBytes = parseSize(kv.size, '--memory size');
      return;
    }
    case '--serial':
      options.serial = parseSerial(value);
      return;
    case '--vsock':
      options.vsock = parseVsockFlag(value);
      return;
    case '--console':
      options.console = parseSerial(value, '--console');
      return;
    case '--api-socket':
      options.apiSocket = parseSocketTarget(value, flag);
      return;
    case '--event-monitor':
      options.eventMonitor = parseSocketTarget(value, flag);
      return;
    case '--restore': {
      const kv = parseKeyValues(value, flag, 'source_url', ['source_url', 'prefault', 'resume']);
      if (!kv.source_url) throw new UsageError('--restore: expected source_url=file:///DIR');
      for (const key of ['prefault', 'resume'] as const) {
        if (kv[key] !== undefined && !['on', 'off', 'true', 'false'].includes(kv[key]!)) throw new UsageError(`--restore: ${key} must be on or off, got '${kv[key]}'`);
      }
      options.restore = { sourceUrl: kv.source_url, resume: kv.resume === 'on' || kv.resume === 'true' };
      return;
    }
    case '--quirks':
      if (value !== 'auto' && value !== 'off' && value !== 'on') throw new UsageError(`--quirks: expected auto or off, got '${value}'`);
      options.quirks = value === 'off' ? 'off' : 'auto';
      return;
  }
}
