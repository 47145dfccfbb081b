/*
 * A tiny PVH guest for nodevmm's tests: it enters in 32-bit protected mode (EBX = hvm_start_info),
 * prints a banner on COM1, then ends the way the ENDING macro says (chosen at build time with -D).
 * Each ending exercises one lifecycle path of LIFECYCLE.md §1.
 */
#define COM1 0x3f8
#define ACPI_SLEEP_RESET 0x600

        .section .note.Xen, "a"
        .p2align 2
        .long 4                 /* name size: "Xen\0" */
        .long 4                 /* descriptor size */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .long _start

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $banner, %esi
        call print
        ENDING

/* print the NUL-terminated string at ESI on COM1 */
print:
        mov $COM1, %dx
1:      lodsb
        test %al, %al
        jz 2f
        out %al, %dx
        jmp 1b
2:      ret

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
