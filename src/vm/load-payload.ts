// Puts the payload (kernel, command line, initramfs) into a fresh guest RAM and says how the boot vCPU
// enters it. Runs at every VM build, so a reset boots the payload again from its files.
import { readFile } from 'node:fs/promises';
import type { GuestRam } from '../boot/guest-ram.js';
import type { RamRegion } from '../boot/memory-layout.js';
import { e820FromRegions } from '../boot/e820.js';
import { detectPayload } from '../boot/payload.js';
import { loadPvh } from '../boot/pvh.js';
import type { BootCpuState } from './cpu-setup.js';

export interface PayloadConfig {
  kernel: string;
  cmdline: string;
  initramfs?: string;
}

export interface LoadedPayload {
  kind: 'pvh-elf' | 'bzimage';
  boot: BootCpuState;
}

export async function loadPayload(
  payload: PayloadConfig,
  ram: GuestRam,
  regions: readonly RamRegion[],
  rsdpAddress?: number,
): Promise<LoadedPayload> {
  const kernel = new Uint8Array(await readFile(payload.kernel));
  const initramfs = payload.initramfs ? new Uint8Array(await readFile(payload.initramfs)) : undefined;
  const kind = detectPayload(kernel);
  const memoryMap = e820FromRegions(regions);
  switch (kind) {
    case 'pvh-elf': {
      const loaded = loadPvh(kernel, ram, { cmdline: payload.cmdline, initramfs, memoryMap, rsdpAddress });
      return { kind, boot: { mode: 'pvh', entry: loaded.entry, startInfoAddress: loaded.startInfoAddress } };
    }
    case 'bzimage':
      throw new Error(`${payload.kernel}: bzImage kernels are not supported yet; boot a PVH ELF (vmlinux)`);
  }
}
