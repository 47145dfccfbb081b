import test from 'ava';
import {
  BZIMAGE_64BIT_ENTRY_OFFSET,
  BzImageError,
  detectCompression,
  loadBzImage,
  parseBzImagePayload,
  parseSetupHeader,
  placeKernel,
  type BzImageOptions,
  type PayloadCompression,
} from '../../../src/boot/bzimage.js';
import { buildE820, E820Type, type E820Entry } from '../../../src/boot/e820.js';
import { GuestRam } from '../../../src/boot/guest-ram.js';
import { MiB, ramRegions } from '../../../src/boot/memory-layout.js';
import {
  buildBzImage,
  ENTRY64_BYTES,
  GZIP_PAYLOAD,
  PAYLOAD_OFFSET,
  SETUP_FILL,
  setupSizeOf,
  type BzImageSpec,
} from './bzimage-builder.js';

const RAM_SIZE = 64 * MiB;
const ZP = 0x7000;
const memoryMap = buildE820(RAM_SIZE);

function dirtyRam(size = RAM_SIZE): GuestRam {
  const ram = GuestRam.allocate(ramRegions(size));
  ram.fill(0, 32 * MiB, 0xff); // as if a previous boot had left things behind
  return ram;
}

function load(spec: BzImageSpec = {}, options: Partial<BzImageOptions> = {}, ram = dirtyRam()) {
  const boot = loadBzImage(buildBzImage(spec), ram, { cmdline: 'console=ttyS0', memoryMap, ...options });
  return { boot, ram };
}

test('the setup header fields are read from their offsets', (t) => {
  const image = buildBzImage({ initSize: 0x2e00000, cmdlineSize: 4095, initrdAddrMax: 0x37ffffff });
  const header = parseSetupHeader(image);
  t.deepEqual(header, {
    version: 0x020f,
    versionText: '2.15',
    setupSects: 4,
    setupSize: 0xa00,
    kernelSize: 0x410,
    headerEnd: 0x26c,
    loadflags: 0x01,
    code32Start: 0x100000,
    initrdAddrMax: 0x37ffffff,
    kernelAlignment: 0x200000,
    relocatable: true,
    xloadflags: 0x03,
    cmdlineSize: 4095,
    payloadOffset: PAYLOAD_OFFSET,
    payloadLength: GZIP_PAYLOAD.length,
    prefAddress: 0x1000000,
    initSize: 0x2e00000,
    kernelVersion: '6.1.0-test (nodevmm@test) #1 SMP',
  });
});

test('setup_sects 0 means 4, and other counts move the protected-mode kernel', (t) => {
  t.is(parseSetupHeader(buildBzImage({ setupSects: 0 })).setupSize, 5 * 512);
  const header = parseSetupHeader(buildBzImage({ setupSects: 30 }));
  t.is(header.setupSects, 30);
  t.is(header.setupSize, 31 * 512);
  const { boot, ram } = load({ setupSects: 30 });
  t.deepEqual([...ram.read(boot.entry, 2)], [...ENTRY64_BYTES]);
});

test('fields newer than the protocol version read as 0', (t) => {
  const header = parseSetupHeader(buildBzImage({ version: 0x0206, headerEnd: 0x23c, xloadflags: 1 }));
  t.is(header.versionText, '2.06');
  t.is(header.xloadflags, 0); // xloadflags is 2.12+: the bytes there were padding before
  t.is(header.payloadOffset, 0);
  t.is(header.prefAddress, 0);
  t.is(header.initSize, 0);
});

test('a relocatable kernel loads at pref_address, with the 64-bit entry 0x200 into it', (t) => {
  const { boot, ram } = load();
  t.is(boot.loadAddress, 0x1000000);
  t.is(boot.entry, 0x1000000 + 0x200);
  t.is(BZIMAGE_64BIT_ENTRY_OFFSET, 0x200);
  t.is(boot.bootParamsAddress, 0x7000);
  t.is(boot.kernelEnd, 0x1000000 + 0x400000); // pref_address + init_size
  t.false('initramfsAddress' in boot);
  const image = buildBzImage();
  const setupSize = setupSizeOf();
  t.deepEqual(ram.read(0x1000000, image.length - setupSize), image.subarray(setupSize));
  t.deepEqual([...ram.read(boot.entry, 2)], [0xfa, 0xf4]);
});

test('other kernels load at 1 MiB and are placed where they will decompress', (t) => {
  const notRelocatable = load({ relocatable: false }).boot;
  t.is(notRelocatable.loadAddress, 0x100000);
  t.is(notRelocatable.entry, 0x100200);
  t.is(notRelocatable.kernelEnd, 0x1000000 + 0x400000); // it moves itself to pref_address
  const unaligned = placeKernel(parseSetupHeader(buildBzImage({ prefAddress: 0x1001000 })));
  t.deepEqual(unaligned, { loadAddress: 0x100000, runAddress: 0x1001000, kernelEnd: 0x1401000 });
  const low = placeKernel(parseSetupHeader(buildBzImage({ prefAddress: 0x80000, kernelAlignment: 0x1000 })));
  t.deepEqual(low, { loadAddress: 0x100000, runAddress: 0x100000, kernelEnd: 0x500000 });
});

test('the zero page holds the image header at 0x1F1 with the loader fields filled in', (t) => {
  const { ram } = load();
  const image = buildBzImage();
  const zp = ram.read(ZP, 4096);
  const view = new DataView(zp.buffer, zp.byteOffset, zp.byteLength);
  t.is(view.getUint16(0x1fe, true), 0xaa55);
  t.is(new TextDecoder().decode(zp.subarray(0x202, 0x206)), 'HdrS');
  t.is(view.getUint16(0x206, true), 0x020f);
  t.is(view.getUint32(0x1f4, true), 0x41); // syssize
  t.is(zp[0x210], 0xff); // type_of_loader: undefined
  t.is(zp[0x211], 0x81); // loadflags: LOADED_HIGH kept, CAN_USE_HEAP added
  t.is(view.getUint32(0x214, true), 0x1000000); // code32_start = load address
  t.is(view.getUint16(0x224, true), 0xde00); // heap_end_ptr
  t.is(view.getUint32(0x228, true), 0x20000); // cmd_line_ptr
  t.is(view.getUint32(0x218, true), 0); // ramdisk_image
  t.is(view.getUint32(0x21c, true), 0); // ramdisk_size
  t.is(view.getBigUint64(0x070, true), 0n); // acpi_rsdp_addr
  t.is(view.getBigUint64(0x250, true), 0n); // setup_data
  // Everything else in the header is the image's own bytes.
  const loaderFields = new Set([0x210, 0x211, 0x214, 0x215, 0x216, 0x217, 0x224, 0x225, 0x228, 0x229, 0x22a, 0x22b]);
  for (let offset = 0x1f1; offset < 0x26c; offset++) {
    if (!loaderFields.has(offset)) t.is(zp[offset], image[offset], `byte ${offset.toString(16)}`);
  }
  // The header copy stops where the header ends; the image's setup code after it stays out.
  t.is(image[0x26c], SETUP_FILL);
  t.true(zp.subarray(0x26c, 0x290).every((b) => b === 0));
  // The rest of boot_params was cleared (the RAM was dirty): screen_info, sentinel, the EDD area.
  t.true(zp.subarray(0, 0x1e8).every((b) => b === 0));
  t.is(zp[0x1ef], 0);
  t.true(zp.subarray(0x2d0 + 3 * 20).every((b) => b === 0));
});

test('the e820 table is written at 0x2D0 as packed 20-byte entries', (t) => {
  const map: E820Entry[] = [
    ...memoryMap,
    { addr: 0x1_0000_0000, size: 0x1234_5000, type: E820Type.RESERVED },
  ];
  const { ram } = load({}, { memoryMap: map });
  t.is(ram.readU8(ZP + 0x1e8), 4);
  const expected = new Uint8Array(4 * 20);
  const view = new DataView(expected.buffer);
  map.forEach((e, i) => {
    view.setBigUint64(i * 20, BigInt(e.addr), true);
    view.setBigUint64(i * 20 + 8, BigInt(e.size), true);
    view.setUint32(i * 20 + 16, e.type, true);
  });
  t.deepEqual(ram.read(ZP + 0x2d0, 4 * 20), expected);
  // the first entry spelled out: [0, 0x9fc00) RAM
  t.deepEqual([...ram.read(ZP + 0x2d0, 20)], [0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xfc, 0x09, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  t.true(ram.read(ZP + 0x2d0 + 4 * 20, 20).every((b) => b === 0));
});

test('the memory map is limited to the zero page table of 128 entries', (t) => {
  const many = Array.from({ length: 129 }, (_, i) => ({ addr: i * 0x1000, size: 0x1000, type: E820Type.RESERVED }));
  t.throws(() => load({}, { memoryMap: many }), {
    instanceOf: RangeError,
    message: 'the memory map has 129 entries; the Linux boot protocol passes at most 128',
  });
  const { ram } = load({}, { memoryMap: many.slice(0, 128) });
  t.is(ram.readU8(ZP + 0x1e8), 128);
  t.is(ram.readU64(ZP + 0x2d0 + 127 * 20), 127n * 0x1000n);
  t.throws(() => load({}, { memoryMap: [] }), { message: 'the memory map is empty' });
});

test('the command line is written at 0x20000 and limited by cmdline_size', (t) => {
  const { ram } = load({}, { cmdline: 'console=ttyS0 root=/dev/vda' });
  const expected = new TextEncoder().encode('console=ttyS0 root=/dev/vda\0');
  t.deepEqual(ram.read(0x20000, expected.length), expected);
  t.true(ram.read(0x20000 + expected.length, 2048 - expected.length).every((b) => b === 0));
  t.is(ram.readU32(ZP + 0x228), 0x20000);
  t.is(ram.readU32(ZP + 0xc8), 0); // ext_cmd_line_ptr

  t.notThrows(() => load({ cmdlineSize: 16 }, { cmdline: 'x'.repeat(16) }));
  t.throws(() => load({ cmdlineSize: 16 }, { cmdline: 'x'.repeat(17) }), {
    instanceOf: RangeError,
    message: 'kernel command line is 17 bytes; this kernel accepts at most 16 (cmdline_size)',
  });
  t.throws(() => load({}, { cmdline: 'x'.repeat(2048) }), { message: /limit is 2047/ });
});

test('the initramfs goes page aligned at the top of low RAM, and the ramdisk fields say where', (t) => {
  const initramfs = Uint8Array.from({ length: 10000 }, (_, i) => (i * 31) & 0xff);
  const { boot, ram } = load({}, { initramfs });
  t.is(boot.initramfsAddress, 0x3ffd000); // alignDown(64 MiB - 10000, 4 KiB)
  t.deepEqual(ram.read(0x3ffd000, initramfs.length), initramfs);
  t.is(ram.readU32(ZP + 0x218), 0x3ffd000); // ramdisk_image
  t.is(ram.readU32(ZP + 0x21c), 10000); // ramdisk_size
  t.is(ram.readU32(ZP + 0xc0), 0); // ext_ramdisk_image
  t.is(ram.readU32(ZP + 0xc4), 0); // ext_ramdisk_size
});

test('the initramfs stays at or below initrd_addr_max', (t) => {
  const initramfs = new Uint8Array(0x3000).fill(7);
  const { boot } = load({ initrdAddrMax: 0x17fffff }, { initramfs });
  t.is(boot.initramfsAddress, 0x1800000 - 0x3000);
  const { boot: unaligned } = load({ initrdAddrMax: 0x17ff7ff }, { initramfs });
  t.is(unaligned.initramfsAddress, 0x17fc000); // last byte 0x17fefff <= initrd_addr_max
});

test('the initramfs must fit above the kernel footprint', (t) => {
  // pref_address 16 MiB + init_size 40 MiB leaves 8 MiB of a 64 MiB guest.
  const spec = { initSize: 40 * MiB };
  t.is(load(spec, { initramfs: new Uint8Array(8 * MiB) }).boot.initramfsAddress, 56 * MiB);
  t.throws(() => load(spec, { initramfs: new Uint8Array(8 * MiB + 1) }), {
    instanceOf: RangeError,
    message:
      "initramfs of 8388609 bytes does not fit between 0x3800000 and 0x4000000 (the kernel's end and min(end of low RAM, initrd_addr_max + 1))",
  });
  t.throws(() => load({}, { initramfs: new Uint8Array(0) }), { message: 'initramfs is empty' });
});

test('the RSDP address goes to acpi_rsdp_addr', (t) => {
  const { ram } = load({}, { rsdpAddress: 0xa0000 });
  t.is(ram.readU64(ZP + 0x70), 0xa0000n);
  t.throws(() => load({}, { rsdpAddress: 0xc000_0000 }), { message: 'RSDP address 0xc0000000 is not in guest RAM' });
});

test('the 64-bit GDT and the page tables are written', (t) => {
  const { ram } = load();
  t.is(ram.readU64(0x510), 0x00af_9b00_0000_ffffn); // 64-bit code, L = 1
  t.is(ram.readU64(0x518), 0x00cf_9300_0000_ffffn);
  t.is(ram.readU64(0x520), 0x0000_8b00_0000_0067n);
  t.is(ram.readU64(0x528), 0n); // the TSS descriptor's upper half
  t.is(ram.readU64(0x9000), 0xa003n); // PML4[0] -> PDPT
});

test('a kernel whose footprint is not RAM is refused', (t) => {
  t.throws(() => load({ initSize: 64 * MiB }), {
    instanceOf: RangeError,
    message:
      'the kernel decompresses into [0x1000000, 0x5000000) (init_size 0x4000000), which is not all guest RAM: give the guest more memory',
  });
});

test('old protocols, 32-bit kernels and zImages are refused', (t) => {
  const refuse = (spec: BzImageSpec) => () => loadBzImage(buildBzImage(spec), dirtyRam(), { cmdline: '', memoryMap });
  t.throws(refuse({ version: 0x0205, headerEnd: 0x23c }), {
    instanceOf: BzImageError,
    message: 'bzImage uses Linux boot protocol 2.05; nodevmm needs 2.06 or later (Linux 2.6.22+)',
  });
  t.throws(refuse({ version: 0x0202, headerEnd: 0x22c }), { message: /protocol 2\.02; nodevmm needs 2\.06/ });
  t.throws(refuse({ xloadflags: 0 }), {
    instanceOf: BzImageError,
    message:
      'bzImage has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64, which 64-bit kernels set from boot protocol ' +
      '2.12; this one is 2.15): nodevmm enters bzImages in 64-bit mode, so 32-bit kernels cannot be booted',
  });
  t.throws(refuse({ version: 0x020b, headerEnd: 0x268 }), { message: /lacks XLF_KERNEL_64.*this one is 2\.11/ });
  t.throws(refuse({ loadflags: 0 }), {
    instanceOf: BzImageError,
    message: 'kernel is a zImage (loadflags lacks LOADED_HIGH): nodevmm loads bzImages only',
  });
});

test('truncated and malformed images are refused, before anything is written', (t) => {
  const image = buildBzImage({ trailer: new Uint8Array(100) });
  t.notThrows(() => parseSetupHeader(image)); // bytes past syssize (a signature) are fine
  const full = buildBzImage();
  t.throws(() => parseSetupHeader(full.subarray(0, full.length - 1)), {
    instanceOf: BzImageError,
    message: 'truncated bzImage: 3599 bytes, but 2560 bytes of setup and 1040 bytes of protected-mode kernel (syssize) need 3600',
  });
  t.throws(() => parseSetupHeader(full.subarray(0, 0x240)), {
    message: 'truncated bzImage: 576 bytes, the setup header alone ends at 0x26c',
  });
  t.throws(() => parseSetupHeader(full.subarray(0, 0x207)), { message: 'truncated bzImage: 519 bytes' });
  t.throws(() => parseSetupHeader(full.subarray(0, 0x100)), {
    message: 'not a bzImage: no boot flag 0xAA55 at 0x1FE and "HdrS" at 0x202',
  });
  t.throws(() => parseSetupHeader(buildBzImage({ headerEnd: 0x250 })), {
    message: 'bzImage setup header ends at 0x250, but boot protocol 2.15 defines fields up to 0x26c',
  });
  const noKernel = buildBzImage();
  new DataView(noKernel.buffer).setUint32(0x1f4, 0, true);
  t.throws(() => parseSetupHeader(noKernel), { message: 'bzImage has no protected-mode kernel (syssize is 0)' });

  const ram = dirtyRam();
  t.throws(() => loadBzImage(full.subarray(0, 3000), ram, { cmdline: '', memoryMap }), { instanceOf: BzImageError });
  t.throws(() => loadBzImage(buildBzImage(), ram, { cmdline: 'x'.repeat(3000), memoryMap }));
  t.is(ram.readU8(ZP), 0xff, 'nothing is written when a check fails');
  t.is(ram.readU8(0x1000200), 0xff);
  t.is(ram.readU8(0x20000), 0xff);
});

test('the payload is located and its compression recognised', (t) => {
  const image = buildBzImage();
  const payload = parseBzImagePayload(image);
  t.is(payload.format, 'gzip');
  t.is(payload.fileOffset, 0xa00 + PAYLOAD_OFFSET);
  t.deepEqual(payload.bytes, GZIP_PAYLOAD);
  t.is(payload.bytes.buffer, image.buffer, 'a view, not a copy');
  t.is(payload.uncompressedSize, 0x123456);

  const xz = Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0, 0x10, 0, 0, 0);
  t.is(parseBzImagePayload(buildBzImage({ payload: xz })).format, 'xz');
  t.is(parseBzImagePayload(buildBzImage({ payload: xz })).uncompressedSize, 0x10);
});

test('compression formats by magic', (t) => {
  const cases: Array<[number[], PayloadCompression]> = [
    [[0x1f, 0x8b, 0x08], 'gzip'],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
    [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
    [[0x02, 0x21, 0x4c, 0x18], 'lz4'],
    [[0x04, 0x22, 0x4d, 0x18], 'lz4'],
    [[0x5d, 0x00, 0x00, 0x00, 0x04], 'lzma'],
    [[0x42, 0x5a, 0x68, 0x39], 'bzip2'],
    [[0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 'lzo'],
    [[0x7f, 0x45, 0x4c, 0x46], 'unknown'],
    [[0xfd, 0x37, 0x7a], 'unknown'], // too short for the xz magic
    [[], 'unknown'],
  ];
  for (const [bytes, format] of cases) t.is(detectCompression(Uint8Array.from(bytes)), format, format);
});

test('payload fields that point outside the kernel, or are absent, are refused', (t) => {
  const image = buildBzImage();
  new DataView(image.buffer).setUint32(0x24c, 0x1000, true);
  t.throws(() => parseBzImagePayload(image), {
    instanceOf: BzImageError,
    message: 'bzImage payload [0x400, 0x1400) runs past the protected-mode kernel (0x410 bytes)',
  });
  new DataView(image.buffer).setUint32(0x24c, 0, true);
  t.throws(() => parseBzImagePayload(image), { message: 'bzImage payload_length is 0: there is no payload' });
  t.throws(() => parseBzImagePayload(buildBzImage({ version: 0x0207, headerEnd: 0x23c })), {
    message: 'bzImage boot protocol 2.07 does not locate its payload (needs 2.08+)',
  });
});
