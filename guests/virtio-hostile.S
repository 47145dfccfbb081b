/*
 * virtio-hostile: drives the virtio-rng at nodevmm's first virtio-mmio window (run with --rng) the way a
 * broken or malicious driver would, then the way a good one does. Each hostile queue must make the
 * device set DEVICE_NEEDS_RESET (status bit 0x40) and nothing else: the guest resets it and goes on.
 *   loop       two descriptors that chain to each other
 *   outside    a buffer at 2^60, far outside RAM
 *   ahead      avail.idx 100 entries ahead of a queue of 8
 *   indirect   an INDIRECT descriptor that also has NEXT
 *   size       a queue size of 6 (not a power of 2)
 * Then one good request (64 writable bytes) must come back in the used ring with length 64. Prints
 * "hostile <name>: needs-reset" per case and "valid: used 64", or "FAIL ..."; then powers off.
 */
#include "pvh-note.inc"

#define MMIO      0xd0000000
#define DESC      0x40000
#define AVAIL     0x41000
#define USED      0x42000
#define BUFFER    0x43000
#define INDIRECT  0x44000
#define F_NEXT    1
#define F_WRITE   2
#define F_INDIRECT 4

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $banner, %esi
        call print
        cmpl $0x74726976, MMIO + 0x000
        jne no_device
        cmpl $4, MMIO + 0x008                   /* DeviceID: rng */
        jne no_device

        /* loop: desc 0 -> desc 1 -> desc 0 */
        mov $8, %eax
        call setup
        movl $BUFFER, DESC + 0
        movl $16, DESC + 8
        movl $(F_NEXT | F_WRITE | (1 << 16)), DESC + 12
        movl $(BUFFER + 16), DESC + 16 + 0
        movl $16, DESC + 16 + 8
        movl $(F_NEXT | F_WRITE | (0 << 16)), DESC + 16 + 12
        mov $1, %eax
        mov $name_loop, %esi
        call expect_reset

        /* outside: a buffer at 2^60 */
        mov $8, %eax
        call setup
        movl $0, DESC + 0
        movl $0x10000000, DESC + 4
        movl $64, DESC + 8
        movl $F_WRITE, DESC + 12
        mov $1, %eax
        mov $name_outside, %esi
        call expect_reset

        /* ahead: avail.idx 100 with a queue of 8 */
        mov $8, %eax
        call setup
        mov $100, %eax
        mov $name_ahead, %esi
        call expect_reset

        /* indirect with NEXT */
        mov $8, %eax
        call setup
        movl $INDIRECT, DESC + 0
        movl $16, DESC + 8
        movl $(F_INDIRECT | F_NEXT | (1 << 16)), DESC + 12
        movl $BUFFER, INDIRECT + 0
        movl $64, INDIRECT + 8
        movl $F_WRITE, INDIRECT + 12
        mov $1, %eax
        mov $name_indirect, %esi
        call expect_reset

        /* size 6: refused when the device starts */
        mov $6, %eax
        call setup
        mov $0, %eax
        mov $name_size, %esi
        call expect_reset

        /* a good request */
        mov $8, %eax
        call setup
        movl $BUFFER, DESC + 0
        movl $64, DESC + 8
        movl $F_WRITE, DESC + 12
        movw $0, AVAIL + 4                      /* ring[0] = descriptor 0 */
        movw $1, AVAIL + 2                      /* avail.idx */
        call driver_ok
        movl $0, MMIO + 0x050                   /* QueueNotify 0 */
        mov $200000, %ecx
1:      mov MMIO + 0x060, %eax                  /* InterruptStatus: an exit, so the device thread runs */
        cmpw $1, USED + 2
        je 2f
        loop 1b
        mov $fail_valid, %esi
        call print
        jmp poweroff
2:      cmpl $64, USED + 8                      /* used.ring[0].len */
        jne 3f
        mov $valid_text, %esi
        call print
        jmp poweroff
3:      mov $fail_length, %esi
        call print
        jmp poweroff

no_device:
        mov $no_device_text, %esi
        call print
poweroff:
        mov $0x34, %al
        mov $0x600, %dx
        out %al, %dx
9:      hlt
        jmp 9b

/* setup: resets the device, clears the rings and negotiates VERSION_1; queue 0 gets size EAX. */
setup:
        push %eax
        movl $0, MMIO + 0x070                   /* Status: reset */
        mov $DESC, %edi
        mov $(0x5000 / 4), %ecx
        xor %eax, %eax
        rep stosl
        movl $1, MMIO + 0x070                   /* ACKNOWLEDGE */
        movl $3, MMIO + 0x070                   /* DRIVER */
        movl $1, MMIO + 0x024                   /* DriverFeaturesSel 1 */
        movl $1, MMIO + 0x020                   /* VERSION_1 (bit 32) */
        movl $0, MMIO + 0x024
        movl $0, MMIO + 0x020
        movl $0xb, MMIO + 0x070                 /* FEATURES_OK */
        movl $0, MMIO + 0x030                   /* QueueSel 0 */
        pop %eax
        mov %eax, MMIO + 0x038                  /* QueueNum */
        movl $DESC, MMIO + 0x080
        movl $0, MMIO + 0x084
        movl $AVAIL, MMIO + 0x090
        movl $0, MMIO + 0x094
        movl $USED, MMIO + 0x0a0
        movl $0, MMIO + 0x0a4
        movl $1, MMIO + 0x044                   /* QueueReady */
        ret

driver_ok:
        movl $0xf, MMIO + 0x070
        ret

/* expect_reset: publishes avail.idx = EAX (ring[0] = descriptor 0), starts the device, kicks queue 0
 * and waits for DEVICE_NEEDS_RESET; prints the case named at ESI with the outcome. */
expect_reset:
        movw %ax, AVAIL + 2
        push %esi
        call driver_ok
        movl $0, MMIO + 0x050
        mov $200000, %ecx
1:      testl $0x40, MMIO + 0x070
        jnz 2f
        loop 1b
        mov $fail_prefix, %esi
        call print
        pop %esi
        call print
        mov $no_reset_text, %esi
        call print
        jmp poweroff
2:      mov $ok_prefix, %esi
        call print
        pop %esi
        call print
        mov $reset_text, %esi
        call print
        ret

#include "print.inc"

        .data
        .p2align 4
stack:
        .fill 1024, 1, 0
stack_top:

        .section .rodata
banner:
        .ascii "nodevmm guest: virtio-hostile"
        .byte 10, 0
name_loop: .asciz "loop"
name_outside: .asciz "outside"
name_ahead: .asciz "ahead"
name_indirect: .asciz "indirect"
name_size: .asciz "size"
ok_prefix: .asciz "hostile "
fail_prefix: .asciz "FAIL hostile "
reset_text:
        .ascii ": needs-reset"
        .byte 10, 0
no_reset_text:
        .ascii ": no needs-reset"
        .byte 10, 0
valid_text:
        .ascii "valid: used 64"
        .byte 10, 0
fail_valid:
        .ascii "FAIL valid: no used entry"
        .byte 10, 0
fail_length:
        .ascii "FAIL valid: wrong used length"
        .byte 10, 0
no_device_text:
        .ascii "FAIL no virtio-rng at 0xd0000000"
        .byte 10, 0
