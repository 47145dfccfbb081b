// `npm run box -- [options] [--] COMMAND [ARGS...]`: runs COMMAND in the nested-KVM box and exits
// with its status (124: timed out; 125: the box failed to start; 126: it faulted; 2: bad options). scripts/box/README.md.
import { parseArgs } from 'node:util';
import { runInBox, type BoxOptions } from './box.js';

const USAGE_STATUS = 2;

const USAGE = `Usage: npm run box -- [options] [--] COMMAND [ARGS...]
Runs COMMAND inside the nested-KVM box (QEMU TCG with an emulated AMD SVM CPU), where /dev/kvm
exists, in this directory and with this environment (TMPDIR is the box's own tmpfs). Its output is
streamed; its exit status is this command's. 124: the time limit was reached; 125: the box failed;
126: the box faulted (no heartbeat for 90 s, or its kernel reported a lockup or crash).
Options:
  --cpus N              the box's vCPUs (default: this machine's CPUs)
  --memory SIZE         the box's RAM, QEMU -m syntax (default 8G)
  --timeout SECONDS     limit for the whole run (default 1800)
  --cpu-model MODEL     QEMU's -cpu (default qemu64,+svm,+npt)
  --9p-cache MODE       loose (default), mmap or none
  --kvm-amd PARAMS      kvm_amd's parameters, space-separated (default npt=0; '' for the module's own)
  -h, --help
`;

const VALUE_OPTIONS = new Set(['--cpus', '--memory', '--timeout', '--cpu-model', '--9p-cache', '--kvm-amd']);

/** The options before the command, and the command: the first word that is no option starts it. */
function split(argv: string[]): { options: string[]; command: string[] } {
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-')) {
    if (argv[i] === '--') return { options: argv.slice(0, i), command: argv.slice(i + 1) };
    i += VALUE_OPTIONS.has(argv[i]) ? 2 : 1;
  }
  return { options: argv.slice(0, i), command: argv.slice(i) };
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a positive integer, not '${value}'`);
  return n;
}

/** The box's options from the command line, or null for --help. Throws on bad usage. */
function parse(argv: string[]): BoxOptions | null {
  const { options, command } = split(argv);
  const { values } = parseArgs({
    args: options,
    options: {
      cpus: { type: 'string' },
      memory: { type: 'string' },
      timeout: { type: 'string' },
      'cpu-model': { type: 'string' },
      '9p-cache': { type: 'string' },
      'kvm-amd': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  if (command.length === 0) throw new Error('no command given');
  const cache = values['9p-cache'];
  if (cache !== undefined && !['loose', 'mmap', 'none'].includes(cache)) throw new Error(`--9p-cache takes loose, mmap or none, not '${cache}'`);
  if (values.memory !== undefined && !/^\d+[MG]?$/.test(values.memory)) throw new Error(`--memory takes a size like 4096M or 8G, not '${values.memory}'`);
  return {
    command,
    cpus: positive('--cpus', values.cpus),
    memory: values.memory,
    timeoutSeconds: positive('--timeout', values.timeout),
    cpuModel: values['cpu-model'],
    cache9p: cache as BoxOptions['cache9p'],
    kvmAmdParams: values['kvm-amd'],
  };
}

async function main(): Promise<number> {
  let options: BoxOptions | null;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`nodevmm-box: ${(error as Error).message}\n${USAGE}`);
    return USAGE_STATUS;
  }
  if (options === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  return (await runInBox(options)).status;
}

process.exitCode = await main();
