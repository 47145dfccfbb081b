// KVM_EXIT_INTERNAL_ERROR as the exit record carries it: the instruction bytes of an emulation
// failure (for the fatal message and the platform quirks), and the hook that may complete such exits.
import { KvmInternalError } from './constants.js';
import { RecordLayout, type ExitRecordView } from './exit-record.js';

/** Completes exits the platform cannot do itself (see the platform quirks); true = handled. */
export type ExitCompleter = (reason: number, record: ExitRecordView) => boolean;

/** For an emulation failure with instruction bytes: data[0] = flags, then insn_size and 15 bytes. */
export function emulationBytes(record: ExitRecordView): string | undefined {
  if (Number(record.aux) !== KvmInternalError.EMULATION || record.ndata < 3) return undefined;
  const flags = record.extra(0);
  if ((flags & 1n) === 0n) return undefined; // KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES
  const base = RecordLayout.extra + 8;
  const length = Math.min(record.view.getUint8(base), 15);
  const bytes: string[] = [];
  for (let i = 0; i < length; i++) bytes.push(record.view.getUint8(base + 1 + i).toString(16).padStart(2, '0'));
  return bytes.join(' ');
}
