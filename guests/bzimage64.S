/*
 * The protected-mode part of a tiny bzImage, for the Linux boot protocol's 64-bit entry: nodevmm enters
 * it at load address + 0x200 in long mode with RSI = boot_params. It checks the zero page ("HdrS" in
 * the copied setup header), prints the command line boot_params points to, and powers off (ACPI S5).
 * scripts/pack-bzimage.mjs wraps it in a setup header. All addressing is RIP-relative: the loader
 * chooses where the kernel goes.
 */
        .code64
        .text
entry32:
        hlt                             /* the 32-bit entry at offset 0 is not used */
        .org 0x200
entry64:
        mov %rsi, %rbx                  /* boot_params */
        lea banner(%rip), %rsi
        call print
        cmpl $0x53726448, 0x202(%rbx)   /* "HdrS" */
        jne bad
        lea header_ok(%rip), %rsi
        call print
        mov 0x228(%rbx), %esi           /* cmd_line_ptr */
        call print
        lea newline(%rip), %rsi
        call print
        mov $0x34, %al                  /* ACPI S5 */
        mov $0x600, %dx
        out %al, %dx
1:      hlt
        jmp 1b
bad:
        lea no_header(%rip), %rsi
        call print
        mov $0x01, %al                  /* reset: the test sees a reboot instead of a poweroff */
        mov $0x600, %dx
        out %al, %dx
        jmp 1b

#include "print.inc"

banner:    .asciz "nodevmm guest: bzimage64\n"
header_ok: .asciz "boot_params: setup header found, command line: "
no_header: .asciz "boot_params: no setup header\n"
newline:   .asciz "\n"
