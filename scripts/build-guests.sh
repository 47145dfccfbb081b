#!/bin/sh
# Builds the tiny PVH test guests into dist/guests/ with the machine's gcc (-m32, assembly only) and
# ld. Each guest is the same program with a different ending (see guests/pvh-guest.S).
set -eu
cd "$(dirname "$0")/.."
out=dist/guests
mkdir -p "$out"

build() {
  name=$1
  ending=$2
  gcc -m32 -c -nostdlib -o "$out/$name.o" \
    -DBANNER="\"nodevmm guest: $name\"" -DENDING="$ending" guests/pvh-guest.S
  ld -m elf_i386 -nostdlib --no-warn-rwx-segments -T guests/pvh.ld -o "$out/$name.elf" "$out/$name.o"
  rm -f "$out/$name.o"
}

build hello        'mov $0x34, %al; mov $0x600, %dx; out %al, %dx; jmp halt_forever'  # the default guest
build poweroff     'mov $0x34, %al; mov $0x600, %dx; out %al, %dx; jmp halt_forever'
build acpi-reset   'mov $0x01, %al; mov $0x600, %dx; out %al, %dx; jmp halt_forever'
build i8042-reset  'mov $0xfe, %al; out %al, $0x64; jmp halt_forever'
build cmos-reset   'mov $0x8f, %al; out %al, $0x70; xor %eax, %eax; out %al, $0x71; jmp halt_forever'
build triple-fault 'lidt empty_idt; ud2'
build no-ram       'mov $0xd0000000, %eax; jmp *%eax'
build spin         '3: jmp 3b'
# ticker prints a dot on COM1, waits a little (a countdown the CPU runs without exits), forever: a guest whose
# output and exit counts keep moving, so tests can see a pause really stop it
build ticker       '3: mov $0x2e, %al; mov $0x3f8, %dx; out %al, %dx; mov $20000, %ecx; 4: loop 4b; jmp 3b'

# floods for the stress tests: COM1 written as fast as the CPU goes; and ports and MMIO that no device
# claims (0x1234; 0xd0000000, where there is no RAM), read and written for ever
build serial-flood '3: mov $0x41, %al; mov $0x3f8, %dx; out %al, %dx; jmp 3b'
build port-hammer  '3: mov $0x1234, %dx; out %al, %dx; in %dx, %al; mov 0xd0000000, %eax; movl $0, 0xd0000004; jmp 3b'

# Guests with a program of their own:
#   int-completion  int3 / int $0x80 with a valid IDT (the platform quirks' instruction completion)
#   power-button    polls the GED and powers off when the ACPI power button is pressed
#   serial-echo     echoes serial input (woken by IRQ 4 from hlt), powers off on `q`
#   counter         prints a count that lives in RAM and a register, for ever (the save/restore test)
#   memcheck        the counter, plus an 8 MiB region it keeps dirtying and checks by its sum (migration)
#   virtio-hostile  programs the virtio-rng with hostile queues, then a good one (run with --rng)
for name in int-completion power-button serial-echo counter memcheck virtio-hostile; do
  gcc -m32 -c -nostdlib -o "$out/$name.o" "guests/$name.S"
  ld -m elf_i386 -nostdlib --no-warn-rwx-segments -T guests/pvh.ld -o "$out/$name.elf" "$out/$name.o"
  rm -f "$out/$name.o"
done
#   memdirty        memcheck that never checks: it only dirties, at a steady pace (the migration benchmark)
gcc -m32 -c -nostdlib -DCHECK_EVERY=0 -o "$out/memdirty.o" guests/memcheck.S
ld -m elf_i386 -nostdlib --no-warn-rwx-segments -T guests/pvh.ld -o "$out/memdirty.elf" "$out/memdirty.o"
rm -f "$out/memdirty.o"

# bzimage64: a tiny bzImage for the Linux boot protocol's 64-bit entry (see guests/bzimage64.S)
gcc -c -o "$out/bzimage64.o" guests/bzimage64.S
objcopy -O binary -j .text "$out/bzimage64.o" "$out/bzimage64.bin"
node scripts/pack-bzimage.mjs "$out/bzimage64.bin" "$out/bzimage64.bzImage"
rm -f "$out/bzimage64.o" "$out/bzimage64.bin"
