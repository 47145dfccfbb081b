/*
 * counter: counts for ever and prints each count on COM1 as "count XXXXXXXX" (hex), with a short
 * countdown between lines that runs without exits. The count lives in RAM and a copy in EBP; if they
 * ever disagree (RAM or registers not carried over a save and restore) it prints "MISMATCH" and
 * halts. The save/restore test checks that the printed counts go on with none repeated or skipped.
 */
#include "pvh-note.inc"

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $banner, %esi
        call print
        xor %ebp, %ebp
next:
        cmp count, %ebp
        jne mismatch
        incl count
        inc %ebp
        mov $prefix, %esi
        call print
        mov count, %ebx
        call print_hex32
        mov $10, %al
        out %al, %dx
        mov $20000, %ecx
1:      loop 1b
        jmp next

mismatch:
        mov $mismatch_text, %esi
        call print
2:      hlt
        jmp 2b

#include "print-hex.inc"
#include "print.inc"

        .data
        .p2align 2
count:
        .long 0

        .p2align 4
stack:
        .fill 1024, 1, 0
stack_top:

        .section .rodata
banner:
        .ascii "nodevmm guest: counter"
        .byte 10, 0
prefix:
        .asciz "count "
mismatch_text:
        .ascii "MISMATCH"
        .byte 10, 0
