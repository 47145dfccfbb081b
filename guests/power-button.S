/*
 * A PVH test guest that honours the ACPI power button the way an OS's GED driver would, minus the
 * interrupt: it polls the GED event register (MMIO, read clears; see src/devices/ged.ts) and, when
 * the power-button bit is set, says so and powers off through ACPI S5 — the guest-exit path.
 */
#define GED_EVENT 0xfecff000
#define POWER_BUTTON 1

#include "pvh-note.inc"

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $banner, %esi
        call print
poll:
        mov GED_EVENT, %eax
        test $POWER_BUTTON, %eax
        jnz pressed
        mov $20000, %ecx                /* a pause between polls, so waiting costs few exits */
1:      pause
        loop 1b
        jmp poll
pressed:
        mov $message, %esi
        call print
        mov $0x34, %al                  /* ACPI S5 */
        mov $0x600, %dx
        out %al, %dx
2:      hlt
        jmp 2b

#include "print.inc"

        .section .rodata
banner:  .asciz "nodevmm guest: power-button\n"
message: .asciz "power button pressed: powering off\n"

        .data
        .p2align 4
stack:  .fill 1024, 1, 0
stack_top:
