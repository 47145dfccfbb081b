// The exit record (native/exit_record.h): after each KVM_RUN the addon decodes kvm_run into this
// fixed layout, which JS reads in place. The offsets here must be the addon's: native() compares them
// with the addon's own layout when it loads and refuses a build that disagrees.
import { TWO_32 } from '../util/units.js';

export const RecordLayout = { reason: 0, size: 4, isWrite: 8, count: 12, address: 16, aux: 24, ndata: 32, flags: 36, extra: 40, data: 192 } as const;
export const EXIT_RECORD_SIZE = 192 + 4096;

/** The addon's names for the offsets above, as native/addon.cc exports them. */
const ADDON_NAMES: Readonly<Record<keyof typeof RecordLayout, string>> = {
  reason: 'reason', size: 'accessSize', isWrite: 'isWrite', count: 'count', address: 'address',
  aux: 'aux', ndata: 'ndata', flags: 'flags', extra: 'extra', data: 'data',
};

/** Where the addon's exit record differs from the offsets this code reads, one line each. */
export function exitRecordMismatches(layout: { exitRecord: Readonly<Record<string, number>> }): string[] {
  const found: string[] = [];
  const actual = layout.exitRecord;
  if (actual.size !== EXIT_RECORD_SIZE) found.push(`size: addon ${actual.size}, expected ${EXIT_RECORD_SIZE}`);
  for (const [field, offset] of Object.entries(RecordLayout) as Array<[keyof typeof RecordLayout, number]>) {
    const name = ADDON_NAMES[field];
    if (actual[name] !== offset) found.push(`${name}: addon offset ${actual[name]}, expected ${offset}`);
  }
  return found;
}


/** Typed views over one vCPU's exit record, made once. */
export class ExitRecordView {
  readonly words: Uint32Array;
  readonly data: Uint8Array;
  readonly view: DataView;
  constructor(record: ArrayBuffer) {
    this.words = new Uint32Array(record, 0, RecordLayout.data / 4);
    this.data = new Uint8Array(record, RecordLayout.data);
    this.view = new DataView(record);
  }
  get size(): number { return this.words[RecordLayout.size >> 2]; }
  get isWrite(): boolean { return this.words[RecordLayout.isWrite >> 2] !== 0; }
  get count(): number { return this.words[RecordLayout.count >> 2]; }
  /** port, or guest-physical address (as a number: exact below 2^53) */
  get address(): number {
    const at = RecordLayout.address >> 2;
    return this.words[at] + this.words[at + 1] * TWO_32;
  }
  get aux(): bigint { return this.view.getBigUint64(RecordLayout.aux, true); }
  get ndata(): number { return this.words[RecordLayout.ndata >> 2]; }
  extra(i: number): bigint { return this.view.getBigUint64(RecordLayout.extra + i * 8, true); }

  readValue(at: number, size: number): number {
    const d = this.data;
    switch (size) {
      case 1: return d[at];
      case 2: return d[at] | (d[at + 1] << 8);
      default: return (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16) | (d[at + 3] << 24)) >>> 0;
    }
  }

  writeValue(at: number, size: number, value: number): void {
    const d = this.data;
    d[at] = value;
    if (size >= 2) d[at + 1] = value >>> 8;
    if (size >= 4) {
      d[at + 2] = value >>> 16;
      d[at + 3] = value >>> 24;
    }
  }
}

