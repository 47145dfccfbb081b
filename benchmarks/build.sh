#!/bin/sh
# Builds what the benchmarks run into benchmarks/build/ (git-ignored, and outside the top-level build/,
# which node-gyp rebuild wipes): the bare-KVM floor program and the process meter (gcc, no
# dependencies), and the benchmark guests (gcc -m32 for the assembly, ld, the tests' linker script).
# Each exit guest comes with two endings: ACPI S5 (nodevmm, the floor) and isa-debug-exit (QEMU).
set -eu
cd "$(dirname "$0")/.."
out=benchmarks/build
mkdir -p "$out"

gcc -O2 -Wall -Wextra -o "$out/kvm-floor" benchmarks/floor/kvm-floor.c
gcc -O2 -Wall -Wextra -o "$out/measure-run" benchmarks/tools/measure-run.c

S5='mov $0x34, %al; mov $0x600, %dx; out %al, %dx'
# QEMU's isa-debug-exit at iobase 0xf4: writing v makes QEMU exit with status (v << 1) | 1.
QEMU_EXIT='xor %eax, %eax; out %al, $0xf4'
PIO_EXIT='out %al, $0x80'          # the POST-code port: a plain port write
MMIO_EXIT='movb %al, 0xd0000000'   # a write to the unclaimed MMIO hole below 4 GiB

link() {
  ld -m elf_i386 -nostdlib --no-warn-rwx-segments -T guests/pvh.ld -o "$out/$1.elf" "$out/$1.o"
  rm -f "$out/$1.o"
}

exits() {
  gcc -m32 -c -nostdlib -o "$out/$1.o" -DEXIT_ONE="$2" -DPOWEROFF="$3" guests/bench-exits.S
  link "$1"
}

lifecycle() {
  gcc -m32 -c -nostdlib -o "$out/$1.o" -DENDING="$2" guests/bench-lifecycle.S
  link "$1"
}

exits pio        "$PIO_EXIT"  "$S5"
exits mmio       "$MMIO_EXIT" "$S5"
exits pio-qemu   "$PIO_EXIT"  "$QEMU_EXIT"
exits mmio-qemu  "$MMIO_EXIT" "$QEMU_EXIT"
lifecycle stamp-poweroff "$S5"
lifecycle stamp-reset    'mov $0x01, %al; mov $0x600, %dx; out %al, %dx'
