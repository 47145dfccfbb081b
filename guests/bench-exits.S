/*
 * A PVH benchmark guest: makes N exits of one kind, then powers off. N is the decimal number at the
 * start of the kernel command line (hvm_start_info.cmdline_paddr, EBX+24); no number means N = 1.
 * Built in variants (benchmarks/build-guests.sh) by three macros:
 *   EXIT_ONE  one instruction that exits to the VMM (a port write, or an MMIO write in the hole)
 *   POWEROFF  how the guest ends: ACPI S5 at port 0x600 for nodevmm and the floor, isa-debug-exit for QEMU
 * Guest kernel mode may run in an instruction emulator on this host, so the loop is unrolled: the
 * instructions around each exit are the same for every VMM, but fewer of them keep the floor honest.
 */
#define UNROLL_SHIFT 5
#define UNROLL (1 << UNROLL_SHIFT)

#include "pvh-note.inc"

        .text
        .code32
        .globl _start
_start:
        mov 24(%ebx), %esi      /* cmdline_paddr, low half (the command line is below 4 GiB) */
        xor %ecx, %ecx          /* N */
        test %esi, %esi
        jz have_n
skip_spaces:
        movzbl (%esi), %eax
        cmp $' ', %al
        jne digits
        inc %esi
        jmp skip_spaces
digits:
        movzbl (%esi), %eax
        sub $'0', %eax
        cmp $9, %eax
        ja have_n               /* not a digit (unsigned compare also catches below '0') */
        imul $10, %ecx, %ecx
        add %eax, %ecx
        inc %esi
        jmp digits
have_n:
        test %ecx, %ecx
        jnz 1f
        mov $1, %ecx
1:      mov %ecx, %edx
        and $(UNROLL - 1), %edx /* the remainder, one exit per iteration */
        shr $UNROLL_SHIFT, %ecx  /* blocks of UNROLL exits */
        xor %eax, %eax
        test %edx, %edx
        jz blocks
single:
        EXIT_ONE
        dec %edx
        jnz single
blocks:
        test %ecx, %ecx
        jz done
block:
        .rept UNROLL
        EXIT_ONE
        .endr
        dec %ecx
        jnz block
done:
        POWEROFF
halt_forever:
        hlt
        jmp halt_forever
