/*
 * nodevmm's Linux test /init: a static 32-bit i386 program (no libc, no SSE) that enters the kernel
 * the way i386 programs do on a 64-bit kernel: through the vDSO's __kernel_vsyscall, whose address
 * the kernel passes in the auxiliary vector (AT_SYSINFO), falling back to `int $0x80` without it.
 * It runs as PID 1 from the initramfs that scripts/linux/fetch-guest.sh packs, on Debian's amd64
 * cloud kernel (CONFIG_IA32_EMULATION=y).
 *
 * Why 32-bit, and why the vDSO: on kvm_pvm (the KVM of the development machine; see
 * docs/PLATFORM.md and guests/user-entry.S) a 64-bit `syscall` from guest user mode
 * never reaches the guest kernel, and 32-bit user code runs in the host's instruction emulator, which
 * cannot execute `int n` in protected mode: `int $0x80` raises #UD. `sysenter` (what
 * __kernel_vsyscall executes on Intel) is emulated and enters the kernel. The kernel's fast return,
 * `sysretl`, is emulated wrongly there: it lands in the vDSO's landing pad with the 64-bit user code
 * segment (0x33) instead of the 32-bit one (0x23), and with the kernel's SS (often NULL) left in the
 * emulator's segment cache. `sys` below copes with both: the landing pad (pop %ebp; pop %edx;
 * pop %ecx; ret) pops 4-byte slots in compatibility mode and returns after the call, while in 64-bit
 * mode the same bytes pop 8-byte slots and return to sys_return64, which far-returns to compatibility
 * mode at the same place with the same stack, where sys_return32 loads SS, DS and ES again (a
 * reboot test's /init died of #SS before it did). On real hardware the
 * second path is never taken. Nothing here depends on it beyond these few lines; a restarted system
 * call (the kernel moves the return address onto the vDSO's `int $0x80`) would still fail on kvm_pvm,
 * but PID 1 with default signal actions receives no signal that restarts one.
 *
 * What it does, in order:
 *   1. mounts proc on /proc, sysfs on /sys, devtmpfs on /dev (a failure is reported, not fatal);
 *   2. prints    NODEVMM-INIT: up, cpus=N
 *      where N counts the CPUs in its affinity mask (sched_getaffinity), which the kernel intersects
 *      with the active CPUs: the CPUs Linux really brought up;
 *   3. reads `action=...` from its environment. Linux hands every unknown `key=value` kernel parameter
 *      without a dot in the key to init's environment (init/main.c, unknown_bootoption), so the kernel
 *      command line `console=ttyS0 action=poweroff` reaches us as the variable action=poweroff.
 *      (A dotted name such as nodevmm.action would be dropped as an unused module parameter.)
 *      Actions, each announced by a marker line first:
 *        poweroff  NODEVMM-INIT: poweroff   sync(), then reboot(LINUX_REBOOT_CMD_POWER_OFF)
 *        reboot    NODEVMM-INIT: reboot     sync(), then reboot(LINUX_REBOOT_CMD_RESTART)
 *        stay      NODEVMM-INIT: stay       pause() forever (the default when no action= is given)
 *        echo      NODEVMM-INIT: echo       turns the console's echo off, then for every line read
 *                                           from the console prints  NODEVMM-ECHO: <line>
 *                                           a line that is exactly `poweroff` or `reboot` then does
 *                                           that action; at end of input it stays.
 *      Anything else: NODEVMM-INIT: unknown action=<value>, then it stays.
 *   PID 1 must never exit (the kernel would panic), so every path that fails ends in `stay`.
 *   A failed reboot(2) prints  NODEVMM-INIT: reboot(2) failed, errno=N  and stays.
 */

#define SYS_read               3
#define SYS_write              4
#define SYS_mount             21
#define SYS_pause             29
#define SYS_sync              36
#define SYS_ioctl             54
#define SYS_reboot            88
#define SYS_sched_getaffinity 242

#define LINUX_REBOOT_MAGIC1        0xfee1dead
#define LINUX_REBOOT_MAGIC2        0x28121969   /* 672274793 */
#define LINUX_REBOOT_CMD_RESTART   0x01234567
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321fedc

#define TCGETS 0x5401
#define TCSETS 0x5402
#define ECHO_FLAGS 0x48        /* ECHO | ECHONL in c_lflag */

#define AT_NULL    0
#define AT_SYSINFO 32          /* the vDSO's __kernel_vsyscall */
#define USER32_CS  0x23        /* Linux's __USER32_CS: 32-bit user code */
#define USER_DS    0x2b        /* Linux's __USER_DS */

#define EINTR 4
#define AFFINITY_BYTES 1024    /* 8192 CPUs: Debian's NR_CPUS */
#define LINE_MAX 512
#define OBUF_SIZE 600

        .text
        .globl _start
_start:
        /* The stack holds argc, argv[0..argc-1], NULL, envp[...], NULL. */
        mov     (%esp), %ecx
        lea     8(%esp,%ecx,4), %eax
        mov     %eax, envp
        /* after envp's NULL: the auxiliary vector, (type, value) pairs up to AT_NULL */
1:      mov     (%eax), %edx
        add     $4, %eax
        test    %edx, %edx
        jnz     1b
2:      mov     (%eax), %edx
        cmp     $AT_NULL, %edx
        je      3f
        cmp     $AT_SYSINFO, %edx
        jne     4f
        mov     4(%eax), %edx
        mov     %edx, vsyscall
4:      add     $8, %eax
        jmp     2b
3:

        /* 1. pseudo file systems */
        mov     $path_proc, %ecx
        mov     $fs_proc, %edx
        call    do_mount
        mov     $path_sys, %ecx
        mov     $fs_sysfs, %edx
        call    do_mount
        mov     $path_dev, %ecx
        mov     $fs_devtmpfs, %edx
        call    do_mount

        /* 2. the CPU count */
        mov     $SYS_sched_getaffinity, %eax
        xor     %ebx, %ebx
        mov     $AFFINITY_BYTES, %ecx
        mov     $affinity, %edx
        call    sys
        xor     %edi, %edi                      /* edi = number of set bits */
        test    %eax, %eax
        jle     2f                              /* error: report cpus=0 */
        mov     %eax, %ecx                      /* bytes written by the kernel */
        mov     $affinity, %esi
1:      movzbl  (%esi), %eax
3:      test    %eax, %eax
        jz      4f
        mov     %eax, %ebx
        and     $1, %ebx
        add     %ebx, %edi
        shr     $1, %eax
        jmp     3b
4:      inc     %esi
        dec     %ecx
        jnz     1b
2:      call    ob_reset
        mov     $msg_up, %esi
        call    ob_str
        mov     %edi, %eax
        call    ob_uint
        call    ob_newline_flush

        /* 3. the action */
        call    find_action                     /* esi = value, or 0 */
        test    %esi, %esi
        jz      action_stay
        mov     %esi, action
        mov     $word_poweroff, %edi
        call    streq
        je      action_poweroff
        mov     $word_reboot, %edi
        call    streq
        je      action_reboot
        mov     $word_stay, %edi
        call    streq
        je      action_stay
        mov     $word_echo, %edi
        call    streq
        je      action_echo
        call    ob_reset
        mov     $msg_unknown, %esi
        call    ob_str
        mov     action, %esi
        call    ob_str
        call    ob_newline_flush
        jmp     action_stay

action_poweroff:
        mov     $msg_poweroff, %esi
        call    print_line
        mov     $LINUX_REBOOT_CMD_POWER_OFF, %edx
        jmp     do_reboot

action_reboot:
        mov     $msg_reboot, %esi
        call    print_line
        mov     $LINUX_REBOOT_CMD_RESTART, %edx
        /* fall through */

/* edx = reboot command. Does not return. */
do_reboot:
        push    %edx
        mov     $SYS_sync, %eax
        call    sys
        pop     %edx
        mov     $SYS_reboot, %eax
        mov     $LINUX_REBOOT_MAGIC1, %ebx
        mov     $LINUX_REBOOT_MAGIC2, %ecx
        xor     %esi, %esi
        call    sys
        neg     %eax                            /* errno */
        push    %eax
        call    ob_reset
        mov     $msg_reboot_failed, %esi
        call    ob_str
        pop     %eax
        call    ob_uint
        call    ob_newline_flush
        /* fall through */

action_stay:
        mov     $msg_stay, %esi
        call    print_line
1:      mov     $SYS_pause, %eax
        call    sys
        jmp     1b

action_echo:
        mov     $msg_echo, %esi
        call    print_line
        /* Turn the tty's echo off so that only our own lines come back. */
        mov     $SYS_ioctl, %eax
        xor     %ebx, %ebx
        mov     $TCGETS, %ecx
        mov     $termios, %edx
        call    sys
        test    %eax, %eax
        jnz     echo_loop
        andl    $~ECHO_FLAGS, termios+12        /* c_lflag */
        mov     $SYS_ioctl, %eax
        xor     %ebx, %ebx
        mov     $TCSETS, %ecx
        mov     $termios, %edx
        call    sys
echo_loop:
        mov     $SYS_read, %eax
        xor     %ebx, %ebx
        mov     $line, %ecx
        mov     $LINE_MAX, %edx
        call    sys
        cmp     $-EINTR, %eax
        je      echo_loop
        test    %eax, %eax
        jle     echo_end
        /* A tty in canonical mode returns one line per read; a pipe or a long line may not:
         * every "\n" ends a line, and so does the end of what was read. */
        mov     $line, %edi
        lea     line(%eax), %edx
        movb    $'\n', (%edx)                  /* sentinel: line has LINE_MAX + 1 bytes */
        mov     %edx, line_end
        mov     %edi, line_start
echo_scan:
        mov     line_start, %edi
        cmp     line_end, %edi
        jae     echo_loop
        mov     %edi, %ecx
1:      cmpb    $'\n', (%ecx)
        je      2f
        inc     %ecx
        jmp     1b
2:      lea     1(%ecx), %eax
        mov     %eax, line_start                /* the next line starts after the "\n" */
        movb    $0, (%ecx)
        sub     %edi, %ecx                      /* ecx = length without "\n" */
        jz      3f
        cmpb    $'\r', -1(%edi,%ecx)
        jne     3f
        dec     %ecx
        movb    $0, (%edi,%ecx)
3:      cmp     line_end, %edi                  /* the sentinel alone is not a line */
        jae     echo_loop
        push    %edi
        push    %ecx
        call    ob_reset
        mov     $msg_echo_prefix, %esi
        call    ob_str
        pop     %ecx
        mov     (%esp), %esi
        call    ob_mem
        call    ob_newline_flush
        pop     %esi
        mov     $word_poweroff, %edi
        call    streq
        je      action_poweroff
        mov     $word_reboot, %edi
        call    streq
        je      action_reboot
        jmp     echo_scan
echo_end:
        mov     $msg_echo_end, %esi
        call    print_line
        jmp     action_stay

/* ecx = mount point, edx = file system type (also the source name). Reports a failure. */
do_mount:
        push    %ecx
        mov     $SYS_mount, %eax
        mov     %edx, %ebx
        xor     %esi, %esi
        xor     %edi, %edi
        call    sys
        pop     %ecx
        test    %eax, %eax
        jz      1f
        neg     %eax
        push    %eax
        push    %ecx
        call    ob_reset
        mov     $msg_mount_failed, %esi
        call    ob_str
        pop     %esi
        call    ob_str
        mov     $msg_errno, %esi
        call    ob_str
        pop     %eax
        call    ob_uint
        call    ob_newline_flush
1:      ret

/*
 * One system call: eax = number, ebx, ecx, edx, esi, edi = arguments; returns eax, keeps the other
 * registers. Through __kernel_vsyscall when the kernel gave us its address (see the top of the file
 * for the 64-bit return path), else int $0x80.
 */
sys:
        cmpl    $0, vsyscall
        je      2f
        push    %ecx
        push    %edx
        sub     $16, %esp
        movl    $sys_return64, 8(%esp)          /* where the landing pad returns in 64-bit mode */
        movl    $0, 12(%esp)
        call    *vsyscall
sys_returned:
        add     $16, %esp
        pop     %edx
        pop     %ecx
        ret
2:      int     $0x80
        ret

        .code64
/* Reached only when the kernel's sysretl came back in 64-bit mode: RSP is 16 above the call's ESP. */
sys_return64:
        lea     -16(%rsp), %rsp
        lea     sys_return32(%rip), %rcx        /* ECX is restored at sys_returned */
        pushq   $USER32_CS
        push    %rcx
        lretq
        .code32
/* That sysretl also left the kernel's SS (often NULL) in the emulator's segment cache, so the first
 * stack access would raise #SS: load SS, DS and ES again, here in 32-bit mode (a load in 64-bit mode
 * runs natively and does not reach the emulator's cache). */
sys_return32:
        mov     $USER_DS, %ecx
        mov     %ecx, %ss
        mov     %ecx, %ds
        mov     %ecx, %es
        jmp     sys_returned

/* Returns in esi the value of the environment variable action=, or 0. */
find_action:
        mov     envp, %edx
1:      mov     (%edx), %esi
        test    %esi, %esi
        jz      3f
        mov     $env_action, %edi
2:      movzbl  (%edi), %eax
        test    %al, %al
        jz      4f                              /* whole prefix matched */
        cmp     (%esi), %al
        jne     5f
        inc     %esi
        inc     %edi
        jmp     2b
5:      add     $4, %edx
        jmp     1b
3:      xor     %esi, %esi
4:      ret

/* ZF set when the NUL-terminated strings at esi and edi are equal. Preserves esi and edi. */
streq:
        push    %esi
        push    %edi
1:      movzbl  (%esi), %eax
        cmp     (%edi), %al
        jne     2f
        inc     %esi
        inc     %edi
        test    %al, %al
        jnz     1b
2:      pop     %edi
        pop     %esi
        ret

/* esi = NUL-terminated text: writes it and a newline as one write(2). */
print_line:
        push    %esi
        call    ob_reset
        pop     %esi
        call    ob_str
        /* fall through */

/* The output buffer: each line goes to the console in a single write(2), so kernel messages do not
 * split it. */
ob_newline_flush:
        mov     $'\n', %al
        call    ob_byte
        mov     $SYS_write, %eax
        mov     $1, %ebx
        mov     $obuf, %ecx
        mov     olen, %edx
        call    sys
        ret

ob_reset:
        movl    $0, olen
        ret

/* al = byte. Drops bytes past the buffer's end, keeping room for the newline. */
ob_byte:
        mov     olen, %ebx
        cmp     $(OBUF_SIZE - 1), %ebx
        jb      1f
        cmp     $'\n', %al
        jne     2f
1:      mov     %al, obuf(%ebx)
        incl    olen
2:      ret

/* esi = NUL-terminated text */
ob_str:
1:      movzbl  (%esi), %eax
        test    %al, %al
        jz      2f
        call    ob_byte
        inc     %esi
        jmp     1b
2:      ret

/* esi = bytes, ecx = count */
ob_mem:
        test    %ecx, %ecx
        jz      2f
1:      movzbl  (%esi), %eax
        call    ob_byte
        inc     %esi
        dec     %ecx
        jnz     1b
2:      ret

/* eax = unsigned number, written in decimal */
ob_uint:
        mov     $digits_end, %edi
        mov     $10, %ecx
1:      xor     %edx, %edx
        div     %ecx
        add     $'0', %dl
        dec     %edi
        mov     %dl, (%edi)
        test    %eax, %eax
        jnz     1b
        mov     %edi, %esi
        jmp     ob_str                          /* digits_end holds a NUL */

        .section .rodata
path_proc:      .asciz "/proc"
path_sys:       .asciz "/sys"
path_dev:       .asciz "/dev"
fs_proc:        .asciz "proc"
fs_sysfs:       .asciz "sysfs"
fs_devtmpfs:    .asciz "devtmpfs"
env_action:     .asciz "action="
word_poweroff:  .asciz "poweroff"
word_reboot:    .asciz "reboot"
word_stay:      .asciz "stay"
word_echo:      .asciz "echo"
msg_up:         .asciz "NODEVMM-INIT: up, cpus="
msg_poweroff:   .asciz "NODEVMM-INIT: poweroff"
msg_reboot:     .asciz "NODEVMM-INIT: reboot"
msg_stay:       .asciz "NODEVMM-INIT: stay"
msg_echo:       .asciz "NODEVMM-INIT: echo"
msg_echo_end:   .asciz "NODEVMM-INIT: echo: end of input"
msg_echo_prefix: .asciz "NODEVMM-ECHO: "
msg_unknown:    .asciz "NODEVMM-INIT: unknown action="
msg_reboot_failed: .asciz "NODEVMM-INIT: reboot(2) failed, errno="
msg_mount_failed: .asciz "NODEVMM-INIT: warning: mount "
msg_errno:      .asciz " failed, errno="

        .bss
        .align 4
envp:           .space 4
vsyscall:       .space 4
action:         .space 4
line_start:     .space 4
line_end:       .space 4
olen:           .space 4
termios:        .space 64
digits:         .space 12
digits_end:     .space 4
affinity:       .space AFFINITY_BYTES
line:           .space LINE_MAX + 1
obuf:           .space OBUF_SIZE

        /* no executable stack (otherwise the kernel logs "started with executable stack") */
        .section .note.GNU-stack, "", @progbits
