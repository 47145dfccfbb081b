// Wraps a flat 64-bit kernel (entry at offset 0x200) in a Linux boot protocol 2.15 setup header: a tiny
// bzImage for nodevmm's tests of the 64-bit entry path. The "payload" is marked with a compression
// format nodevmm does not decompress, so the VMM must boot the image through its 64-bit entry.
//   node scripts/pack-bzimage.mjs kernel.bin out.bzImage
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
const code = readFileSync(input);
const SETUP_SECTS = 1;
const setupSize = (SETUP_SECTS + 1) * 512;
const payload = Buffer.concat([Buffer.from('NVMMPAYL'), Buffer.alloc(4)]); // not a format nodevmm knows
const payloadOffset = Math.ceil(code.length / 16) * 16;
const kernelSize = Math.ceil((payloadOffset + payload.length) / 16) * 16;
const image = Buffer.alloc(setupSize + kernelSize);

image.writeUInt8(SETUP_SECTS, 0x1f1);
image.writeUInt32LE(kernelSize / 16, 0x1f4); // syssize
image.writeUInt16LE(0xaa55, 0x1fe); // boot_flag
image.writeUInt8(0xeb, 0x200); // jmp over the header
image.writeUInt8(0x26c - 0x202, 0x201);
image.write('HdrS', 0x202, 'latin1');
image.writeUInt16LE(0x020f, 0x206); // protocol 2.15
image.writeUInt8(0x01, 0x211); // loadflags: LOADED_HIGH
image.writeUInt32LE(0x100000, 0x214); // code32_start
image.writeUInt32LE(0x7fffffff, 0x22c); // initrd_addr_max
image.writeUInt32LE(0x200000, 0x230); // kernel_alignment
image.writeUInt8(1, 0x234); // relocatable_kernel
image.writeUInt8(21, 0x235); // min_alignment
image.writeUInt16LE(0x03, 0x236); // xloadflags: XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
image.writeUInt32LE(2047, 0x238); // cmdline_size
image.writeUInt32LE(payloadOffset, 0x248);
image.writeUInt32LE(payload.length, 0x24c);
image.writeBigUInt64LE(0x1000000n, 0x258); // pref_address: 16 MiB
image.writeUInt32LE(0x200000, 0x260); // init_size

code.copy(image, setupSize);
payload.copy(image, setupSize + payloadOffset);
writeFileSync(output, image);
