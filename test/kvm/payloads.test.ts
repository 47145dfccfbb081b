// The payload paths a bzImage can take: its vmlinux extracted on the host and entered through PVH, or
// the Linux boot protocol's 64-bit entry with boot_params, page tables and a 64-bit GDT.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, guestPath, runVmm } from '../helpers/project.js';
import { kvmTest } from '../helpers/kvm-test.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-payloads-'));

/** The tiny bzImage (guests/bzimage64.S) with its payload replaced by a gzip'd PVH ELF. */
function bzImageAround(elf: Uint8Array): string {
  const base = readFileSync(join(ROOT, 'dist', 'guests', 'bzimage64.bzImage'));
  const setupSize = (base[0x1f1] + 1) * 512;
  const payloadOffset = base.readUInt32LE(0x248);
  const gz = gzipSync(elf);
  const kernelSize = Math.ceil((payloadOffset + gz.length) / 16) * 16;
  const image = Buffer.alloc(setupSize + kernelSize);
  base.copy(image, 0, 0, setupSize + payloadOffset);
  gz.copy(image, setupSize + payloadOffset);
  image.writeUInt32LE(gz.length, 0x24c);
  image.writeUInt32LE(kernelSize / 16, 0x1f4);
  const path = join(tmp, 'gzip-pvh.bzImage');
  writeFileSync(path, image);
  return path;
}

kvmTest('a bzImage nodevmm cannot decompress boots through the 64-bit entry with boot_params', async (t) => {
  const run = await runVmm(['--kernel', join(ROOT, 'dist', 'guests', 'bzimage64.bzImage'), '--cmdline', 'console=ttyS0 marker=42', '--quirks', 'off', '-v']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stderr, /booting through the 64-bit entry/);
  t.regex(run.stdout, /nodevmm guest: bzimage64\nboot_params: setup header found, command line: console=ttyS0 marker=42\n/);
});

kvmTest('a bzImage with a gzip payload holding a PVH ELF boots that ELF through PVH', async (t) => {
  const path = bzImageAround(readFileSync(guestPath('hello')));
  const run = await runVmm(['--kernel', path, '-v']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stderr, /bzImage: booting its vmlinux \(\d+ bytes, extracted in \d+ ms\) through the PVH entry/);
  t.regex(run.stdout, /nodevmm guest: hello/);
});
