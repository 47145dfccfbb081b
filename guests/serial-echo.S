/*
 * A PVH test guest for serial input: it sets up COM1 (FIFO, receive-data interrupt, OUT2) and the
 * 8259 PICs (IRQ 4 → vector 0x24, every other line masked), prints a banner, then sleeps in `hlt` and
 * echoes what arrives, lowercase letters uppercased so a test can tell the echo from its input. A `q`
 * prints how many serial interrupts woke it and powers off through ACPI S5; a `#` says so and resets
 * the machine through the i8042 (0xFE to port 0x64).
 *
 * Only the serial interrupt can end the `hlt` (IF is clear everywhere else), so an echo at all proves
 * IRQ 4 reaches the guest through the in-kernel irqchip. The handler never returns with `iret` (which
 * kvm_pvm's emulator cannot run in 32-bit mode): the interrupted code is always the `hlt`, so it drops
 * the frame and jumps back to the receive loop.
 */
#define COM1     0x3f8
#define RBR      (COM1 + 0)
#define THR      (COM1 + 0)
#define IER      (COM1 + 1)
#define FCR      (COM1 + 2)
#define LCR      (COM1 + 3)
#define MCR      (COM1 + 4)
#define LSR      (COM1 + 5)
#define PIC1     0x20
#define PIC2     0xa0
#define SERIAL_VECTOR   0x24    /* PIC1 base 0x20 + IRQ 4 */
#define SPURIOUS_VECTOR 0x27    /* PIC1's spurious IRQ 7 */

#include "pvh-note.inc"

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $banner, %esi
        call print

        /* COM1: 115200 8N1, FIFO on and cleared (trigger level 1), receive-data interrupt, DTR|RTS|OUT2 */
        mov $LCR, %dx
        mov $0x80, %al
        out %al, %dx
        mov $COM1, %dx
        mov $1, %al
        out %al, %dx
        mov $IER, %dx
        xor %al, %al
        out %al, %dx
        mov $LCR, %dx
        mov $0x03, %al
        out %al, %dx
        mov $FCR, %dx
        mov $0x07, %al
        out %al, %dx
        mov $IER, %dx
        mov $0x01, %al
        out %al, %dx
        mov $MCR, %dx
        mov $0x0b, %al
        out %al, %dx

        /* 8259s: the in-kernel PIC powers on with vector base 0, on top of the CPU's exceptions, so
           initialise both (ICW1–ICW4) and unmask IRQ 4 alone. LINT0 delivers ExtINT (cpu-setup.ts). */
        mov $0x11, %al
        out %al, $PIC1
        out %al, $PIC2
        mov $0x20, %al
        out %al, $PIC1 + 1
        mov $0x28, %al
        out %al, $PIC2 + 1
        mov $0x04, %al
        out %al, $PIC1 + 1
        mov $0x02, %al
        out %al, $PIC2 + 1
        mov $0x01, %al
        out %al, $PIC1 + 1
        out %al, $PIC2 + 1
        mov $0xef, %al
        out %al, $PIC1 + 1
        mov $0xff, %al
        out %al, $PIC2 + 1

        mov $serial_interrupt, %eax
        mov $idt + SERIAL_VECTOR * 8, %edi
        call set_gate
        mov $spurious_interrupt, %eax
        mov $idt + SPURIOUS_VECTOR * 8, %edi
        call set_gate
        lidt idt_register

        mov $ready, %esi
        call print

/* Echo everything in the receive FIFO, then sleep until the next serial interrupt. */
receive:
        cli
        mov $LSR, %dx
        in %dx, %al
        test $0x01, %al
        jz sleep
        mov $RBR, %dx
        in %dx, %al
        cmp $'q', %al
        je quit
        cmp $'#', %al
        je reset
        cmp $'a', %al
        jb 1f
        cmp $'z', %al
        ja 1f
        sub $0x20, %al
1:      mov $THR, %dx
        out %al, %dx
        jmp receive
sleep:
        sti                     /* sti's shadow: the interrupt cannot come between it and the hlt */
        hlt
        jmp receive

serial_interrupt:
        mov $stack_top, %esp    /* drop the frame: it only ever interrupts the hlt above */
        incl interrupts
        mov $0x20, %al          /* non-specific EOI */
        out %al, $PIC1
        jmp receive
spurious_interrupt:
        mov $stack_top, %esp    /* no EOI for a spurious IRQ 7 */
        jmp receive

quit:
        mov $bye, %esi
        call print
        mov interrupts, %ebx
        call print_hex
        mov $bye_end, %esi
        call print
        mov $0x34, %al          /* ACPI S5: power off */
        mov $0x600, %dx
        out %al, %dx
2:      hlt
        jmp 2b

reset:
        mov $resetting, %esi
        call print
        mov $0xfe, %al          /* i8042: pulse the reset line */
        out %al, $0x64
3:      hlt
        jmp 3b

#include "set-gate.inc"

#include "print.inc"

/* print EBX as 8 hex digits on COM1 */
print_hex:
        mov $8, %ecx
        mov $THR, %dx
1:      rol $4, %ebx
        mov %bl, %al
        and $0x0f, %al
        add $'0', %al
        cmp $'9', %al
        jbe 2f
        add $'a' - '9' - 1, %al
2:      out %al, %dx
        loop 1b
        ret

        .section .rodata
banner: .asciz "nodevmm guest: serial-echo\n"
ready:  .asciz "echo ready (q quits)\n"
bye:    .asciz "\nbye after 0x"
bye_end: .asciz " serial interrupts\n"
resetting: .asciz "\nresetting\n"

        .data
        .p2align 2
interrupts:
        .long 0
        .p2align 3
idt_register:
        .word 256 * 8 - 1
        .long idt
        .p2align 4
idt:    .fill 256 * 8, 1, 0
        .p2align 4
stack:  .fill 1024, 1, 0
stack_top:
