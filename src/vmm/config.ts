// The VM configuration, in Cloud Hypervisor's JSON shape (its OpenAPI VmConfig) so REST clients and
// embedders speak one language, validated in one place with messages that name the field.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { validateRamSize, MiB } from '../boot/memory-layout.js';
import { detectPayload } from '../boot/payload.js';
import { VirtioPlacement } from '../devices/addresses.js';
import { checkOtherFields, checkReadableFile, integerField, invalid, isObject, stringField } from './config-fields.js';
import { parseDisks, parseRng, parseVsock, type DiskConfig, type RngConfig, type VsockConfig } from './device-config.js';
import { parseNets, type NetConfig } from './net-config.js';

import type { ConsoleConfig, ConsoleMode } from '../host/serial-output.js';

export type { ConsoleConfig, ConsoleMode };

export interface VmConfig {
  cpus: { boot_vcpus: number; max_vcpus: number };
  memory: { size: number };
  payload: { kernel: string; cmdline?: string; initramfs?: string };
  serial: ConsoleConfig;
  console: ConsoleConfig;
  /** virtio-blk disks, each with its id (`_disk0`, ... unless given) */
  disks?: DiskConfig[];
  rng?: RngConfig;
  /** virtio-net taps, each with its MAC and id (`_net0`, ... unless given) */
  net?: NetConfig[];
  vsock?: VsockConfig;
}

/** Defaults as Cloud Hypervisor has them: 1 vCPU, 512 MiB, serial to the terminal... nodevmm: 256 MiB. */
export const DEFAULT_MEMORY = 256 * MiB;
export const MAX_VIRTIO_DEVICES = VirtioPlacement.MAX_DEVICES;
export const MAX_VCPUS = 254; // one IOAPIC and 8-bit xAPIC ids, less the IOAPIC's own id

/** The virtio devices a config asks for fit the MMIO slots (vm.create, vm.add-net). */
export function checkVirtioDeviceCount(config: Pick<VmConfig, 'disks' | 'rng' | 'net' | 'vsock' | 'console'>): void {
  const count = (config.disks?.length ?? 0) + (config.rng ? 1 : 0) + (config.net?.length ?? 0) + (config.vsock ? 1 : 0) + (config.console.mode !== 'Off' ? 1 : 0);
  if (count > MAX_VIRTIO_DEVICES) throw invalid(`at most ${MAX_VIRTIO_DEVICES} virtio devices (disks, net, rng, vsock and console), got ${count}`);
}

// Fields of CH's VmConfig nodevmm does not implement yet: refused by name rather than ignored.
const UNSUPPORTED_FIELDS = [
  'balloon', 'fs', 'pmem', 'devices', 'user_devices', 'vdpa', 'sgx_epc',
  'numa', 'tpm', 'landlock_rules', 'pvpanic', 'iommu', 'watchdog', 'pci_segments', 'platform', 'rate_limit_groups',
] as const;
const KNOWN_FIELDS = new Set(['cpus', 'memory', 'payload', 'kernel', 'cmdline', 'initramfs', 'serial', 'console', 'disks', 'rng', 'net', 'vsock']);

function parseConsole(value: unknown, name: string, fallback: ConsoleMode): ConsoleConfig {
  if (value === undefined || value === null) return { mode: fallback };
  if (!isObject(value)) throw invalid(`${name} must be an object with a mode`);
  const modes: ConsoleMode[] = ['Off', 'Null', 'Tty', 'File', 'Socket', 'Pty'];
  const mode = value.mode;
  if (typeof mode !== 'string' || !modes.includes(mode as ConsoleMode)) {
    throw invalid(`${name}.mode must be one of ${modes.join(', ')}`);
  }
  const file = stringField(value.file, `${name}.file`);
  const socket = stringField(value.socket, `${name}.socket`);
  if (mode === 'File' && !file) throw invalid(`${name}.file is required with mode File`);
  if (mode === 'Socket' && !socket) throw invalid(`${name}.socket is required with mode Socket`);
  checkOtherFields(value, name, ['mode', 'file', 'socket'], { iommu: false });
  // The console is the virtio console (hvc0): no socket mode there, as in Cloud Hypervisor.
  if (name === 'console' && mode === 'Socket') throw invalid('console.mode Socket: the virtio console has no socket mode (the serial port has)');
  // A Pty's `file` is where vm.info reports the terminal the VMM made; one given here is that report
  // coming back (a config copied from vm.info), not a request, so it is dropped.
  const keepFile = file && mode !== 'Pty';
  return { mode: mode as ConsoleMode, ...(keepFile ? { file } : {}), ...(socket ? { socket } : {}) };
}

/** Checks the kernel is a payload nodevmm can boot (reads it whole: ELF notes may sit anywhere). */
function checkKernel(path: string): void {
  checkReadableFile(path, 'kernel');
  try {
    detectPayload(new Uint8Array(readFileSync(path)));
  } catch (error) {
    throw invalid(`kernel ${path}: ${(error as Error).message}`);
  }
}

/**
 * Validates a VmConfig (from JSON or from code) and fills defaults. Throws VmmError('invalid-config')
 * naming the field; files are checked now, so a bad path fails here and not at boot.
 */
export function parseVmConfig(input: unknown, options: { checkFiles?: boolean } = {}): VmConfig {
  if (!isObject(input)) throw invalid('VmConfig must be a JSON object');
  for (const field of UNSUPPORTED_FIELDS) {
    if (input[field] !== undefined && input[field] !== null) throw invalid(`${field} is not supported by nodevmm yet`);
  }
  for (const field of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(field) && !(UNSUPPORTED_FIELDS as readonly string[]).includes(field)) {
      throw invalid(`unknown VmConfig field: ${field}`);
    }
  }

  const cpus = input.cpus === undefined ? {} : input.cpus;
  if (!isObject(cpus)) throw invalid('cpus must be an object');
  const boot = cpus.boot_vcpus === undefined ? 1 : integerField(cpus.boot_vcpus, 'cpus.boot_vcpus', 1, MAX_VCPUS);
  const max = cpus.max_vcpus === undefined ? boot : integerField(cpus.max_vcpus, 'cpus.max_vcpus', 1, MAX_VCPUS);
  if (max !== boot) throw invalid('cpus.max_vcpus must equal cpus.boot_vcpus (vCPU hotplug is not supported)');
  checkOtherFields(cpus, 'cpus', ['boot_vcpus', 'max_vcpus'], { kvm_hyperv: false, nested: true });

  const memory = input.memory === undefined ? {} : input.memory;
  if (!isObject(memory)) throw invalid('memory must be an object');
  const size = memory.size === undefined ? DEFAULT_MEMORY : memory.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size)) throw invalid('memory.size must be an integer number of bytes');
  try {
    validateRamSize(size);
  } catch (error) {
    throw invalid(`memory.size: ${(error as Error).message}`);
  }
  if (size > totalmem()) {
    throw invalid(`memory.size ${size} bytes is more than this host has (${totalmem()} bytes)`);
  }
  checkOtherFields(memory, 'memory', ['size'], {
    mergeable: false, shared: false, hugepages: false, prefault: false, thp: true, hotplug_method: 'Acpi',
  });

  // The payload, or the older top-level kernel/cmdline/initramfs form.
  let kernel: string | undefined;
  let cmdline: string | undefined;
  let initramfs: string | undefined;
  if (input.payload !== undefined) {
    if (!isObject(input.payload)) throw invalid('payload must be an object');
    kernel = stringField(input.payload.kernel, 'payload.kernel');
    cmdline = stringField(input.payload.cmdline, 'payload.cmdline');
    initramfs = stringField(input.payload.initramfs, 'payload.initramfs');
    checkOtherFields(input.payload, 'payload', ['kernel', 'cmdline', 'initramfs']);
  } else {
    const legacyPath = (value: unknown, name: string, key: string): string | undefined => {
      if (value === undefined || value === null) return undefined;
      if (!isObject(value)) throw invalid(`${name} must be an object with ${key}`);
      return stringField(value[key], `${name}.${key}`);
    };
    kernel = legacyPath(input.kernel, 'kernel', 'path');
    cmdline = legacyPath(input.cmdline, 'cmdline', 'args');
    initramfs = legacyPath(input.initramfs, 'initramfs', 'path');
  }
  if (!kernel) throw invalid('payload.kernel is required');
  // A restored VM runs without its payload; it needs it again only to reboot.
  if (options.checkFiles !== false) {
    checkKernel(kernel);
    if (initramfs) checkReadableFile(initramfs, 'initramfs');
  }

  const disks = parseDisks(input.disks, options.checkFiles !== false);
  const rng = parseRng(input.rng, options.checkFiles !== false);
  const net = parseNets(input.net);
  const serial = parseConsole(input.serial, 'serial', 'Null');
  const console = parseConsole(input.console, 'console', 'Off');
  if (serial.mode === 'Tty' && console.mode === 'Tty') throw invalid('serial and console cannot both be Tty: the terminal has one input');
  const vsock = parseVsock(input.vsock, options.checkFiles !== false);
  const devices = { ...(disks.length > 0 ? { disks } : {}), ...(rng ? { rng } : {}), ...(net.length > 0 ? { net } : {}), ...(vsock ? { vsock } : {}) };
  checkVirtioDeviceCount({ ...devices, console });

  return {
    cpus: { boot_vcpus: boot, max_vcpus: max },
    memory: { size },
    payload: { kernel, ...(cmdline !== undefined ? { cmdline } : {}), ...(initramfs ? { initramfs } : {}) },
    serial,
    console,
    ...devices,
  };
}
