/*
 * The floor: a PVH benchmark guest on bare /dev/kvm with the least possible work per exit. It builds
 * the same VM nodevmm builds (irqchip, PIT, one RAM slot, the PVH start info and boot GDT at the same
 * addresses, the same entry state), then loops on KVM_RUN counting exits until the guest writes ACPI S5
 * (0x34 to port 0x600). Nothing here is dispatched, decoded or copied that the loop does not need.
 *
 *   kvm-floor GUEST.elf [CMDLINE] [MEMORY_MIB]
 * prints one JSON line: {"exits":E,"io":I,"mmio":M,"run_ns":T,"run_cpu_ns":C} where run_ns counts
 * from the first KVM_RUN to the S5 exit and run_cpu_ns is this thread's CPU time over the same span. Build: gcc -O2 -o kvm-floor kvm-floor.c (no dependencies).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Guest addresses: the same as nodevmm's src/boot/memory-layout.ts. */
#define BOOT_GDT_ADDRESS 0x500
#define START_INFO_ADDRESS 0x6000
#define CMDLINE_ADDRESS 0x20000
#define CMDLINE_MAX 2048
#define KVM_IDENTITY_MAP_ADDRESS 0xfffbc000
#define KVM_TSS_ADDRESS 0xfffbd000
#define XEN_HVM_START_MAGIC 0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ACPI_SLEEP_PORT 0x600
#define ACPI_S5 0x34

static void die(const char *what) {
  fprintf(stderr, "kvm-floor: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(1);
}

static int kvm_ioctl(int fd, unsigned long request, unsigned long arg, const char *name) {
  int r = ioctl(fd, request, arg);
  if (r < 0) die(name);
  return r;
}

static uint8_t *read_file(const char *path, size_t *size) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) die(path);
  uint8_t *bytes = malloc(st.st_size);
  if (!bytes || read(fd, bytes, st.st_size) != st.st_size) die(path);
  close(fd);
  *size = st.st_size;
  return bytes;
}

/* Loads the PT_LOAD segments at their physical addresses; returns the PVH entry from the Xen note. */
static uint32_t load_pvh_elf(const uint8_t *image, size_t size, uint8_t *ram, size_t ram_size) {
  const Elf32_Ehdr *eh = (const Elf32_Ehdr *)image;
  if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS32) {
    errno = 0;
    die("not a 32-bit ELF");
  }
  uint32_t entry = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    const Elf32_Phdr *ph = (const Elf32_Phdr *)(image + eh->e_phoff + i * eh->e_phentsize);
    if (ph->p_type == PT_LOAD) {
      if (ph->p_paddr + ph->p_memsz > ram_size) { errno = 0; die("PT_LOAD outside RAM"); }
      memcpy(ram + ph->p_paddr, image + ph->p_offset, ph->p_filesz);
      memset(ram + ph->p_paddr + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
    } else if (ph->p_type == PT_NOTE) {
      for (uint32_t at = ph->p_offset; at + 12 <= ph->p_offset + ph->p_filesz;) {
        const uint32_t *note = (const uint32_t *)(image + at);
        uint32_t name = (note[0] + 3) & ~3u, desc = (note[1] + 3) & ~3u;
        if (note[2] == XEN_ELFNOTE_PHYS32_ENTRY && memcmp(note + 3, "Xen", 4) == 0)
          entry = *(const uint32_t *)(image + at + 12 + name);
        at += 12 + name + desc;
      }
    }
  }
  if (!entry) { errno = 0; die("no PVH entry note"); }
  return entry;
}

/* hvm_start_info v1 with only the command line: the benchmark guests read nothing else. */
static void write_start_info(uint8_t *ram, const char *cmdline) {
  strncpy((char *)ram + CMDLINE_ADDRESS, cmdline, CMDLINE_MAX - 1);
  uint32_t *info = (uint32_t *)(ram + START_INFO_ADDRESS);
  info[0] = XEN_HVM_START_MAGIC;
  info[1] = 1;                       /* version */
  *(uint64_t *)(info + 6) = CMDLINE_ADDRESS;  /* cmdline_paddr at offset 24 */
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, uint8_t s) {
  struct kvm_segment seg = {.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
                            .present = 1, .dpl = 0, .db = 1, .s = s, .l = 0, .g = 1};
  return seg;
}

/* PVH entry: flat 32-bit protected mode, paging off, a busy TSS, EBX = start info (Xen's pvh.pandoc). */
static void set_pvh_entry_state(int vcpu, uint8_t *ram, uint32_t entry) {
  uint64_t *gdt = (uint64_t *)(ram + BOOT_GDT_ADDRESS);
  gdt[2] = 0x00cf9b000000ffffull;    /* 0x10: code, 32-bit, flat */
  gdt[3] = 0x00cf93000000ffffull;    /* 0x18: data, flat */
  gdt[4] = 0x00008b0000000067ull;    /* 0x20: busy 32-bit TSS */
  struct kvm_sregs sregs;
  kvm_ioctl(vcpu, KVM_GET_SREGS, (unsigned long)&sregs, "KVM_GET_SREGS");
  sregs.cs = flat_segment(0x10, 0xb, 1);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(0x18, 0x3, 1);
  sregs.tr = (struct kvm_segment){.limit = 0x67, .selector = 0x20, .type = 0xb, .present = 1};
  sregs.gdt.base = BOOT_GDT_ADDRESS;
  sregs.gdt.limit = 5 * 8 - 1;
  sregs.idt.base = 0;
  sregs.idt.limit = 0;
  sregs.cr0 = 0x11;                  /* PE | ET */
  sregs.cr3 = sregs.cr4 = sregs.efer = 0;
  kvm_ioctl(vcpu, KVM_SET_SREGS, (unsigned long)&sregs, "KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = entry, .rbx = START_INFO_ADDRESS, .rflags = 2};
  kvm_ioctl(vcpu, KVM_SET_REGS, (unsigned long)&regs, "KVM_SET_REGS");
}

/* The host's CPUID as KVM offers it, as nodevmm sets it. */
static void set_supported_cpuid(int kvm, int vcpu) {
  int n = 256;
  struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + n * sizeof(struct kvm_cpuid_entry2));
  cpuid->nent = n;
  kvm_ioctl(kvm, KVM_GET_SUPPORTED_CPUID, (unsigned long)cpuid, "KVM_GET_SUPPORTED_CPUID");
  kvm_ioctl(vcpu, KVM_SET_CPUID2, (unsigned long)cpuid, "KVM_SET_CPUID2");
  free(cpuid);
}

static uint64_t clock_ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: kvm-floor GUEST.elf [CMDLINE] [MEMORY_MIB]\n");
    return 2;
  }
  const char *cmdline = argc > 2 ? argv[2] : "";
  size_t ram_size = (size_t)(argc > 3 ? atoi(argv[3]) : 64) << 20;

  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("/dev/kvm");
  int vm = kvm_ioctl(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
  kvm_ioctl(vm, KVM_SET_TSS_ADDR, KVM_TSS_ADDRESS, "KVM_SET_TSS_ADDR");
  uint64_t identity = KVM_IDENTITY_MAP_ADDRESS;
  kvm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&identity, "KVM_SET_IDENTITY_MAP_ADDR");
  kvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
  struct kvm_pit_config pit = {0};
  kvm_ioctl(vm, KVM_CREATE_PIT2, (unsigned long)&pit, "KVM_CREATE_PIT2");

  uint8_t *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (ram == MAP_FAILED) die("mmap(guest RAM)");
  struct kvm_userspace_memory_region region = {.slot = 0, .guest_phys_addr = 0, .memory_size = ram_size,
                                               .userspace_addr = (uint64_t)(uintptr_t)ram};
  kvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&region, "KVM_SET_USER_MEMORY_REGION");

  size_t image_size;
  uint8_t *image = read_file(argv[1], &image_size);
  uint32_t entry = load_pvh_elf(image, image_size, ram, ram_size);
  write_start_info(ram, cmdline);

  int vcpu = kvm_ioctl(vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
  int run_size = kvm_ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
  struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) die("mmap(kvm_run)");
  set_supported_cpuid(kvm, vcpu);
  set_pvh_entry_state(vcpu, ram, entry);

  uint64_t exits = 0, io = 0, mmio = 0;
  uint64_t start = clock_ns(CLOCK_MONOTONIC), start_cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      die("KVM_RUN");
    }
    exits++;
    if (run->exit_reason == KVM_EXIT_IO) {
      io++;
      if (run->io.port == ACPI_SLEEP_PORT && run->io.direction == KVM_EXIT_IO_OUT &&
          *((uint8_t *)run + run->io.data_offset) == ACPI_S5)
        break;
    } else if (run->exit_reason == KVM_EXIT_MMIO) {
      mmio++;
    } else if (run->exit_reason != KVM_EXIT_HLT) {
      fprintf(stderr, "kvm-floor: unexpected exit %u after %llu exits\n", run->exit_reason, (unsigned long long)exits);
      return 1;
    }
  }
  uint64_t elapsed = clock_ns(CLOCK_MONOTONIC) - start, cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - start_cpu;
  printf("{\"exits\":%llu,\"io\":%llu,\"mmio\":%llu,\"run_ns\":%llu,\"run_cpu_ns\":%llu}\n", (unsigned long long)exits,
         (unsigned long long)io, (unsigned long long)mmio, (unsigned long long)elapsed, (unsigned long long)cpu);
  return 0;
}
