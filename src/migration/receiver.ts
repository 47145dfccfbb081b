// The destination side of a live migration: it answers each request of the source in the order the
// protocol fixes (Start, Config, Memory…, State, Complete), and answers anything else, or anything out
// of bounds, with an Error and the end of the connection. Nothing the peer sends is trusted: lengths
// are bounded before anything is allocated, and RAM is written only inside guest RAM's ranges.
import { MigrationError } from './errors.js';
import type { MigrationChannel } from './channel.js';
import {
  Command,
  MAX_JSON_BYTES,
  MAX_MEMORY_RANGES,
  MIGRATION_PROTOCOL_VERSION,
  Status,
  boundedLength,
  commandName,
  decodeRanges,
  startVersion,
  type MemoryRange,
} from './protocol.js';
import { parseConfigDocument, parseStateDocument, type StateDocument } from './documents.js';

/** Guest RAM made for the received config, written in place by Memory commands. */
export interface ReceivedRam {
  /** the host bytes for a range inside one RAM region, or null if the range is not inside guest RAM */
  view(range: MemoryRange): Uint8Array | null;
}

/** What the receiver needs of the VMM that takes the VM. */
export interface MigrationTarget {
  /** checks the VmConfig and makes RAM (and threads) for it; nothing runs yet */
  prepare(vmConfig: unknown): Promise<ReceivedRam>;
  /** builds the VM from the state and the RAM received; still not running */
  build(state: StateDocument): Promise<void>;
}

/** Views of RAM (`buffer`, laid out in `regions`) for the ranges a Memory command names: inside one region each, else none. */
export function ramViews(buffer: ArrayBuffer, regions: ReadonlyArray<{ gpa: number; hostOffset: number; size: number }>): ReceivedRam {
  return {
    view: ({ gpa, length }) => {
      const region = regions.find((r) => gpa >= r.gpa && gpa + length <= r.gpa + r.size);
      return region ? new Uint8Array(buffer, region.hostOffset + (gpa - region.gpa), length) : null;
    },
  };
}

type Phase = 'start' | 'config' | 'memory' | 'complete';

const refuse = (message: string) => new MigrationError(message);

/** Receives one migration; resolves with the state once Complete is answered. */
export async function receiveMigration(channel: MigrationChannel, target: MigrationTarget): Promise<StateDocument> {
  let phase: Phase = 'start';
  let ram: ReceivedRam | null = null;
  let state: StateDocument | null = null;
  try {
    for (;;) {
      const request = await channel.readRequest();
      const name = commandName(request.command);
      switch (request.command) {
        case Command.Start: {
          if (phase !== 'start') throw refuse('Start: the migration has started already');
          const version = startVersion(request);
          if (version !== MIGRATION_PROTOCOL_VERSION) throw refuse(`Start: protocol version ${version}; this nodevmm speaks version ${MIGRATION_PROTOCOL_VERSION}`);
          if (request.length !== 0n) throw refuse('Start: carries no payload');
          phase = 'config';
          break;
        }
        case Command.Config: {
          if (phase !== 'config') throw refuse(`Config: out of order (expected ${phase})`);
          const document = parseConfigDocument(await channel.readExactly(boundedLength(request, MAX_JSON_BYTES, name)));
          ram = await target.prepare(document.vm_config);
          phase = 'memory';
          break;
        }
        case Command.Memory: {
          if (phase !== 'memory' || !ram) throw refuse(`Memory: out of order (expected ${phase})`);
          const table = await channel.readExactly(boundedLength(request, MAX_MEMORY_RANGES * 16, name));
          const received = ram;
          const ranges = decodeRanges(table, (range) => received.view(range) !== null);
          for (const range of ranges) await channel.readInto(received.view(range)!);
          break;
        }
        case Command.State: {
          if (phase !== 'memory') throw refuse(`State: out of order (expected ${phase})`);
          state = parseStateDocument(await channel.readExactly(boundedLength(request, MAX_JSON_BYTES, name)));
          await target.build(state);
          phase = 'complete';
          break;
        }
        case Command.Complete: {
          if (phase !== 'complete' || !state) throw refuse(`Complete: out of order (expected ${phase})`);
          await channel.respond(Status.Ok);
          return state;
        }
        case Command.Abandon:
          await channel.respond(Status.Ok).catch(() => {});
          throw refuse('the source abandoned the migration');
        default:
          throw refuse(`${name}: not supported`);
      }
      await channel.respond(Status.Ok);
    }
  } catch (error) {
    // Tell the peer, if it still listens, then hang up: a refused request ends the migration.
    const reason = Buffer.from((error as Error).message.slice(0, 1024));
    await Promise.race([channel.respond(Status.Error, reason).catch(() => {}), new Promise((resolve) => setTimeout(resolve, 500))]);
    channel.close();
    throw error instanceof MigrationError ? error : new MigrationError((error as Error).message, { cause: error });
  }
}
