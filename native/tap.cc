// TAP network interfaces for virtio-net: open one by name (creating it when the process may) or take
// one that was handed over as an fd (libvirt's way), both with the virtio-net header on every frame,
// and move frames in and out without blocking. What the frames mean is the caller's business.
#include "errors.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cstring>
#include <vector>

namespace nodevmm {

namespace {

// The header before each frame: struct virtio_net_hdr_v1 (12 bytes, with num_buffers), the form a
// VIRTIO_F_VERSION_1 driver uses, so frames pass between the guest's buffers and the tap unchanged.
constexpr int kVnetHeaderSize = 12;

void Prepare(Napi::Env env, int fd) {
  int size = kVnetHeaderSize;
  if (ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) ThrowErrno(env, "ioctl(TUNSETVNETHDRSZ)");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) ThrowErrno(env, "fcntl(O_NONBLOCK)");
}

Napi::Object Described(Napi::Env env, int fd, const char* name) {
  auto out = Napi::Object::New(env);
  out.Set("fd", fd);
  out.Set("name", name);
  return out;
}

// Gathers a JS array of Uint8Arrays into iovecs (at most IOV_MAX).
std::vector<iovec> Iovecs(const Napi::CallbackInfo& info, int index) {
  if (!info[index].IsArray()) ThrowType(info.Env(), "expected an array of Uint8Array");
  Napi::Array list = info[index].As<Napi::Array>();
  if (list.Length() > 1024) ThrowType(info.Env(), "at most 1024 buffers");
  std::vector<iovec> out(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list[i];
    if (!v.IsTypedArray()) ThrowType(info.Env(), "expected an array of Uint8Array");
    Napi::Uint8Array b = v.As<Napi::Uint8Array>();
    out[i] = {b.Data(), b.ByteLength()};
  }
  return out;
}

}  // namespace

// openTap(name) -> { fd, name }: attaches to the tap `name` (the kernel makes it if it is absent and
// the process has CAP_NET_ADMIN; "" lets the kernel choose a name), non-blocking, close-on-exec.
Napi::Value OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ) ThrowType(env, "a tap name has at most 15 characters");
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, "open(/dev/net/tun)");
  ifreq request = {};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  try {
    if (ioctl(fd, TUNSETIFF, &request) != 0) ThrowErrno(env, "ioctl(TUNSETIFF)");
    Prepare(env, fd);
  } catch (...) {
    close(fd);
    throw;
  }
  return Described(env, fd, request.ifr_name);
}

// adoptTap(fd) -> { fd, name }: checks that an fd handed to the VMM is a tap with the virtio-net
// header (IFF_TAP, IFF_VNET_HDR, no packet info) and makes it ready, as openTap does. The result is
// a dup: the device closes it with the VM, and `fd` stays with the config for the next boot.
Napi::Value AdoptTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  ifreq request = {};
  if (ioctl(fd, TUNGETIFF, &request) != 0) ThrowErrno(env, "ioctl(TUNGETIFF)");
  if ((request.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP) ThrowType(env, "the fd is a tun, not a tap");
  if (!(request.ifr_flags & IFF_VNET_HDR)) ThrowType(env, "the tap was opened without IFF_VNET_HDR");
  if (!(request.ifr_flags & IFF_NO_PI)) ThrowType(env, "the tap was opened without IFF_NO_PI");
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) ThrowErrno(env, "dup");
  try {
    Prepare(env, own);
  } catch (...) {
    close(own);
    throw;
  }
  return Described(env, own, request.ifr_name);
}

// setTapOffload(fd, flags): which offloads (TUN_F_*) the tap may hand the guest: partial checksums
// and segments larger than the MTU, as far as the guest's driver accepted them.
Napi::Value SetTapOffload(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  unsigned int flags = info[1].As<Napi::Number>().Uint32Value();
  if (ioctl(fd, TUNSETOFFLOAD, flags) != 0) ThrowErrno(info.Env(), "ioctl(TUNSETOFFLOAD)");
  return info.Env().Undefined();
}

// readvNonblocking(fd, buffers) -> bytes read, or -1 when nothing is there to read (EAGAIN). For a
// tap, one call is one frame.
Napi::Value ReadvNonblocking(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::vector<iovec> iov = Iovecs(info, 1);
  ssize_t n;
  do n = readv(fd, iov.data(), iov.size()); while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return Napi::Number::New(info.Env(), -1);
  if (n < 0) ThrowErrno(info.Env(), "readv");
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// writevNonblocking(fd, buffers) -> bytes written, or -errno when the write failed (EAGAIN: the fd
// is full; for a tap, EIO: its link is down, EINVAL: a bad header): the caller decides what is fatal.
Napi::Value WritevNonblocking(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::vector<iovec> iov = Iovecs(info, 1);
  ssize_t n;
  do n = writev(fd, iov.data(), iov.size()); while (n < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), n < 0 ? -errno : static_cast<double>(n));
}

}  // namespace nodevmm
