// The source side of a live migration: Start, Config, then pre-copy (all RAM, then what the guest
// dirtied meanwhile, again and again) until what is left would take no longer than the allowed
// downtime, a held guest exit or reset asks to finish, or the time limit says so; then the vCPUs pause
// for the last Memory, the State and Complete. Each step waits for the destination's Ok.
import { MigrationError } from './errors.js';
import { MigrationChannel } from './channel.js';
import { Command, MAX_MEMORY_RANGES, Status, commandName, encodeRanges, encodeRequest, encodeStart, type CommandCode } from './protocol.js';
import { configDocument, encodeDocument, stateDocument, type HeldEvent } from './documents.js';
import type { SavedMachine } from '../vm/machine.js';

export interface RamRun {
  gpa: number;
  hostOffset: number;
  length: number;
}

/** What the sender needs of the VM it migrates. */
export interface MigrationSource {
  vmConfig: unknown;
  /** the VM is Paused already: one copy of its RAM is the final one */
  paused: boolean;
  /**
   * the guest RAM that holds anything, as runs: all a first pass sends, since the destination's
   * RAM starts zero (QEMU skips zero pages likewise; Cloud Hypervisor's receiver takes any ranges)
   */
  writtenRam(): RamRun[];
  ramBytes(hostOffset: number, length: number): Uint8Array;
  /** dirty logging for pre-copy: start, then each collect() hands over what was written since */
  dirtyLog: { start(): void | Promise<void>; stop(): void; collect(): { runs: RamRun[]; pages: number } };
  /** a guest exit or reset is being held: finish at the next iteration boundary */
  holding(): boolean;
  /** stops every vCPU entering the guest (for the final copy) */
  pause(): Promise<void>;
  /** the paused build's state, without RAM */
  saveState(): Promise<Omit<SavedMachine, 'ram'>>;
  /** ends the hold: the held events, which now travel with the VM */
  takeHeld(): HeldEvent[];
  onIteration(id: number): void;
  log(message: string): void;
}

export interface SendOptions {
  downtimeMs: number;
  timeoutS: number;
  timeoutStrategy: 'Cancel' | 'Ignore';
  abort: AbortSignal;
}

export interface SendResult {
  iterations: number;
  bytes: number;
  /** the events handed over (empty if none was held) */
  held: HeldEvent[];
  /** ms from the pause to the destination's Ok for Complete */
  downtimeMs: number;
}

/** One request, its payload parts, then the peer's answer: Ok or a MigrationError. */
async function step(channel: MigrationChannel, command: CommandCode, header: Buffer, parts: readonly Uint8Array[], abort: AbortSignal): Promise<void> {
  await channel.writeAll([header, ...parts], abort);
  const response = await channel.readResponse();
  if (response.length > 0n && response.length <= 4096n) await channel.readExactly(Number(response.length)); // a reason, if the peer sends one
  if (response.status !== Status.Ok) throw new MigrationError(`the destination refused ${commandName(command)} (status ${response.status})`);
}

async function sendDocument(channel: MigrationChannel, command: CommandCode, body: Buffer, abort: AbortSignal): Promise<void> {
  await step(channel, command, encodeRequest(command, body.length), [body], abort);
}

const sumLength = (runs: readonly RamRun[]) => runs.reduce((sum, run) => sum + run.length, 0);

/** Sends `runs` as Memory commands (one, even with no runs: the destination expects each iteration); returns the bytes of RAM sent. */
async function sendMemory(channel: MigrationChannel, source: MigrationSource, runs: readonly RamRun[], abort: AbortSignal): Promise<number> {
  let bytes = 0;
  let first = 0;
  do {
    const batch = runs.slice(first, first + MAX_MEMORY_RANGES);
    const table = encodeRanges(batch.map((run) => ({ gpa: run.gpa, length: run.length })));
    const parts = batch.map((run) => source.ramBytes(run.hostOffset, run.length));
    await step(channel, Command.Memory, encodeRequest(Command.Memory, table.length), [table, ...parts], abort);
    bytes += sumLength(batch);
    first += MAX_MEMORY_RANGES;
  } while (first < runs.length);
  return bytes;
}

/** Migrates the VM over `channel`; the caller tears the VM down on success, resumes it on failure. */
export async function sendMigration(channel: MigrationChannel, source: MigrationSource, options: SendOptions): Promise<SendResult> {
  const { abort } = options;
  const started = performance.now();
  await step(channel, Command.Start, encodeStart(), [], abort);
  await sendDocument(channel, Command.Config, encodeDocument(configDocument(source.vmConfig)), abort);

  let iteration = 0;
  let bytes = 0;
  let finalRuns: RamRun[];
  if (source.paused) {
    finalRuns = source.writtenRam();
  } else {
    await source.dirtyLog.start();
    try {
      finalRuns = await precopy();
    } catch (error) {
      source.dirtyLog.stop();
      throw error;
    }
  }

  const paused = performance.now();
  const phases: Array<[string, number]> = [];
  const mark = (phase: string) => phases.push([phase, performance.now()]);
  if (!source.paused) await source.pause();
  mark('pause');
  try {
    // what pre-copy left dirty, and what the guest wrote until it paused (a page in both goes twice: harmless)
    if (!source.paused) finalRuns = [...finalRuns, ...source.dirtyLog.collect().runs];
  } finally {
    source.dirtyLog.stop();
  }
  source.onIteration(iteration);
  const finalBytes = await sendMemory(channel, source, finalRuns, abort);
  bytes += finalBytes;
  mark(`final copy (${finalBytes} bytes)`);
  const machine = await source.saveState();
  mark('save state');
  const held = source.takeHeld();
  try {
    await sendDocument(channel, Command.State, encodeDocument(stateDocument(machine, held, source.paused)), abort);
    mark('State (the destination builds the VM)');
    await step(channel, Command.Complete, encodeRequest(Command.Complete, 0), [], abort);
    mark('Complete');
  } catch (error) {
    throw Object.assign(error as Error, { held });
  }
  source.log(`migration: downtime phases: ${phases.map(([phase, at], i) => `${phase} ${(at - (i ? phases[i - 1][1] : paused)).toFixed(1)} ms`).join(', ')}`);
  return { iterations: iteration + 1, bytes, held, downtimeMs: performance.now() - paused };

  /** Copies RAM while the guest runs; returns the runs still dirty when it is time to stop and copy. */
  async function precopy(): Promise<RamRun[]> {
    let runs = source.writtenRam();
    for (;;) {
      source.onIteration(iteration);
      const sentAt = performance.now();
      const sent = await sendMemory(channel, source, runs, abort);
      bytes += sent;
      const bytesPerMs = sent / Math.max(performance.now() - sentAt, 0.001);
      iteration++;
      runs = source.dirtyLog.collect().runs;
      const estimateMs = sumLength(runs) / bytesPerMs;
      source.log(`migration: iteration ${iteration - 1} sent ${sent} bytes; ${sumLength(runs)} dirty, about ${estimateMs.toFixed(1)} ms to send`);
      if (estimateMs <= options.downtimeMs || source.holding()) return runs;
      if (performance.now() - started > options.timeoutS * 1000) {
        if (options.timeoutStrategy === 'Cancel') throw new MigrationError(`pre-copy did not converge within timeout_s ${options.timeoutS} (timeout_strategy Cancel)`);
        source.log('migration: timeout_s reached; stopping the VM for the final copy (timeout_strategy Ignore)');
        return runs;
      }
    }
  }
}

/** Best effort: tells the destination to drop what it received, then closes. */
export async function abandon(channel: MigrationChannel): Promise<void> {
  try {
    await Promise.race([channel.write(encodeRequest(Command.Abandon, 0)), new Promise((resolve) => setTimeout(resolve, 1000))]);
  } catch {
    // the connection is gone already
  }
  channel.close('the migration was abandoned');
}
