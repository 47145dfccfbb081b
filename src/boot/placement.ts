// Checks shared by the kernel loaders (pvh.ts, bzimage.ts) before they write anything: that what they
// place lands in RAM clear of the boot areas, and that the memory map and RSDP address they hand over
// make sense for this guest; and where to put data placed high in RAM (the initramfs).
import { E820Type, type E820Entry } from './e820.js';
import type { GuestRam } from './guest-ram.js';
import { alignDown, alignUp, BOOT_AREAS, hex, overlaps, PAGE_SIZE } from './memory-layout.js';

/** RSDP of ACPI 2.0 and later */
const RSDP_SIZE = 36;

/** Throws unless [start, start + length) is RAM clear of every boot area. */
export function checkPlacement(ram: GuestRam, what: string, start: number, length: number): void {
  const range = `[${hex(start)}, ${hex(start + length)})`;
  if (!ram.contains(start, length)) throw new RangeError(`${what} ${range} lies outside guest RAM`);
  const clash = BOOT_AREAS.find((area) => overlaps(start, start + length, area.start, area.end));
  if (clash !== undefined) {
    throw new RangeError(`${what} ${range} overlaps the ${clash.name} [${hex(clash.start)}, ${hex(clash.end)})`);
  }
}

/**
 * Throws unless the map is non-empty, has at most `maxEntries` well-formed entries, and every entry
 * typed RAM is backed by guest RAM. `protocol` names the boot path in the message ("PVH boot").
 */
export function checkMemoryMap(ram: GuestRam, map: readonly E820Entry[], maxEntries: number, protocol: string): void {
  if (map.length === 0) throw new RangeError('the memory map is empty');
  if (map.length > maxEntries) {
    throw new RangeError(`the memory map has ${map.length} entries; ${protocol} passes at most ${maxEntries}`);
  }
  for (const e of map) {
    if (!Number.isSafeInteger(e.addr) || !Number.isSafeInteger(e.size) || e.addr < 0 || e.size <= 0) {
      throw new RangeError(`memory map entry {addr ${e.addr}, size ${e.size}} is malformed`);
    }
    if (e.type === E820Type.RAM && !ram.contains(e.addr, e.size)) {
      throw new RangeError(`memory map entry [${hex(e.addr)}, ${hex(e.addr + e.size)}) is typed RAM but not backed by guest RAM`);
    }
  }
}

/** The RSDP address to hand over: 0 when absent (no ACPI), else one whose RSDP lies in RAM. */
export function checkRsdpAddress(ram: GuestRam, rsdpAddress: number | undefined): number {
  const address = rsdpAddress ?? 0;
  if (address !== 0 && !(Number.isSafeInteger(address) && ram.contains(address, RSDP_SIZE))) {
    throw new RangeError(`RSDP address ${hex(address)} is not in guest RAM`);
  }
  return address;
}

/**
 * The highest page-aligned address at which `size` bytes fit in [lowest, top), for data the kernel
 * finds through a pointer (the initramfs): placing it high leaves the room just past the kernel image
 * free for the kernel to grow into. Throws when it does not fit; `limits` says what bounds the range.
 */
export function placeHigh(
  ram: GuestRam,
  what: string,
  size: number,
  range: { lowest: number; top: number; limits: string },
): number {
  if (size === 0) throw new RangeError(`${what} is empty`);
  const lowest = alignUp(range.lowest, PAGE_SIZE);
  const address = alignDown(range.top - size, PAGE_SIZE);
  if (address < lowest) {
    throw new RangeError(
      `${what} of ${size} bytes does not fit between ${hex(lowest)} and ${hex(range.top)} (${range.limits})`,
    );
  }
  checkPlacement(ram, what, address, size);
  return address;
}
