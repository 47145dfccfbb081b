/*
 * A PVH test guest for the platform quirks: it executes `int3` and `int $0x80` in kernel mode with a
 * valid IDT. On real hardware these just work; on kvm_pvm the host's emulator gives up on them and
 * nodevmm completes them (see src/vm/quirks.ts). The handlers print and return without `iret` (which
 * that emulator cannot run in 32-bit mode either; Linux only needs it in long mode, where it works).
 */
#include "pvh-note.inc"

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $banner, %esi
        call print
        mov $breakpoint_handler, %eax
        mov $idt + 3 * 8, %edi
        call set_gate
        mov $syscall_handler, %eax
        mov $idt + 0x80 * 8, %edi
        call set_gate
        lidt idt_register
        int3
        int $0x80
        mov $done, %esi
        call print
        mov $0x34, %al                  /* ACPI S5: power off */
        mov $0x600, %dx
        out %al, %dx
1:      hlt
        jmp 1b

#include "set-gate.inc"

breakpoint_handler:
        mov $breakpoint_message, %esi
        jmp return_from_interrupt
syscall_handler:
        mov $syscall_message, %esi
return_from_interrupt:
        call print
        pop %ecx                        /* EIP after the int instruction */
        add $8, %esp                    /* CS, EFLAGS */
        jmp *%ecx

#include "print.inc"

        .section .rodata
banner:             .asciz "nodevmm guest: int-completion\n"
breakpoint_message: .asciz "int3 handled\n"
syscall_message:    .asciz "int 0x80 handled\n"
done:               .asciz "interrupts done\n"

        .data
        .p2align 3
idt_register:
        .word 256 * 8 - 1
        .long idt
        .p2align 4
idt:    .fill 256 * 8, 1, 0
        .p2align 4
stack:  .fill 1024, 1, 0
stack_top:
