// The nested-KVM box: runs a command where /dev/kvm exists, on a machine that has none. QEMU's TCG
// emulates an AMD CPU with SVM and nested paging; Debian's generic kernel loads kvm_amd in it; this
// machine's / is shared into it over 9p, and the command runs chrooted there, in the same working
// directory, with the same environment. scripts/box/README.md has the whole picture.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, freemem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeJob } from './job.js';
import { repoRoot } from './repo.js';
import { UP_MARKER, findTrouble, logTail, type Trouble } from './kernel-log.js';
import { askMonitor, describeRips, monitorArgs } from './monitor.js';

/**
 * Exit statuses of the box itself, beside the command's own (timeout(1)'s and a shell's conventions).
 * FAULTED: the box's own kernel stopped making progress under the emulator: its heartbeat stopped
 * (its CPUs froze), or it reported a lockup, a stall or a crash (docs/DECISIONS.md, "The box's freeze").
 */
export const BoxStatus = { TIMED_OUT: 124, BOX_FAILED: 125, FAULTED: 126 } as const;

/** After the kernel reports trouble, how long its stack traces get to reach the log before the stop. */
const TRACE_GRACE_MS = 8000;

/** The box's /init writes its kernel log at least every 10 s; this long a silence is a frozen box. */
export const FROZEN_AFTER_SECONDS = 90;

export const DEFAULT_KVM_AMD_PARAMS = 'npt=0';

export interface BoxOptions {
  command: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** the box's vCPUs (default: this machine's CPUs) */
  cpus?: number;
  /** the box's RAM in QEMU's -m syntax (default 8G, or half of the free memory if that is less) */
  memory?: string;
  /** the whole run, boot included (default 1800 s) */
  timeoutSeconds?: number;
  /** until the box's /init reports /dev/kvm ready (default 120 s) */
  bootTimeoutSeconds?: number;
  /** QEMU's -cpu (default qemu64,+svm,+npt); the box's kernel needs svm and npt for kvm_amd */
  cpuModel?: string;
  /**
   * kvm_amd's module parameters in the box (default `npt=0`, or NODEVMM_BOX_KVM_AMD): with TCG's
   * nested paging, Linux guests corrupted the box's kernel (docs/DECISIONS.md); shadow paging did not
   */
  kvmAmdParams?: string;
  /** the 9p share's cache mode inside the box (default loose: docs/DECISIONS.md) */
  cache9p?: 'loose' | 'mmap' | 'none';
  /** where the command's output goes (default process.stdout) */
  output?: NodeJS.WritableStream;
  /** progress and failure reports (default: standard error, prefixed "nodevmm-box: ") */
  log?: (line: string) => void;
  /** report failures only, no progress */
  quiet?: boolean;
}

export interface BoxResult {
  /** the command's exit status, or a BoxStatus */
  status: number;
  /** why the box itself failed or was stopped, when it was */
  failure?: string;
  trouble?: Trouble;
  bootSeconds?: number;
  seconds: number;
  /** the box's kernel log, kept on the host when the box failed */
  kernelLogPath?: string;
}

interface Prepared {
  BOX_KERNEL: string;
  BOX_INITRAMFS: string;
  BOX_QEMU: string;
  BOX_KERNEL_RELEASE: string;
}

/** Runs scripts/box/prepare.sh (installs QEMU, fetches and packs the kernel, cached). */
function prepare(root: string): Prepared {
  const run = spawnSync('sh', [join(root, 'scripts', 'box', 'prepare.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.error) throw new Error(`cannot run scripts/box/prepare.sh: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`preparing the box failed (scripts/box/prepare.sh exited with status ${run.status}; its message is above)`);
  const values = Object.fromEntries(
    run.stdout
      .split('\n')
      .map((line) => /^(BOX_\w+)='?(.*?)'?$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  for (const key of ['BOX_KERNEL', 'BOX_INITRAMFS', 'BOX_QEMU', 'BOX_KERNEL_RELEASE']) {
    if (!values[key]) throw new Error(`scripts/box/prepare.sh printed no ${key}`);
  }
  return values as unknown as Prepared;
}

function defaultMemory(): string {
  const halfFreeMiB = Math.floor(freemem() / 2 / (1 << 20));
  return halfFreeMiB >= 8192 ? '8G' : `${Math.max(1024, halfFreeMiB)}M`;
}

/** The box kernel's text symbols, beside it in the cache: written by the box's /init when missing. */
function kallsymsPath(prepared: Prepared): string {
  return join(dirname(prepared.BOX_KERNEL), 'kallsyms');
}

export function qemuArgs(prepared: Prepared, jobDir: string, options: Required<Pick<BoxOptions, 'cpus' | 'memory' | 'cpuModel' | 'cache9p' | 'kvmAmdParams'>>): string[] {
  // loglevel=5: the boot's info messages cost ~0.6 s on an emulated UART; warnings and errors (a soft
  // lockup's stack, an oops) still print.
  // nokaslr: a frozen box's registers read against the symbols its first run saved (kallsymsPath).
  const cmdline = ['console=ttyS0', 'loglevel=5', 'panic=-1', 'nokaslr', `box_job=${join(jobDir, 'job.sh')}`, `box_9p_cache=${options.cache9p}`];
  if (!existsSync(kallsymsPath(prepared))) cmdline.push(`box_kallsyms=${kallsymsPath(prepared)}`);
  if (options.kvmAmdParams) cmdline.push(`box_kvm_amd=${options.kvmAmdParams.trim().split(/\s+/).join(',')}`);
  return [
    ...['-accel', 'tcg,thread=multi', '-cpu', options.cpuModel, '-smp', String(options.cpus), '-m', options.memory],
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot'],
    ...['-kernel', prepared.BOX_KERNEL, '-initrd', prepared.BOX_INITRAMFS, '-append', cmdline.join(' ')],
    // ttyS0: the box's kernel log, to a file; ttyS1: the command's output, on QEMU's stdout.
    ...['-chardev', `file,id=klog,path=${join(jobDir, 'kernel.log')}`, '-serial', 'chardev:klog'],
    ...['-chardev', 'stdio,id=out,signal=off', '-serial', 'chardev:out'],
    ...['-virtfs', 'local,path=/,mount_tag=host,security_model=passthrough,multidevs=remap'],
    ...monitorArgs(join(jobDir, 'monitor.sock')),
  ];
}

export async function runInBox(options: BoxOptions): Promise<BoxResult> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`nodevmm-box: ${line}\n`));
  const progress = options.quiet ? (): void => {} : log;
  const output = options.output ?? process.stdout;
  const started = Date.now();
  const seconds = (): number => (Date.now() - started) / 1000;
  const settings = {
    cpus: options.cpus ?? availableParallelism(),
    memory: options.memory ?? defaultMemory(),
    cpuModel: options.cpuModel ?? 'qemu64,+svm,+npt',
    cache9p: options.cache9p ?? 'loose',
    kvmAmdParams: options.kvmAmdParams ?? process.env.NODEVMM_BOX_KVM_AMD ?? DEFAULT_KVM_AMD_PARAMS,
  };
  const timeoutSeconds = options.timeoutSeconds ?? 1800;
  const bootTimeoutSeconds = options.bootTimeoutSeconds ?? 120;

  let prepared: Prepared;
  try {
    prepared = prepare(repoRoot());
  } catch (error) {
    log((error as Error).message);
    return { status: BoxStatus.BOX_FAILED, failure: (error as Error).message, seconds: seconds() };
  }
  const jobDir = mkdtempSync(join(tmpdir(), 'nodevmm-box-'));
  if (/\s/.test(jobDir)) throw new Error(`the box's job directory ${jobDir} has white space in it: set TMPDIR to a plain path`);
  writeJob(join(jobDir, 'job.sh'), { cwd: options.cwd ?? process.cwd(), command: options.command, env: options.env ?? process.env });
  const kernelLogPath = join(jobDir, 'kernel.log');
  const kernelLog = (): string => (existsSync(kernelLogPath) ? readFileSync(kernelLogPath, 'latin1') : '');
  progress(`starting: QEMU TCG, ${settings.cpus} vCPUs (${settings.cpuModel}), ${settings.memory}, kernel ${prepared.BOX_KERNEL_RELEASE}, kvm_amd ${settings.kvmAmdParams || 'defaults'}; time limit ${timeoutSeconds} s`);

  const qemu = spawn(prepared.BOX_QEMU, qemuArgs(prepared, jobDir, settings), { stdio: ['ignore', 'pipe', 'pipe'] });
  let qemuStderr = '';
  qemu.stdout.on('data', (chunk: Buffer) => output.write(chunk));
  qemu.stderr.on('data', (chunk: Buffer) => (qemuStderr += chunk.toString()));

  let bootSeconds: number | undefined;
  let stopped: { status: number; failure: string; trouble?: Trouble } | null = null;
  const stop = (status: number, failure: string, trouble?: Trouble): void => {
    if (stopped) return;
    stopped = { status, failure, trouble };
    qemu.kill('SIGTERM');
    setTimeout(() => qemu.kill('SIGKILL'), 5000).unref();
  };
  // A faulted box: its registers into the job directory and the log, then the stop.
  let faulting = false;
  const faulted = async (why: string, trouble?: Trouble): Promise<void> => {
    faulting = true;
    const registers = await askMonitor(join(jobDir, 'monitor.sock'), ['info cpus', 'info registers -a']);
    const path = join(jobDir, 'fault-registers.txt');
    writeFileSync(path, registers);
    const rips = describeRips(registers, kallsymsPath(prepared));
    if (trouble) await new Promise((resolve) => setTimeout(resolve, TRACE_GRACE_MS)); // the kernel's stack traces
    stop(BoxStatus.FAULTED, `${why}; ${rips.join('; ') || 'no registers from its monitor'} (all registers in ${path})`, trouble);
  };
  let logLength = 0;
  let lastGrowth = 0;
  // The kernel log is a file QEMU appends to; a look twice a second finds the markers in time.
  const watch = setInterval(() => {
    const text = kernelLog();
    if (text.length !== logLength) [logLength, lastGrowth] = [text.length, seconds()];
    const silent = seconds() - lastGrowth;
    if (bootSeconds !== undefined && !faulting && silent > FROZEN_AFTER_SECONDS) void faulted(`the box froze: no heartbeat for ${silent.toFixed(0)} s`);
    if (bootSeconds === undefined && text.includes(UP_MARKER)) {
      bootSeconds = seconds();
      progress(`up in ${bootSeconds.toFixed(1)} s: /dev/kvm ready, running ${options.command.join(' ')}`);
    }
    const trouble = findTrouble(text);
    if (trouble && trouble.kind !== 'init-failed' && !faulting) void faulted(`the box's kernel reports a ${trouble.kind}: ${trouble.line}`, trouble);
    if (bootSeconds === undefined && seconds() > bootTimeoutSeconds) stop(BoxStatus.BOX_FAILED, `the box did not come up within ${bootTimeoutSeconds} s`);
    if (seconds() > timeoutSeconds) stop(BoxStatus.TIMED_OUT, `timed out after ${timeoutSeconds} s`);
  }, 500);
  const onSignal = (signal: NodeJS.Signals): void => stop(signal === 'SIGINT' ? 130 : 143, `stopped by ${signal}`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    qemu.on('error', (error) => resolve({ code: null, error }));
    qemu.on('close', (code) => resolve({ code }));
  });
  clearInterval(watch);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  const statusPath = join(jobDir, 'status');
  const text = kernelLog();
  let result: BoxResult;
  if (stopped !== null) {
    const { status, failure, trouble } = stopped as { status: number; failure: string; trouble?: Trouble };
    result = { status, failure, trouble, bootSeconds, seconds: seconds() };
  } else if (existsSync(statusPath)) {
    result = { status: Number(readFileSync(statusPath, 'utf8').trim()), bootSeconds, seconds: seconds() };
  } else {
    const trouble = findTrouble(text) ?? undefined;
    const why = exit.error
      ? `cannot start ${prepared.BOX_QEMU}: ${exit.error.message}`
      : trouble
        ? `the box's ${trouble.kind === 'init-failed' ? '/init failed' : `kernel reports a ${trouble.kind}`}: ${trouble.line}`
        : `QEMU exited (status ${exit.code}) without the command's status${qemuStderr ? `: ${qemuStderr.trim()}` : ''}`;
    result = { status: BoxStatus.BOX_FAILED, failure: why, trouble, bootSeconds, seconds: seconds() };
  }
  if (result.failure) {
    log(result.failure);
    if (text) log(`the box's kernel log ends:\n${logTail(text)}`);
    log(`kernel log kept in ${kernelLogPath}`);
    result.kernelLogPath = kernelLogPath;
  } else {
    rmSync(jobDir, { recursive: true, force: true });
  }
  if (result.failure || !options.quiet) log(`done in ${result.seconds.toFixed(1)} s${bootSeconds !== undefined ? ` (box up in ${bootSeconds.toFixed(1)} s)` : ''}: status ${result.status}`);
  return result;
}
