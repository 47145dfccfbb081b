// Guest RAM as the loaders see it: reads and writes by guest physical address, bounds-checked.
//
// Each access must lie inside one RAM region. The regions from ramRegions() are never adjacent (the
// MMIO hole separates them), so a range that crosses a region's end always touches unbacked memory:
// it throws instead of being split.
import { hex, type RamRegion } from './memory-layout.js';

interface BackedRegion extends RamRegion {
  end: number;
  bytes: Uint8Array;
  view: DataView;
}

/**
 * How the host memory behind the regions is given:
 * - an ArrayBuffer or Uint8Array: the one host mapping, each region at its hostOffset;
 * - one Uint8Array per region (hostOffset ignored).
 * Node 20 caps a typed array at 4 GiB: a single Uint8Array cannot cover a guest above 4 GiB, while an
 * ArrayBuffer or per-region views can, as long as each region is at most 4 GiB (guests up to 7 GiB).
 */
export type GuestMemory = ArrayBufferLike | Uint8Array | readonly Uint8Array[];

const U8_MAX = 0xff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

export class GuestRam {
  readonly regions: readonly RamRegion[];
  private readonly backed: BackedRegion[];

  constructor(memory: GuestMemory, regions: readonly RamRegion[]) {
    if (regions.length === 0) throw new RangeError('guest RAM needs at least one region');
    this.regions = regions.map((r) => ({ ...r }));
    this.backed = regions.map((region, i) => backRegion(memory, region, i));
    checkDisjoint(this.backed);
  }

  /** Fresh zeroed RAM in the process heap, for tests and tools (the VMM wraps its KVM mapping). */
  static allocate(regions: readonly RamRegion[]): GuestRam {
    const end = Math.max(...regions.map((r) => r.hostOffset + r.size));
    return new GuestRam(new ArrayBuffer(end), regions);
  }

  /** Total bytes of RAM. */
  get size(): number {
    return this.regions.reduce((sum, r) => sum + r.size, 0);
  }

  /** True when every byte of [gpa, gpa + length) is RAM within one region. */
  contains(gpa: number, length = 1): boolean {
    return isAddress(gpa) && isLength(length) && this.find(gpa, length) !== undefined;
  }

  /** A view of guest memory (no copy): writes through it reach the guest. */
  read(gpa: number, length: number): Uint8Array {
    const { region, at } = this.locate(gpa, length);
    return region.bytes.subarray(at, at + length);
  }

  write(gpa: number, bytes: Uint8Array): void {
    const { region, at } = this.locate(gpa, bytes.length);
    region.bytes.set(bytes, at);
  }

  fill(gpa: number, length: number, value = 0): void {
    checkUint(value, U8_MAX, 'u8');
    const { region, at } = this.locate(gpa, length);
    region.bytes.fill(value, at, at + length);
  }

  readU8(gpa: number): number {
    const { region, at } = this.locate(gpa, 1);
    return region.view.getUint8(at);
  }

  readU16(gpa: number): number {
    const { region, at } = this.locate(gpa, 2);
    return region.view.getUint16(at, true);
  }

  readU32(gpa: number): number {
    const { region, at } = this.locate(gpa, 4);
    return region.view.getUint32(at, true);
  }

  readU64(gpa: number): bigint {
    const { region, at } = this.locate(gpa, 8);
    return region.view.getBigUint64(at, true);
  }

  writeU8(gpa: number, value: number): void {
    checkUint(value, U8_MAX, 'u8');
    const { region, at } = this.locate(gpa, 1);
    region.view.setUint8(at, value);
  }

  writeU16(gpa: number, value: number): void {
    checkUint(value, U16_MAX, 'u16');
    const { region, at } = this.locate(gpa, 2);
    region.view.setUint16(at, value, true);
  }

  writeU32(gpa: number, value: number): void {
    checkUint(value, U32_MAX, 'u32');
    const { region, at } = this.locate(gpa, 4);
    region.view.setUint32(at, value, true);
  }

  writeU64(gpa: number, value: bigint | number): void {
    const big = BigInt(value);
    if (big < 0n || big > U64_MAX) throw new RangeError(`value ${value} does not fit in u64`);
    const { region, at } = this.locate(gpa, 8);
    region.view.setBigUint64(at, big, true);
  }

  private find(gpa: number, length: number): BackedRegion | undefined {
    // A zero-length range counts as inside when its address is in [gpa, end], like a slice bound.
    return this.backed.find((r) => gpa >= r.gpa && gpa + length <= r.end);
  }

  private locate(gpa: number, length: number): { region: BackedRegion; at: number } {
    if (!isAddress(gpa) || !isLength(length)) {
      throw new RangeError(`invalid guest memory access: address ${gpa}, length ${length}`);
    }
    const region = this.find(gpa, length);
    if (region === undefined) {
      throw new RangeError(
        `guest memory access [${hex(gpa)}, ${hex(gpa + length)}) (${length} bytes at ${hex(gpa)}) is outside guest RAM ` +
          `(${this.describe()})`,
      );
    }
    return { region, at: gpa - region.gpa };
  }

  private describe(): string {
    return this.backed.map((r) => `[${hex(r.gpa)}, ${hex(r.end)})`).join(', ');
  }
}

function isAddress(gpa: number): boolean {
  return Number.isSafeInteger(gpa) && gpa >= 0;
}

function isLength(length: number): boolean {
  return Number.isSafeInteger(length) && length >= 0;
}

function checkUint(value: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`value ${value} does not fit in ${name}`);
  }
}

function backRegion(memory: GuestMemory, region: RamRegion, index: number): BackedRegion {
  const { gpa, size, hostOffset } = region;
  if (!isAddress(gpa) || !isLength(size) || size === 0 || !isAddress(hostOffset)) {
    throw new RangeError(`RAM region ${index} is malformed: gpa ${gpa}, size ${size}, hostOffset ${hostOffset}`);
  }
  const bytes = isViewList(memory) ? ownView(memory, region, index) : mappedView(memory, region, index);
  return { gpa, size, hostOffset, end: gpa + size, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

function checkDisjoint(regions: readonly BackedRegion[]): void {
  const sorted = [...regions].sort((a, b) => a.gpa - b.gpa);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].gpa < sorted[i - 1].end) {
      throw new RangeError(`RAM regions at ${hex(sorted[i - 1].gpa)} and ${hex(sorted[i].gpa)} overlap`);
    }
  }
}

function isViewList(memory: GuestMemory): memory is readonly Uint8Array[] {
  return Array.isArray(memory);
}

function ownView(views: readonly Uint8Array[], region: RamRegion, index: number): Uint8Array {
  const own = views[index];
  if (own === undefined || own.byteLength !== region.size) {
    throw new RangeError(`RAM region ${index} needs a ${region.size}-byte view, got ${own?.byteLength ?? 'none'}`);
  }
  return own;
}

function mappedView(memory: ArrayBufferLike | Uint8Array, region: RamRegion, index: number): Uint8Array {
  const { gpa, size, hostOffset } = region;
  if (hostOffset + size > memory.byteLength) {
    throw new RangeError(
      `RAM region ${index} [${hex(gpa)}, ${hex(gpa + size)}) needs host bytes up to ${hex(hostOffset + size)}, ` +
        `but the mapping has ${hex(memory.byteLength)}`,
    );
  }
  return memory instanceof Uint8Array
    ? memory.subarray(hostOffset, hostOffset + size)
    : new Uint8Array(memory, hostOffset, size);
}
