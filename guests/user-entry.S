/*
 * user-entry: how does this platform deliver system-call instructions from guest *user* mode?
 *
 * A PVH guest that does what a 64-bit kernel does before it runs user programs, then tries every way a
 * user program can enter the kernel and reports on COM1 what arrived:
 *   - long mode with its own page tables (all pages user-accessible), a Linux-like GDT
 *     (__KERNEL_CS 0x10, __KERNEL_DS 0x18, __USER32_CS 0x23, __USER_DS 0x2b, __USER_CS 0x33, TSS 0x40),
 *     a TSS whose RSP0 is the kernel stack, an IDT with a stub for every vector (DPL3 gates for 3, 4,
 *     0x80 and 0x81, DPL0 for the rest), STAR/LSTAR/CSTAR/SFMASK and IA32_SYSENTER_CS/ESP/EIP set as
 *     Linux sets them;
 *   - then, one test at a time, `iretq` into user code (32-bit compatibility mode, CS 0x23, or 64-bit,
 *     CS 0x33) that executes one entry instruction. Every handler prints the vector (or the entry MSR
 *     that was taken), the saved frame (RIP, CS, RFLAGS, RSP, SS, error code), the TSC cycles since the
 *     iretq, CS as read inside the handler, and the user's EAX, then starts the next test on a fresh
 *     kernel stack.
 * The int $0x80 tests return to user mode once (iretq) and enter again, so the way back is tested too;
 * the sysenter test returns with iretq, then sysretl (Linux's fast compat return), then sysexitl; the
 * vDSO-style test makes the call the way guests/linux/init.S does (see there).
 * Every line starts with "UE:" so a test can pick them out (test/linux/user-entry.test.ts). Ends with an
 * ACPI S5 power-off. Runs in about a second.
 *
 * What it showed on kvm_pvm (docs/PLATFORM.md has the full table):
 *   - 32-bit user code runs in the host's instruction emulator (the 1M-iteration loop takes ~1.2e9 TSC
 *     cycles, the 64-bit one ~4e6), and that emulator cannot execute `int n` in protected mode: int3,
 *     int $0x80 and int $0x81 from 32-bit user mode all arrive as #UD (vector 6) at the instruction,
 *     int $0x82 (a DPL0 gate) as #UD instead of #GP;
 *   - 64-bit user mode runs natively: int3 arrives as #BP, but int $0x80 arrives as #UD too, and
 *     `syscall` jumps to LSTAR without leaving user mode (the first privileged instruction there raises
 *     #GP with CS 0x33 in the frame);
 *   - `sysenter` from 32-bit user mode reaches IA32_SYSENTER_EIP at CPL0 with RSP = IA32_SYSENTER_ESP;
 *     `iretq` back to 32-bit user mode works; `sysretl` returns with CS 0x33 (64-bit) instead of 0x23,
 *     and with the kernel's SS still in the emulator's segment cache: after a NULL kernel SS (as in
 *     Linux), the first stack access back in 32-bit mode raises #SS unless SS is loaded again there.
 *
 * Build: gcc -c -nostdlib user-entry.S && ld -m elf_x86_64 -nostdlib -T ../pvh.ld (an ELF64 with the
 * 32-bit PVH entry; test/linux/user-entry.test.ts builds it into a temporary directory).
 */
#define COM1 0x3f8
#define KERNEL_CS 0x10
#define KERNEL_DS 0x18
#define USER32_CS 0x23
#define USER_DS 0x2b
#define USER_CS 0x33
#define TSS_SEL 0x40

#include "pvh-note.inc"

/* Each entry first notes the caller's RAX and its own CS; print_common_tail reports both. */
.macro save_entry_state
        mov %rax, saved_rax
        mov %cs, %ax
        movzwl %ax, %eax
        mov %rax, saved_handler_cs
.endm

/* Prints " <name>=<hex>": the label of the name's text, and where the value is. */
.macro field label, value
        mov $\label, %esi
        mov \value, %rax
        call print_field
.endm

.macro print_ss_field
        mov $m_ss, %esi
        mov %ss, %ax
        movzwl %ax, %eax
        call print_field
.endm

        .text
        .code32
        .globl _start
_start:
        cli
        mov $boot_stack_top, %esp
        mov $pml4, %eax
        mov %eax, %cr3
        mov %cr4, %eax
        or $0x620, %eax                 /* PAE, OSFXSR, OSXMMEXCPT */
        mov %eax, %cr4
        mov $0xc0000080, %ecx           /* EFER: SCE, LME, NXE */
        rdmsr
        or $0x901, %eax
        wrmsr
        mov %cr0, %eax
        or $0x80010001, %eax            /* PG, WP, PE */
        mov %eax, %cr0
        lgdt gdt_register
        ljmp $KERNEL_CS, $long_mode

        .code64
long_mode:
        mov $KERNEL_DS, %eax
        mov %eax, %ds
        mov %eax, %es
        mov %eax, %ss
        xor %eax, %eax
        mov %eax, %fs
        mov %eax, %gs
        mov $kernel_stack_top, %rsp

        /* TSS descriptor at 0x40: base = tss, limit 0x67, type 9 (available 64-bit TSS), present */
        mov $tss, %rax
        mov $gdt + TSS_SEL, %rdi
        movw $0x67, (%rdi)
        mov %ax, 2(%rdi)
        shr $16, %rax
        mov %al, 4(%rdi)
        movb $0x89, 5(%rdi)
        movb $0, 6(%rdi)
        mov %ah, 7(%rdi)
        shr $16, %rax
        mov %eax, 8(%rdi)
        movl $0, 12(%rdi)
        movq $kernel_stack_top, tss + 4          /* RSP0 */
        movw $104, tss + 102                     /* no I/O bitmap */
        mov $TSS_SEL, %ax
        ltr %ax

        /* IDT: gate n -> stub n (16 bytes apart), interrupt gates, DPL3 for 3, 4, 0x80, 0x81 */
        xor %ecx, %ecx
        mov $idt, %rdi
        mov $vector_stubs, %rax
1:      mov %ax, (%rdi)
        movw $KERNEL_CS, 2(%rdi)
        movb $0, 4(%rdi)
        movb $0x8e, 5(%rdi)
        cmp $3, %ecx
        je 2f
        cmp $4, %ecx
        je 2f
        cmp $0x80, %ecx
        je 2f
        cmp $0x81, %ecx
        je 2f
        jmp 3f
2:      movb $0xee, 5(%rdi)
3:      mov %rax, %rdx
        shr $16, %rdx
        mov %dx, 6(%rdi)
        shr $16, %rdx
        mov %edx, 8(%rdi)
        movl $0, 12(%rdi)
        add $16, %rdi
        add $16, %rax
        inc %ecx
        cmp $256, %ecx
        jne 1b
        lidt idt_register

        /* system-call MSRs as Linux writes them (syscall_init, enable_sep_cpu) */
        mov $0xc0000081, %ecx           /* STAR: user32 CS base 0x23, kernel CS 0x10 */
        xor %eax, %eax
        mov $((USER32_CS << 16) | KERNEL_CS), %edx
        wrmsr
        mov $0xc0000082, %ecx           /* LSTAR */
        mov $syscall64_entry, %eax
        xor %edx, %edx
        wrmsr
        mov $0xc0000083, %ecx           /* CSTAR */
        mov $syscall32_entry, %eax
        wrmsr
        mov $0xc0000084, %ecx           /* SFMASK: TF DF IF IOPL AC NT */
        mov $0x47700, %eax
        wrmsr
        mov $0x174, %ecx                /* SYSENTER_CS */
        mov $KERNEL_CS, %eax
        wrmsr
        mov $0x175, %ecx                /* SYSENTER_ESP */
        mov $kernel_stack_top, %eax
        wrmsr
        mov $0x176, %ecx                /* SYSENTER_EIP */
        mov $sysenter_entry, %eax
        wrmsr

        /* AMD CPUs raise #UD for sysenter in long mode (AMD APM vol. 3, SYSENTER): those tests are not run there */
        xor %eax, %eax
        cpuid
        cmp $0x68747541, %ebx           /* "Auth" of AuthenticAMD */
        sete amd_cpu

        mov $banner, %esi
        call print
        /* fall through */

/* run test number test_index: print its name, iretq to its user code */
run_next:
        mov $kernel_stack_top, %rsp
        mov test_index, %rax
        cmp $NTESTS, %rax
        jae all_done
        shl $5, %rax
        lea tests(%rax), %rbx
        mov $line_start, %esi
        call print
        mov (%rbx), %rsi
        call print
        mov $colon, %esi
        call print
        cmpl $0, 28(%rbx)               /* a sysenter test… */
        je 2f
        cmpb $0, amd_cpu                /* …on AMD */
        je 2f
        mov $m_not_on_amd, %esi
        call print
        jmp next_test
2:      movl 24(%rbx), %eax         /* zero-extends */
        mov %rax, vsyscall_mode
        pushq $USER_DS                  /* SS */
        pushq $user_stack_top           /* RSP */
        pushq $0x202                    /* RFLAGS: IF */
        pushq 16(%rbx)                  /* CS */
        pushq 8(%rbx)                   /* RIP */
        rdtsc
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, start_tsc
        iretq

all_done:
        mov $finished, %esi
        call print
        mov $0x34, %al                  /* ACPI S5 */
        mov $0x600, %dx
        out %al, %dx
1:      hlt
        jmp 1b

next_test:
        incq test_index
        jmp run_next

/* ---- entries --------------------------------------------------------------------------------- */

/* common vector handler: stack = vector, error code, RIP, CS, RFLAGS, RSP, SS */
vector_common:
        save_entry_state
        field m_vector, (%rsp)
        field m_err, 8(%rsp)
        field m_rip, 16(%rsp)
        field m_cs, 24(%rsp)
        field m_rflags, 32(%rsp)
        field m_rsp, 40(%rsp)
        field m_ss, 48(%rsp)
        call print_common_tail
        /* int $0x80 with EAX=1 from user mode: return to user (which then enters again with EAX=2) */
        cmpq $0x80, (%rsp)
        jne next_test
        cmpq $1, saved_rax
        jne next_test
        testb $3, 24(%rsp)
        jz next_test
        mov $m_iret, %esi
        call print
        mov saved_rax, %rax
        add $16, %rsp
        iretq

/* the vDSO-style test: return like Linux's sysret32_from_system_call (sysretl to the landing pad) */
vsyscall_sysenter_entry:
        save_entry_state
        mov $kernel_stack_top, %rsp
        push %rbx
        mov $m_sysenter, %esi
        call print
        field m_user_cs, (%rsp)
        call print_common_tail
        pop %rbx
        cmpq $4, saved_rax
        jae next_test
        mov $m_sysretl, %esi
        call print
        mov $vsyscall_landing_pad, %ecx
        mov $0x202, %r11d
        xor %eax, %eax
        mov %eax, %ss                   /* a NULL SS in kernel mode, as Linux's often is */
        mov saved_rax, %rax
        mov %rbp, %rsp
        sysretl

/* LSTAR: 64-bit syscall. RCX = user RIP, R11 = user RFLAGS, RSP is still the user's. */
syscall64_entry:
        save_entry_state
        mov %rsp, saved_rsp
        mov $kernel_stack_top, %rsp
        mov $m_syscall64, %esi
        jmp print_fast_entry

/* CSTAR: syscall from compatibility mode (AMD only; Intel raises #UD) */
syscall32_entry:
        save_entry_state
        mov %rsp, saved_rsp
        mov $kernel_stack_top, %rsp
        mov $m_syscall32, %esi
        jmp print_fast_entry

/* IA32_SYSENTER_EIP: sysenter. RSP = IA32_SYSENTER_ESP; the user's ESP/EIP are in EBP/(ECX, EDX by convention) */
sysenter_entry:
        cmpq $1, vsyscall_mode
        je vsyscall_sysenter_entry
        save_entry_state
        mov %rsp, saved_rsp
        mov $kernel_stack_top, %rsp
        push %rcx
        push %r11
        mov $m_sysenter, %esi
        call print
        field m_rsp, saved_rsp
        print_ss_field
        call print_common_tail
        pop %r11
        pop %rcx
        /* EAX=1: return with iretq, EAX=2: with sysretl (as Linux's sysret32_from_system_call),
           EAX=3: with sysexitl (as a 32-bit kernel) */
        cmpq $1, saved_rax
        je 2f
        cmpq $2, saved_rax
        je 1f
        cmpq $3, saved_rax
        je 3f
        jmp next_test
3:      mov $m_sysexit, %esi
        call print
        mov $u32_sysenter_landing, %edx
        mov %ebp, %ecx
        mov saved_rax, %rax
        sysexitl
1:      mov $m_sysretl, %esi
        call print
        mov $u32_sysenter_landing, %ecx
        mov $0x202, %r11d
        mov saved_rax, %rax
        mov %rbp, %rsp                  /* the user's ESP, saved in EBP before sysenter */
        sysretl
2:      mov $m_iret, %esi
        call print
        mov saved_rax, %rax
        pushq $USER_DS
        push %rbp
        pushq $0x202
        pushq $USER32_CS
        pushq $u32_sysenter_landing
        iretq

print_fast_entry:
        push %rcx
        push %r11
        call print
        field m_rcx, 8(%rsp)
        field m_r11, (%rsp)
        field m_rsp, saved_rsp
        print_ss_field
        call print_common_tail
        jmp next_test

/* " handler-cs=.. eax=..\n" */
print_common_tail:
        rdtsc
        shl $32, %rdx
        or %rdx, %rax
        sub start_tsc, %rax
        mov $m_tsc, %esi
        call print_field
        field m_handler_cs, saved_handler_cs
        field m_eax, saved_rax
        mov $newline, %esi
        jmp print

/* ---- output ------------------------------------------------------------------------------------ */

/* print the string at RSI, then RAX in hex */
print_field:
        push %rax
        call print
        pop %rax
        jmp print_hex

/* RAX in hex, without leading zeros */
print_hex:
        mov $COM1, %dx
        mov $60, %ecx
        xor %r8d, %r8d                  /* a digit was printed */
1:      mov %rax, %r9
        shr %cl, %r9
        and $15, %r9d
        test %r9d, %r9d
        jnz 2f
        test %r8d, %r8d
        jnz 2f
        test %ecx, %ecx
        jnz 3f
2:      mov $1, %r8d
        push %rax
        movzbl hex_digits(%r9), %eax
        out %al, %dx
        pop %rax
3:      sub $4, %ecx
        jns 1b
        ret

#include "print.inc"

/* ---- vector stubs: 16 bytes each; vectors without an error code push 0 ---------------------------- */
        .p2align 4
vector_stubs:
        vector = 0
        .rept 256
        .p2align 4
        .if vector == 8 || vector == 10 || vector == 11 || vector == 12 || vector == 13 || vector == 14 || vector == 17 || vector == 21 || vector == 29 || vector == 30
        .else
        pushq $0
        .endif
        pushq $vector
        jmp vector_common
        vector = vector + 1
        .endr

/* ---- user code --------------------------------------------------------------------------------- */
        .code32
u32_int80:
        mov $1, %eax
        int $0x80
        inc %eax
        int $0x80
        jmp .
u32_sysenter:
        mov $1, %eax
1:      mov %esp, %ebp
        sysenter
u32_sysenter_landing:
        inc %eax
        jmp 1b
/*
 * A 32-bit program's system call through the vDSO's __kernel_vsyscall, as glibc makes it, written to
 * survive this platform's sysretl (which returns to the 64-bit user code segment): before the call,
 * [esp+8] holds a 64-bit return address. In compatibility mode the landing pad (pop ebp, edx, ecx;
 * ret) returns after the call; in 64-bit mode the same bytes pop 8-byte slots and return to
 * u32_vs_ret64, which far-returns to compatibility mode at the same point with the same ESP.
 */
/* The loop: EAX counts the calls; EBX shows the code segment each return lands in. */
.macro vsyscall_loop ret64, after_call
        mov $1, %eax
1:      push %ecx
        push %edx
        sub $16, %esp
        movl $\ret64, 8(%esp)
        movl $0, 12(%esp)
        call vsyscall_stub
\after_call:
        add $16, %esp
        pop %edx
        pop %ecx
        mov %cs, %ebx                   /* 0x23 if we are back in compatibility mode */
        inc %eax
        jmp 1b
.endm
u32_vsyscall:
        vsyscall_loop u32_vs_ret64, u32_vs_after_call
/* the same without loading SS again after coming back through the 64-bit path */
u32_vsyscall_nofix:
        vsyscall_loop u32_vs_ret64_nofix, u32_vs_after_call_nofix
/* the bytes of Linux 6.1's __kernel_vsyscall after its alternatives are applied on Intel */
vsyscall_stub:
        push %ecx
        push %edx
        push %ebp
        mov %esp, %ebp
        sysenter
        int $0x80
vsyscall_landing_pad:
        pop %ebp
        pop %edx
        pop %ecx
        ret
        .code64
u32_vs_ret64:
        lea -16(%rsp), %rsp
        pushq $USER32_CS
        pushq $u32_vs_fixup32
        lretq
        .code32
u32_vs_ret64_nofix:
        .code64
        lea -16(%rsp), %rsp
        pushq $USER32_CS
        pushq $u32_vs_after_call_nofix
        lretq
        .code32
/* sysretl left the kernel's (NULL) SS in the emulator's segment cache: load SS, DS, ES again here,
   in 32-bit mode (a load in 64-bit mode runs natively and does not reach that cache) */
u32_vs_fixup32:
        mov $USER_DS, %ecx
        mov %ecx, %ss
        mov %ecx, %ds
        mov %ecx, %es
        jmp u32_vs_after_call
u32_loop:
        mov $1000000, %ecx
1:      dec %ecx
        jnz 1b
        mov $0x100, %eax
        ud2
u32_syscall:
        mov $0x5c, %eax
        syscall
        jmp .
u32_int81:
        mov $0x81, %eax
        int $0x81
        jmp .
u32_int82:
        mov $0x82, %eax
        int $0x82
        jmp .
u32_int3:
        mov $3, %eax
        int3
        jmp .
u32_ud2:
        mov $6, %eax
        ud2
u32_hlt:
        mov $0xd, %eax
        hlt
        jmp .
        .code64
u64_int80:
        mov $1, %eax
        int $0x80
        inc %eax
        int $0x80
        jmp .
u64_syscall:
        mov $0x64, %eax
        syscall
        jmp .
u64_int3:
        mov $3, %eax
        int3
        jmp .
u64_ud2:
        mov $6, %eax
        ud2
u64_loop:
        mov $1000000, %ecx
1:      dec %ecx
        jnz 1b
        mov $0x100, %eax
        ud2

/* ---- data ---------------------------------------------------------------------------------------- */
        .section .rodata
banner:     .asciz "UE: nodevmm experiment: user-entry (long mode, IDT, TSS, STAR/LSTAR/CSTAR/SYSENTER set)\n"
finished:   .asciz "UE: done\n"
line_start: .asciz "UE: "
colon:      .asciz ": "
newline:    .asciz "\n"
m_vector:   .asciz "vector="
m_err:      .asciz " err="
m_rip:      .asciz " rip="
m_cs:       .asciz " cs="
m_rflags:   .asciz " rflags="
m_rsp:      .asciz " rsp="
m_ss:       .asciz " ss="
m_rcx:      .asciz " rcx="
m_r11:      .asciz " r11="
m_handler_cs: .asciz " handler-cs="
m_eax:      .asciz " eax="
m_iret:     .asciz "UE:   (iretq back to user)\n      "
m_sysretl:  .asciz "UE:   (sysretl back to user)\n      "
m_sysexit:  .asciz "UE:   (sysexitl back to user)\n      "
m_tsc:      .asciz " tsc-delta="
m_syscall64: .asciz "LSTAR entry (syscall64)"
m_syscall32: .asciz "CSTAR entry (syscall32)"
m_sysenter: .asciz "SYSENTER_EIP entry"
m_not_on_amd: .asciz "not run: sysenter is #UD in long mode on AMD CPUs\n"
m_user_cs:  .asciz " user-cs-before-call="
n_u32_vsyscall: .asciz "user32 vDSO-style sysenter, kernel returns with sysretl (Linux's fast path)"
n_u32_vsyscall_nofix: .asciz "user32 vDSO-style sysenter, sysretl, no SS reload"
hex_digits: .ascii "0123456789abcdef"

n_u32_int80:    .asciz "user32 int $0x80"
n_u32_sysenter: .asciz "user32 sysenter"
n_u32_syscall:  .asciz "user32 syscall"
n_u32_int81:    .asciz "user32 int $0x81 (DPL3 gate)"
n_u32_int82:    .asciz "user32 int $0x82 (DPL0 gate, #GP expected)"
n_u32_int3:     .asciz "user32 int3"
n_u32_ud2:      .asciz "user32 ud2"
n_u32_hlt:      .asciz "user32 hlt (#GP expected)"
n_u64_int80:    .asciz "user64 int $0x80"
n_u64_syscall:  .asciz "user64 syscall"
n_u64_int3:     .asciz "user64 int3"
n_u64_ud2:      .asciz "user64 ud2"
n_u32_loop:     .asciz "user32 loop of 1M dec/jnz, then ud2"
n_u64_loop:     .asciz "user64 loop of 1M dec/jnz, then ud2"

        .data
        .p2align 3
/* name, user RIP, user CS (quads); vsyscall mode, 1 for a sysenter test (longs) */
tests:
        .long n_u32_ud2, 0, u32_ud2, 0, USER32_CS, 0, 0, 0
        .long n_u32_hlt, 0, u32_hlt, 0, USER32_CS, 0, 0, 0
        .long n_u32_int3, 0, u32_int3, 0, USER32_CS, 0, 0, 0
        .long n_u32_int80, 0, u32_int80, 0, USER32_CS, 0, 0, 0
        .long n_u32_int81, 0, u32_int81, 0, USER32_CS, 0, 0, 0
        .long n_u32_int82, 0, u32_int82, 0, USER32_CS, 0, 0, 0
        .long n_u32_sysenter, 0, u32_sysenter, 0, USER32_CS, 0, 0, 1
        .long n_u32_syscall, 0, u32_syscall, 0, USER32_CS, 0, 0, 0
        .long n_u32_vsyscall, 0, u32_vsyscall, 0, USER32_CS, 0, 1, 1
        .long n_u32_vsyscall_nofix, 0, u32_vsyscall_nofix, 0, USER32_CS, 0, 1, 1
        .long n_u64_ud2, 0, u64_ud2, 0, USER_CS, 0, 0, 0
        .long n_u32_loop, 0, u32_loop, 0, USER32_CS, 0, 0, 0
        .long n_u64_loop, 0, u64_loop, 0, USER_CS, 0, 0, 0
        .long n_u64_int3, 0, u64_int3, 0, USER_CS, 0, 0, 0
        .long n_u64_int80, 0, u64_int80, 0, USER_CS, 0, 0, 0
        .long n_u64_syscall, 0, u64_syscall, 0, USER_CS, 0, 0, 0
tests_end:
        NTESTS = (tests_end - tests) / 32
test_index:        .quad 0
saved_rax:         .quad 0
saved_rsp:         .quad 0
saved_handler_cs:  .quad 0
start_tsc:         .quad 0
vsyscall_mode:     .quad 0
amd_cpu:           .byte 0

        .p2align 3
gdt_register:
        .word gdt_end - gdt - 1
        .long gdt
        .p2align 3
idt_register:
        .word 256 * 16 - 1
        .long idt, 0
        .p2align 3
gdt:
        .quad 0                         /* 0x00 */
        .quad 0x00cf9b000000ffff        /* 0x08 kernel 32-bit code */
        .quad 0x00af9b000000ffff        /* 0x10 kernel 64-bit code */
        .quad 0x00cf93000000ffff        /* 0x18 kernel data */
        .quad 0x00cffb000000ffff        /* 0x20 user 32-bit code (DPL3) */
        .quad 0x00cff3000000ffff        /* 0x28 user data (DPL3) */
        .quad 0x00affb000000ffff        /* 0x30 user 64-bit code (DPL3) */
        .quad 0                         /* 0x38 */
        .quad 0, 0                      /* 0x40 TSS, filled at run time */
gdt_end:

        .p2align 4
tss:    .fill 104, 1, 0

        .p2align 12
pml4:   .long pdpt + 7, 0
        .fill 511, 8, 0
pdpt:   .long pd + 7, 0
        .fill 511, 8, 0
pd:
        page = 0
        .rept 512
        .quad (page << 21) | 0x87       /* 2 MiB, present, writable, user */
        page = page + 1
        .endr
idt:    .fill 256 * 16, 1, 0

        .p2align 4
boot_stack:   .fill 1024, 1, 0
boot_stack_top:
kernel_stack: .fill 8192, 1, 0
kernel_stack_top:
user_stack:   .fill 8192, 1, 0
user_stack_top:
