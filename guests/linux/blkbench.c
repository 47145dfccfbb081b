/*
 * blkbench: the disk benchmark the virtio initramfs carries (scripts/linux/fetch-virtio.sh), run by
 * benchmarks/virtio-blk.ts in nodevmm and in QEMU on the same image. O_DIRECT, one request in flight:
 *   blkbench DEVICE seqwrite MIB | seqread MIB | randread COUNT
 * seqwrite/seqread move MIB mebibytes in 1 MiB requests from offset 0; randread reads COUNT 4 KiB
 * blocks at pseudo-random aligned offsets (a fixed LCG, the same sequence every run). Prints one line:
 *   BLKBENCH <test> bytes=<n> ns=<elapsed> MBps=<MB/s> iops=<requests/s>
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int fail(const char *what) {
  perror(what);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: blkbench DEVICE seqwrite|seqread MIB | randread COUNT\n");
    return 2;
  }
  const char *test = argv[2];
  long amount = atol(argv[3]);
  int writing = strcmp(test, "seqwrite") == 0;
  int random = strcmp(test, "randread") == 0;
  if (!writing && !random && strcmp(test, "seqread") != 0) return fail("unknown test");
  int fd = open(argv[1], (writing ? O_WRONLY : O_RDONLY) | O_DIRECT);
  if (fd < 0) return fail("open");
  uint64_t device_bytes = 0;
  if (ioctl(fd, BLKGETSIZE64, &device_bytes) < 0) {
    struct stat st; /* a regular file (a check on the host) */
    if (fstat(fd, &st) < 0) return fail("fstat");
    device_bytes = st.st_size;
  }
  size_t size = random ? 4096 : 1 << 20;
  long count = amount;
  void *buffer;
  if (posix_memalign(&buffer, 4096, size) != 0) return fail("posix_memalign");
  memset(buffer, 0x5a, size);
  uint64_t blocks = device_bytes / size, state = 12345;
  if (!random && (uint64_t)count > blocks) count = blocks;
  uint64_t start = now_ns();
  for (long i = 0; i < count; i++) {
    uint64_t block = i;
    if (random) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      block = (state >> 33) % blocks;
    }
    ssize_t n = writing ? pwrite(fd, buffer, size, block * size) : pread(fd, buffer, size, block * size);
    if (n != (ssize_t)size) return fail(writing ? "pwrite" : "pread");
  }
  uint64_t ns = now_ns() - start;
  double seconds = ns / 1e9, bytes = (double)count * size;
  printf("BLKBENCH %s bytes=%.0f ns=%llu MBps=%.1f iops=%.0f\n", test, bytes, (unsigned long long)ns, bytes / 1e6 / seconds, count / seconds);
  return 0;
}
