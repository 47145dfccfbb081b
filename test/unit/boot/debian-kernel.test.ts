// Parses and loads Debian's cloud kernel when the project's download script has put it under .cache/
// (any vmlinuz-* there); skipped otherwise, since unit tests must not need the network.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { loadBzImage, parseBzImagePayload, parseSetupHeader } from '../../../src/boot/bzimage.js';
import { buildE820 } from '../../../src/boot/e820.js';
import { GuestRam } from '../../../src/boot/guest-ram.js';
import { MiB, ramRegions } from '../../../src/boot/memory-layout.js';
import { detectPayload } from '../../../src/boot/payload.js';
import { XLoadFlag } from '../../../src/boot/setup-header.js';

// Only .cache/linux: the rest of .cache (libvirt's build tree) is large and holds no kernel.
const cacheDir = fileURLToPath(new URL('../../../../.cache/linux', import.meta.url));

function findKernel(): string | undefined {
  if (!existsSync(cacheDir)) return undefined;
  const names = readdirSync(cacheDir, { recursive: true, encoding: 'utf8' });
  const kernels = names.filter((name) => basename(name).startsWith('vmlinuz')).sort();
  return kernels.length === 0 ? undefined : join(cacheDir, kernels[kernels.length - 1]);
}

const kernelPath = findKernel();
// Unit tests need no network, so without a downloaded kernel this is a declared skip, named as one
// (.ci/run downloads the kernel first, so CI always runs it).
const kernelTest = kernelPath === undefined ? test.skip : test;
const unfetched = kernelPath === undefined ? ' (SKIPPED: no vmlinuz-* under .cache/linux; npm run guest:linux fetches one)' : '';

kernelTest(`a Debian kernel from .cache parses and loads as a bzImage${unfetched}`, (t) => {
  const path = kernelPath!;
  const image = new Uint8Array(readFileSync(path));
  t.is(detectPayload(image), 'bzimage');
  const header = parseSetupHeader(image);
  const payload = parseBzImagePayload(image, header);
  t.log(`${basename(path)}: protocol ${header.versionText}, ${header.kernelVersion ?? 'no version string'}`);
  t.log(
    `payload ${payload.format}, ${payload.bytes.length} bytes -> ${payload.uncompressedSize}; ` +
      `pref_address 0x${header.prefAddress.toString(16)}, init_size 0x${header.initSize.toString(16)}`,
  );
  t.true(header.version >= 0x020f, `protocol ${header.versionText} is at least 2.15`);
  t.not(header.xloadflags & XLoadFlag.KERNEL_64, 0);
  t.true(header.relocatable);
  t.not(payload.format, 'unknown');
  t.true(payload.uncompressedSize > payload.bytes.length);

  const ramSize = 256 * MiB;
  const ram = GuestRam.allocate(ramRegions(ramSize));
  const initramfs = new Uint8Array(4096).fill(0x30);
  const boot = loadBzImage(image, ram, { cmdline: 'console=ttyS0', initramfs, memoryMap: buildE820(ramSize), rsdpAddress: 0xa0000 });
  t.is(boot.entry, boot.loadAddress + 0x200);
  t.is(boot.loadAddress, header.prefAddress);
  t.true(boot.initramfsAddress! >= boot.kernelEnd);
  t.deepEqual(ram.read(boot.loadAddress, 4096), image.subarray(header.setupSize, header.setupSize + 4096));
  t.is(ram.readU16(0x7000 + 0x1fe), 0xaa55);
  t.is(ram.readU32(0x7000 + 0x202), 0x53726448); // "HdrS"
  t.is(ram.readU32(0x7000 + 0x228), 0x20000);
  t.is(ram.readU32(0x7000 + 0x218), boot.initramfsAddress!);
});
