/*
 * Runs a command and reports what it cost, measured the same way for every system under test:
 *   measure-run COMMAND [ARGS...]
 * The child inherits stdin/stdout/stderr. After it ends, one line goes to stderr:
 *   @@measure-run status=S wall_ns=W user_us=U sys_us=Y maxrss_kib=M exited_at_ns=E
 * wall_ns is fork -> wait4 on CLOCK_MONOTONIC; user/sys/maxrss come from wait4's rusage (all threads
 * of the child, µs resolution: CPU time is far less disturbed by a busy machine than wall time);
 * exited_at_ns is when wait4 returned, on the clock the guest's PM timer is derived from.
 * status is the exit status, or 128 + signal.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static uint64_t micros(struct timeval t) { return (uint64_t)t.tv_sec * 1000000ull + t.tv_usec; }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: measure-run COMMAND [ARGS...]\n");
    return 2;
  }
  uint64_t start = now_ns();
  pid_t child = fork();
  if (child < 0) {
    perror("measure-run: fork");
    return 2;
  }
  if (child == 0) {
    execvp(argv[1], argv + 1);
    perror("measure-run: exec");
    _exit(127);
  }
  int status;
  struct rusage usage;
  if (wait4(child, &status, 0, &usage) < 0) {
    perror("measure-run: wait4");
    return 2;
  }
  uint64_t end = now_ns();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  fprintf(stderr, "@@measure-run status=%d wall_ns=%llu user_us=%llu sys_us=%llu maxrss_kib=%ld exited_at_ns=%llu\n", code,
          (unsigned long long)(end - start), (unsigned long long)micros(usage.ru_utime),
          (unsigned long long)micros(usage.ru_stime), usage.ru_maxrss, (unsigned long long)end);
  return code;
}
