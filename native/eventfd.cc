// Eventfds and a blocking wait on several of them, and advisory file locks: the OS primitives a
// device thread needs (it sleeps until the guest kicks a queue or the VMM sends a command). Nothing
// here knows what the fds are for.
#include "errors.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cstdint>
#include <vector>

namespace nodevmm {

// eventfd() -> fd: counter 0, non-blocking, close-on-exec
Napi::Value CreateEventfd(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) ThrowErrno(info.Env(), "eventfd");
  return Napi::Number::New(info.Env(), fd);
}

// signalEventfd(fd): adds 1. A counter at its maximum already wakes every waiter, so EAGAIN is success.
Napi::Value SignalEventfd(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint64_t one = 1;
  ssize_t n;
  do n = write(fd, &one, sizeof one); while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN) ThrowErrno(info.Env(), "write(eventfd)");
  return info.Env().Undefined();
}

// waitEventfds(fds: Int32Array, timeoutMs[, eventfdCount[, writersFrom]]) -> bit mask of the fds (by
// index, up to 32) that were signalled or are ready. The first eventfdCount fds (all by default) are
// eventfds: each signalled one is read, which resets it; the others (a tap, a socket) are only
// reported, their data left for the caller: readable ones, and from index writersFrom on, writable. Blocks the calling thread (a device worker) for up to timeoutMs (-1: no limit); a
// signal ends the wait early with 0.
Napi::Value WaitEventfds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    ThrowType(env, "waitEventfds(fds: Int32Array, timeoutMs)");
  Napi::Int32Array fds = info[0].As<Napi::Int32Array>();
  size_t count = fds.ElementLength();
  if (count == 0 || count > 32) ThrowType(env, "waitEventfds: 1 to 32 fds");
  int timeout = info[1].As<Napi::Number>().Int32Value();
  size_t eventfds = info.Length() > 2 ? info[2].As<Napi::Number>().Uint32Value() : count;
  size_t writers = info.Length() > 3 ? info[3].As<Napi::Number>().Uint32Value() : count;
  std::vector<pollfd> polled(count);
  for (size_t i = 0; i < count; i++) polled[i] = {fds[i], static_cast<short>(i >= writers ? POLLOUT : POLLIN), 0};
  int ready = poll(polled.data(), count, timeout);
  if (ready < 0) {
    if (errno == EINTR) return Napi::Number::New(env, 0);
    ThrowErrno(env, "poll(eventfds)");
  }
  uint32_t mask = 0;
  for (size_t i = 0; i < count; i++) {
    if (i >= eventfds) {
      // readable, or failed: the caller's read finds out which
      if (polled[i].revents & (POLLNVAL)) ThrowErrno(env, "poll", EBADF);
      if (polled[i].revents) mask |= 1u << i;
      continue;
    }
    if (polled[i].revents & (POLLERR | POLLNVAL)) ThrowErrno(env, "poll(eventfds)", EBADF);
    if (!(polled[i].revents & POLLIN)) continue;
    uint64_t value;
    if (read(polled[i].fd, &value, sizeof value) == sizeof value) mask |= 1u << i;
  }
  return Napi::Number::New(env, mask);
}

// lockFile(fd, exclusive) -> true if this open file now holds the lock, false if another holds a
// conflicting one. An open-file-description lock: it lasts until the fd is closed, whichever thread
// closes it, and two opens in one process conflict as two processes do.
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].ToBoolean().Value();
  struct flock lock = {};
  lock.l_type = exclusive ? F_WRLCK : F_RDLCK;
  lock.l_whence = SEEK_SET;
  if (fcntl(fd, F_OFD_SETLK, &lock) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EAGAIN || errno == EACCES) return Napi::Boolean::New(info.Env(), false);
  ThrowErrno(info.Env(), "fcntl(F_OFD_SETLK)");
}

// unlockFile(fd): drops this open file's lock (a migration hands a disk to its destination).
Napi::Value UnlockFile(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct flock lock = {};
  lock.l_type = F_UNLCK;
  lock.l_whence = SEEK_SET;
  if (fcntl(fd, F_OFD_SETLK, &lock) != 0) ThrowErrno(info.Env(), "fcntl(F_OFD_SETLK, F_UNLCK)");
  return info.Env().Undefined();
}

}  // namespace nodevmm
