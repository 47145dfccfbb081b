/*
 * A tiny PVH guest for nodevmm's tests: it enters in 32-bit protected mode (EBX = hvm_start_info),
 * prints a banner on COM1, then ends the way the ENDING macro says (chosen at build time with -D).
 * Each ending exercises one lifecycle path of LIFECYCLE.md §1.
 */
#define ACPI_SLEEP_RESET 0x600

#include "pvh-note.inc"

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $banner, %esi
        call print
        ENDING

#include "print.inc"

halt_forever:
        hlt
        jmp halt_forever

        .p2align 3
empty_idt:
        .word 0
        .long 0

        .p2align 4
stack:
        .fill 1024, 1, 0
stack_top:

        .section .rodata
banner:
        .ascii BANNER
        .byte 10, 0
