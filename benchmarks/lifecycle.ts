// Lifecycle latency, timed by the guest itself: the stamp guests read the ACPI PM timer (3.579545 MHz,
// computed by nodevmm from CLOCK_MONOTONIC) on entry ("boot") and a few times later ("last"), printing
// each, and end one read-and-print after the last, so the ending's time is estimated as the last stamp
// plus the last interval (error: the jitter of one print, a few µs). Host moments (events, process
// exit) are on the same clock and are converted to PM timer ticks to compare.
//   S5 write -> vm/shutdown event, -> `exited` (library), -> process exit (CLI, no flag)
//   reset write -> guest running again (the next boot's first timer read), and -> vm/rebooted
import { pmTimerTicks } from '../src/devices/acpi-pm.js';
import { PM_TIMER_HZ } from '../src/devices/addresses.js';
import { NODEVMM_CLI, guest, helper } from './lib/paths.js';
import { runProcess } from './lib/run-process.js';
import { summarize, type Summary } from './lib/stats.js';

export interface LifecycleOptions {
  runs: number;
  /** reboots per reset run */
  reboots: number;
  log: (line: string) => void;
}

export interface LifecycleResult {
  /** each metric: latency in ns over all runs */
  metrics: Record<string, { values: number[]; summary: Summary }>;
  /** PM timer resolution, ns */
  resolutionNs: number;
}

interface Stamps {
  boot: number;
  /** the "last" stamps in order (at least two) */
  last: number[];
}

const TICK_NS = 1e9 / PM_TIMER_HZ;
const TWO_32 = 0x1_0000_0000;

/** Ticks from `from` to `to` on the 32-bit timer (it wraps every 20 minutes), in ns. */
const ticksToNs = (from: number, to: number): number => (((to - from) % TWO_32) + TWO_32) % TWO_32 * TICK_NS;
/** When the guest made its ending write, in timer ticks. */
function endingTick(s: Stamps): number {
  const [before, last] = s.last.slice(-2);
  return (last + ((last - before + TWO_32) % TWO_32)) % TWO_32;
}
const hostTick = (ns: string | bigint): number => pmTimerTicks(Number(ns));

/** One Stamps per boot that printed all its stamps. */
function parseStamps(serial: string): Stamps[] {
  const out: Stamps[] = [];
  for (const m of serial.matchAll(/(boot|last) ([0-9a-f]{8})/g)) {
    const tick = parseInt(m[2], 16);
    if (m[1] === 'boot') out.push({ boot: tick, last: [] });
    else out[out.length - 1]?.last.push(tick);
  }
  return out.filter((s) => s.last.length >= 2);
}

interface LibraryRun {
  exit: { code: number; reason: string; error?: string };
  events: Array<{ name: string; ns: string }>;
  exitedNs: string;
  serial: string;
}

async function libraryRun(guestName: string, reboots: number): Promise<LibraryRun> {
  const run = await runProcess(process.execPath, [helper('lib/lifecycle-with-library.js'), guest(guestName), String(reboots)]);
  if (run.code !== 0) throw new Error(`lifecycle ${guestName}: exit status ${run.code}\n${run.stderr.trim()}`);
  return JSON.parse(run.stdout) as LibraryRun;
}

export async function measureLifecycle(options: LifecycleOptions): Promise<LifecycleResult> {
  const metrics: Record<string, number[]> = {};
  const add = (name: string, value: number): void => void (metrics[name] ??= []).push(value);

  for (let run = 0; run < options.runs; run++) {
    // library, poweroff: S5 -> vm/shutdown event, -> exited
    const off = await libraryRun('stamp-poweroff', 0);
    const [stamps] = parseStamps(off.serial);
    const s5 = endingTick(stamps);
    const shutdown = off.events.find((e) => e.name === 'vm/shutdown');
    if (shutdown) add('S5 write → vm/shutdown event (library)', ticksToNs(s5, hostTick(shutdown.ns)));
    add('S5 write → exited resolved (library)', ticksToNs(s5, hostTick(off.exitedNs)));

    // CLI, poweroff without --no-shutdown: S5 -> the process has exited
    const cli = await runProcess(process.execPath, [NODEVMM_CLI, '--kernel', guest('stamp-poweroff'), '--memory', 'size=64M']);
    const [cliStamps] = parseStamps(cli.stdout);
    if (cli.code === 0 && cliStamps) add('S5 write → process exit (CLI)', ticksToNs(endingTick(cliStamps), hostTick(cli.exitedAtNs)));

    // library, reset: reset write -> running again, and -> vm/rebooted
    const reset = await libraryRun('stamp-reset', options.reboots);
    const boots = parseStamps(reset.serial);
    const rebooted = reset.events.filter((e) => e.name === 'vm/rebooted');
    for (let i = 0; i + 1 < boots.length; i++) {
      const resetTick = endingTick(boots[i]);
      add('reset write → guest running again', ticksToNs(resetTick, boots[i + 1].boot));
      if (rebooted[i]) add('reset write → vm/rebooted event', ticksToNs(resetTick, hostTick(rebooted[i].ns)));
    }
    options.log(`lifecycle: run ${run + 1}/${options.runs} done`);
  }
  const out: LifecycleResult['metrics'] = {};
  for (const [name, values] of Object.entries(metrics)) out[name] = { values, summary: summarize(values) };
  return { metrics: out, resolutionNs: TICK_NS };
}
