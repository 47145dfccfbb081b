/*
 * memcheck: the counter guest's count, plus memory that keeps changing and checks itself. Each count
 * it writes DIRTY_PER_COUNT words at pseudo-random places in an 8 MiB region (so as many pages are
 * dirtied) and keeps the region's running sum in `checksum`; every CHECK_EVERY counts it sums the
 * whole region again and prints "check XXXXXXXX" (the number of checks passed). A page that a save or
 * a migration did not carry, or carried stale, makes the sums disagree: it prints "MISMATCH" and
 * halts, as it does when the count in RAM and its copy in EBP disagree. Built with CHECK_EVERY=0 it
 * never checks (memdirty: a steady dirtier for the migration benchmark; a check of 8 MiB stalls the
 * guest for seconds where KVM emulates guest kernel code, as kvm_pvm does).
 */
#include "pvh-note.inc"

#define REGION 0x400000
#define REGION_BYTES 0x800000           /* a power of two: offsets are masked into it */
#define DIRTY_PER_COUNT 16
#ifndef CHECK_EVERY
#define CHECK_EVERY 64                  /* a power of two; 0: never (the benchmark's memdirty) */
#endif

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $banner, %esi
        call print
        /* fresh RAM is zero, but the sums must not depend on it */
        cld
        xor %eax, %eax
        mov $REGION, %edi
        mov $(REGION_BYTES / 4), %ecx
        rep stosl
        movl $0, checksum
        xor %ebp, %ebp
next:
        cmp count, %ebp
        jne mismatch
        incl count
        inc %ebp
        call dirty
#if CHECK_EVERY
        testl $(CHECK_EVERY - 1), count
        jnz 5f
        call verify
#endif
5:      mov $prefix, %esi
        call print
        mov count, %ebx
        call print_hex32
        mov $10, %al
        out %al, %dx
        mov $20000, %ecx
1:      loop 1b
        jmp next

/* dirty: DIRTY_PER_COUNT words of the region get new values; `checksum` follows. */
dirty:
        mov $DIRTY_PER_COUNT, %ecx
1:      mov seed, %eax
        imul $1103515245, %eax, %eax
        add $12345, %eax
        mov %eax, seed
        mov %eax, %ebx
        shr $7, %ebx                    /* the LCG's low bits repeat quickly: use higher ones */
        and $(REGION_BYTES - 4), %ebx
        add $REGION, %ebx
        mov (%ebx), %edx
        sub %edx, checksum
        xor count, %eax
        mov %eax, (%ebx)
        add %eax, checksum
        loop 1b
        ret

/* verify: sums the region; a difference from `checksum` is a MISMATCH; else prints the checks so far. */
verify:
        xor %eax, %eax
        mov $REGION, %esi
        mov $(REGION_BYTES / 4), %ecx
2:      add (%esi), %eax
        add $4, %esi
        loop 2b
        cmp checksum, %eax
        jne mismatch
        incl checks
        mov $check_prefix, %esi
        call print
        mov checks, %ebx
        call print_hex32
        mov $10, %al
        out %al, %dx
        ret

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
checksum:
        .long 0
checks:
        .long 0
seed:
        .long 0x2545f491

        .p2align 4
stack:
        .fill 1024, 1, 0
stack_top:

        .section .rodata
banner:
        .ascii "nodevmm guest: memcheck"
        .byte 10, 0
prefix:
        .asciz "count "
check_prefix:
        .asciz "check "
mismatch_text:
        .ascii "MISMATCH"
        .byte 10, 0
