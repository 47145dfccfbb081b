// Unix stream sockets that never block, for a device thread that has no event loop (the vsock
// device's host side): listen, accept, connect and half-close. Reads and writes go through
// readvNonblocking / writevNonblocking (tap.cc). What flows through them is the caller's business.
#include "errors.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cstring>
#include <string>

namespace nodevmm {

namespace {

sockaddr_un Address(Napi::Env env, const std::string& path) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) ThrowType(env, "a Unix socket path has 1 to 107 bytes");
  std::memcpy(address.sun_path, path.c_str(), path.size());
  return address;
}

}  // namespace

// unixListen(path) -> fd: a listening socket at path (which must not exist), non-blocking.
Napi::Value UnixListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un address = Address(env, info[0].As<Napi::String>().Utf8Value());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, "socket(AF_UNIX)");
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 16) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "bind", err);
  }
  return Napi::Number::New(env, fd);
}

// unixAccept(fd) -> a connected fd (non-blocking), or -1 when no client is waiting.
Napi::Value UnixAccept(const Napi::CallbackInfo& info) {
  int fd;
  do fd = accept4(info[0].As<Napi::Number>().Int32Value(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0 && (errno == EAGAIN || errno == ECONNABORTED)) return Napi::Number::New(info.Env(), -1);
  if (fd < 0) ThrowErrno(info.Env(), "accept4");
  return Napi::Number::New(info.Env(), fd);
}

// unixConnect(path) -> a connected fd (non-blocking), or -errno (ENOENT: nobody listens there;
// ECONNREFUSED; EAGAIN: the listener's backlog is full).
Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un address = Address(env, info[0].As<Napi::String>().Utf8Value());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Napi::Number::New(env, -errno);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    int err = errno;
    close(fd);
    return Napi::Number::New(env, -err);
  }
  return Napi::Number::New(env, fd);
}

// shutdownSocket(fd, how): SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2; a peer already gone is not an error.
Napi::Value ShutdownSocket(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (shutdown(fd, info[1].As<Napi::Number>().Int32Value()) != 0 && errno != ENOTCONN) ThrowErrno(info.Env(), "shutdown");
  return info.Env().Undefined();
}

}  // namespace nodevmm
