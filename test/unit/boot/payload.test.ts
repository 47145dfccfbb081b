import test from 'ava';
import { detectPayload, isBzImage } from '../../../src/boot/payload.js';
import { buildElf, pvhNote } from './elf-builder.js';

function fakeBzImage(): Uint8Array {
  const bytes = new Uint8Array(0x1000);
  bytes[0x1fe] = 0x55;
  bytes[0x1ff] = 0xaa;
  bytes.set(new TextEncoder().encode('HdrS'), 0x202);
  return bytes;
}

test('a PVH ELF is recognised (ELF32 and ELF64)', (t) => {
  t.is(detectPayload(buildElf({ bits: 32, notes: [pvhNote(0x100000)] })), 'pvh-elf');
  t.is(detectPayload(buildElf({ bits: 64, notes: [pvhNote(0x100000, 8)] })), 'pvh-elf');
});

test('a bzImage is recognised by its boot flag and HdrS', (t) => {
  t.is(detectPayload(fakeBzImage()), 'bzimage');
  const noFlag = fakeBzImage();
  noFlag[0x1fe] = 0;
  t.false(isBzImage(noFlag));
  const noMagic = fakeBzImage();
  noMagic[0x202] = 0x68;
  t.false(isBzImage(noMagic));
  t.false(isBzImage(fakeBzImage().subarray(0, 0x205)));
});

test('an empty file', (t) => {
  t.throws(() => detectPayload(new Uint8Array(0)), { message: 'kernel image is empty' });
});

test('random bytes', (t) => {
  const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff);
  t.throws(() => detectPayload(bytes), { message: 'kernel image is not a PVH ELF or a bzImage' });
  t.throws(() => detectPayload(Uint8Array.of(1)), { message: /not a PVH ELF or a bzImage/ });
});

test('an ELF without the PVH note', (t) => {
  t.throws(() => detectPayload(buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: Uint8Array.of(0xf4) }] })), {
    message: 'ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); nodevmm boots PVH ELF kernels and bzImages',
  });
});

test('a malformed ELF', (t) => {
  const image = buildElf({ bits: 64, notes: [pvhNote(0x100000)] });
  image[4] = 9;
  t.throws(() => detectPayload(image), { message: /^ELF kernel is malformed: unsupported ELF class 9/ });
});
