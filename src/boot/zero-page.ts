// struct boot_params, the "zero page" a bzImage's 64-bit entry finds through RSI
// (arch/x86/include/uapi/asm/bootparam.h): zeroed, with the image's setup header copied in at 0x1F1
// and the loader's fields filled in as Documentation/arch/x86/boot.rst asks.
import type { E820Entry } from './e820.js';
import type { GuestRam } from './guest-ram.js';
import { ZERO_PAGE_ADDRESS, ZERO_PAGE_SIZE } from './memory-layout.js';
import {
  LoadFlag,
  SETUP_HEADER_ROOM_END,
  SETUP_HEADER_START,
  SetupHeaderField,
  type SetupHeader,
} from './setup-header.js';

/** boot_params fields outside the setup header. */
export const BootParamsField = {
  ACPI_RSDP_ADDR: 0x070, // u64 (2.14+)
  EXT_RAMDISK_IMAGE: 0x0c0, // u32: bits 63..32 of ramdisk_image
  EXT_RAMDISK_SIZE: 0x0c4,
  EXT_CMD_LINE_PTR: 0x0c8,
  E820_ENTRIES: 0x1e8, // u8
  SENTINEL: 0x1ef, // u8: nonzero tells Linux the loader did not clear boot_params
  E820_TABLE: 0x2d0, // struct boot_e820_entry[128]
} as const;

export const BOOT_PARAMS_SIZE = ZERO_PAGE_SIZE;
/** E820_MAX_ENTRIES_ZEROPAGE */
export const ZERO_PAGE_E820_MAX_ENTRIES = 128;
/** struct boot_e820_entry, packed: u64 addr, u64 size, u32 type */
export const ZERO_PAGE_E820_ENTRY_SIZE = 20;

/** type_of_loader 0xFF: "undefined", for loaders without an assigned id. */
export const LOADER_TYPE_UNDEFINED = 0xff;
/**
 * heap_end_ptr as boot.rst's example loader sets it for a kernel loaded high (end of the setup heap
 * at 0xE000 in the real-mode segment, minus 0x200). Only the 16-bit setup code reads it, and the
 * 64-bit entry skips that code; it is set so the zero page reads like any loader's.
 */
export const HEAP_END_PTR = 0xe000 - 0x200;

export interface ZeroPageFields {
  /** where the protected-mode kernel was put (code32_start) */
  loadAddress: number;
  cmdlineAddress: number;
  initramfs?: { address: number; size: number };
  memoryMap: readonly E820Entry[];
  /** 0 for none */
  rsdpAddress: number;
}

/** Writes boot_params at ZERO_PAGE_ADDRESS and returns that address. Inputs are checked by the caller. */
export function writeZeroPage(ram: GuestRam, image: Uint8Array, header: SetupHeader, fields: ZeroPageFields): number {
  const at = (offset: number) => ZERO_PAGE_ADDRESS + offset;
  const f = SetupHeaderField;
  ram.fill(ZERO_PAGE_ADDRESS, BOOT_PARAMS_SIZE);
  // A header claiming to run past boot_params' room for it would overwrite the fields that follow.
  ram.write(at(SETUP_HEADER_START), image.subarray(SETUP_HEADER_START, Math.min(header.headerEnd, SETUP_HEADER_ROOM_END)));

  ram.writeU8(at(f.TYPE_OF_LOADER), LOADER_TYPE_UNDEFINED);
  ram.writeU8(at(f.LOADFLAGS), header.loadflags | LoadFlag.CAN_USE_HEAP);
  ram.writeU16(at(f.HEAP_END_PTR), HEAP_END_PTR);
  // boot.rst: a loader that puts a relocatable kernel elsewhere than 1 MiB updates code32_start.
  ram.writeU32(at(f.CODE32_START), fields.loadAddress);
  ram.writeU32(at(f.CMD_LINE_PTR), fields.cmdlineAddress);
  ram.writeU32(at(f.RAMDISK_IMAGE), fields.initramfs?.address ?? 0);
  ram.writeU32(at(f.RAMDISK_SIZE), fields.initramfs?.size ?? 0);
  ram.writeU64(at(f.SETUP_DATA), 0); // no setup_data list, whatever the image held there
  ram.writeU64(at(BootParamsField.ACPI_RSDP_ADDR), fields.rsdpAddress);

  ram.writeU8(at(BootParamsField.E820_ENTRIES), fields.memoryMap.length);
  fields.memoryMap.forEach((entry, i) => {
    const e = at(BootParamsField.E820_TABLE + i * ZERO_PAGE_E820_ENTRY_SIZE);
    ram.writeU64(e, entry.addr);
    ram.writeU64(e + 8, entry.size);
    ram.writeU32(e + 16, entry.type);
  });
  return ZERO_PAGE_ADDRESS;
}
