// The vsock test's program in the guest (test/linux/virtio-vsock.test.ts), static like blkbench:
//   vsockio echo PORT       listens on PORT, takes one connection, sends back every byte until the
//                           peer half-closes, then closes; prints "echoed N"
//   vsockio send PORT N     connects to the host (CID 2) on PORT, sends N bytes (byte i = i*7+3),
//                           half-closes, reads the reply to its end; prints "sent N reply <text>"
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char* what) {
  perror(what);
  return 1;
}

static int echo(unsigned port) {
  int s = socket(AF_VSOCK, SOCK_STREAM, 0);
  struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
  if (s < 0 || bind(s, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(s, 1) != 0) return fail("listen");
  printf("listening %u\n", port);
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  if (c < 0) return fail("accept");
  static char buf[65536];
  long total = 0;
  for (;;) {
    ssize_t n = read(c, buf, sizeof buf);
    if (n < 0) return fail("read");
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(c, buf + done, n - done);
      if (w <= 0) return fail("write");
      done += w;
    }
    total += n;
  }
  close(c);
  printf("echoed %ld\n", total);
  return 0;
}

static int send_to_host(unsigned port, long count) {
  int s = socket(AF_VSOCK, SOCK_STREAM, 0);
  struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
  if (s < 0 || connect(s, (struct sockaddr*)&addr, sizeof addr) != 0) return fail("connect");
  static unsigned char buf[65536];
  for (long sent = 0; sent < count;) {
    long n = count - sent < (long)sizeof buf ? count - sent : (long)sizeof buf;
    for (long i = 0; i < n; i++) buf[i] = (unsigned char)((sent + i) * 7 + 3);
    ssize_t w = write(s, buf, n);
    if (w <= 0) return fail("write");
    sent += w;
  }
  shutdown(s, SHUT_WR);
  char reply[256];
  size_t got = 0;
  for (ssize_t n; got < sizeof reply - 1 && (n = read(s, reply + got, sizeof reply - 1 - got)) > 0;) got += n;
  reply[got] = 0;
  printf("sent %ld reply %s\n", count, reply);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "echo") == 0) return echo(strtoul(argv[2], NULL, 10));
  if (argc == 4 && strcmp(argv[1], "send") == 0) return send_to_host(strtoul(argv[2], NULL, 10), strtol(argv[3], NULL, 10));
  fprintf(stderr, "usage: vsockio echo PORT | vsockio send PORT BYTES\n");
  return 2;
}
