// Puts the payload (kernel, command line, initramfs) into a fresh guest RAM and says how the boot vCPU
// enters it. Runs at every VM build, so a reset boots the payload again from its files.
import { readFile } from 'node:fs/promises';
import type { GuestRam } from '../boot/guest-ram.js';
import type { RamRegion } from '../boot/memory-layout.js';
import { e820FromRegions } from '../boot/e820.js';
import { detectPayload } from '../boot/payload.js';
import { loadPvh } from '../boot/pvh.js';
import { loadBzImage } from '../boot/bzimage.js';
import { elfNotes, parseElf } from '../boot/elf.js';
import type { BootCpuState } from './cpu-setup.js';
import { extractKernel } from './payload-pool.js';

export interface PayloadConfig {
  kernel: string;
  cmdline: string;
  initramfs?: string;
}

export interface LoadOptions {
  /** where the ACPI tables' RSDP is, when the VM has them */
  rsdpAddress?: number;
  /** appended to a Linux kernel's command line (the platform quirks); other payloads never see it */
  linuxCmdline?: readonly string[];
  log?: (message: string) => void;
}

export interface LoadedPayload {
  /** what was booted: a bzImage whose vmlinux could be extracted boots as 'pvh-elf' */
  kind: 'pvh-elf' | 'bzimage';
  /** the command line the kernel got: the user's, with the platform's additions for Linux */
  cmdline: string;
  boot: BootCpuState;
}

/** A Linux vmlinux says so in its notes (Xen GUEST_OS "linux", or a "Linux" note). */
export function isLinuxElf(image: Uint8Array): boolean {
  const XEN_ELFNOTE_GUEST_OS = 6;
  return elfNotes(parseElf(image)).some(
    (note) =>
      note.name === 'Linux' ||
      (note.name === 'Xen' && note.type === XEN_ELFNOTE_GUEST_OS && Buffer.from(note.desc).toString('latin1').startsWith('linux')),
  );
}

/**
 * The command line a Linux payload gets: the user's, then the platform's additions — before a ` -- `
 * if there is one, since what follows it belongs to init.
 */
export function effectiveCmdline(cmdline: string, linux: boolean, extra: readonly string[] = []): string {
  if (!linux || extra.length === 0) return cmdline;
  const split = /(^|\s)--(\s|$)/.exec(cmdline);
  const kernelPart = split ? cmdline.slice(0, split.index) : cmdline;
  const initPart = split ? cmdline.slice(split.index).trimStart() : '';
  return [kernelPart.trim(), ...extra, initPart].filter((part) => part !== '').join(' ');
}

export async function loadPayload(payload: PayloadConfig, ram: GuestRam, regions: readonly RamRegion[], options: LoadOptions = {}): Promise<LoadedPayload> {
  let kernel: Uint8Array = new Uint8Array(await readFile(payload.kernel));
  const initramfs = payload.initramfs ? new Uint8Array(await readFile(payload.initramfs)) : undefined;
  let kind = detectPayload(kernel);
  const linux = kind === 'bzimage' || isLinuxElf(kernel);
  if (kind === 'bzimage') {
    // Boot the vmlinux inside through its PVH note when we can decompress it here.
    const extracted = await extractKernel(payload.kernel);
    if ('vmlinux' in extracted) {
      options.log?.(`bzImage: booting its vmlinux (${extracted.vmlinux.length} bytes, extracted in ${extracted.ms} ms) through the PVH entry`);
      kernel = extracted.vmlinux;
      kind = 'pvh-elf';
    } else {
      options.log?.(`bzImage: booting through the 64-bit entry (${extracted.reason})`);
    }
  }
  const memoryMap = e820FromRegions(regions);
  const cmdline = effectiveCmdline(payload.cmdline, linux, options.linuxCmdline);
  const common = { cmdline, initramfs, memoryMap, rsdpAddress: options.rsdpAddress };
  switch (kind) {
    case 'pvh-elf': {
      const loaded = loadPvh(kernel, ram, common);
      return { kind, cmdline, boot: { mode: 'pvh', entry: loaded.entry, startInfoAddress: loaded.startInfoAddress } };
    }
    case 'bzimage': {
      const loaded = loadBzImage(kernel, ram, common);
      return { kind, cmdline, boot: { mode: 'linux64', entry: loaded.entry, bootParamsAddress: loaded.bootParamsAddress } };
    }
  }
}
