/*
 * A PVH benchmark guest for lifecycle latency. It reads the ACPI PM timer (port 0x608, 3.579545 MHz,
 * derived from the host's monotonic clock) as its first act and prints it on COM1 ("boot XXXXXXXX"),
 * then reads and prints it LAST_STAMPS more times ("last XXXXXXXX"), then ends the way ENDING says
 * (S5 or a reset). The ending comes one more read-and-print later, so the host estimates its time as
 * the last stamp plus the interval between the last two. The first prints run the VMM's cold code
 * (lazy compilation in the worker), so the interval is only trusted once it has settled.
 */
#define COM1 0x3f8
#define PM_TIMER 0x608
#define LAST_STAMPS 4

#include "pvh-note.inc"

        .text
        .code32
        .globl _start
_start:
        mov $PM_TIMER, %dx
        in %dx, %eax            /* the guest runs: first timer read */
        mov $stack_top, %esp
        mov $boot_label, %esi
        call print_stamp
        mov $LAST_STAMPS, %edi
1:      mov $PM_TIMER, %dx
        in %dx, %eax
        mov $last_label, %esi
        call print_stamp
        dec %edi
        jnz 1b
        mov $PM_TIMER, %dx
        in %dx, %eax            /* the same work as before each "last", so the ending is as far after it */
        ENDING
halt_forever:
        hlt
        jmp halt_forever

/* prints the 5-byte label at ESI, EAX as 8 hex digits, and a newline */
print_stamp:
        mov %eax, %ebx
        mov $COM1, %dx
        mov $5, %ecx
1:      lodsb
        out %al, %dx
        loop 1b
        mov $8, %ecx
2:      rol $4, %ebx
        mov %ebx, %eax
        and $0xf, %eax
        movb hex_digits(%eax), %al
        out %al, %dx
        loop 2b
        mov $10, %al
        out %al, %dx
        ret

        .section .rodata
hex_digits:
        .ascii "0123456789abcdef"
boot_label:
        .ascii "boot "
last_label:
        .ascii "last "

        .bss
        .p2align 4
stack:
        .fill 256, 1, 0
stack_top:
