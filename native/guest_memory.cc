#include "guest_memory.h"
#include "errors.h"

#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>
#include <thread>

namespace nodevmm {

Napi::Function GuestMemory::Init(Napi::Env env) {
  return DefineClass(env, "GuestMemory", {
    InstanceAccessor<&GuestMemory::Buffer>("buffer"),
    InstanceAccessor<&GuestMemory::Fd>("fd"),
    InstanceAccessor<&GuestMemory::Size>("size"),
    InstanceMethod<&GuestMemory::Close>("close"),
    InstanceMethod<&GuestMemory::NonZeroRuns>("nonZeroRuns"),
    InstanceMethod<&GuestMemory::LoadFileData>("loadFileData"),
  });
}

// new GuestMemory(size)          -> creates a fresh, zeroed memfd of `size` bytes (owner)
// new GuestMemory(size, memfd)   -> maps an existing memfd (a worker's view of the owner's RAM)
GuestMemory::GuestMemory(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GuestMemory>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowType(env, "GuestMemory(size[, fd]): size must be a number");
  double size = info[0].As<Napi::Number>().DoubleValue();
  long page = sysconf(_SC_PAGESIZE);
  if (!(size > 0) || static_cast<uint64_t>(size) % page != 0)
    ThrowType(env, "GuestMemory: size must be a positive multiple of the page size");
  size_ = static_cast<size_t>(size);

  if (info.Length() >= 2 && info[1].IsNumber()) {
    fd_ = info[1].As<Napi::Number>().Int32Value();
    ownsFd_ = false;
  } else {
    fd_ = memfd_create("nodevmm-guest-ram", MFD_CLOEXEC);
    if (fd_ < 0) ThrowErrno(env, "memfd_create");
    ownsFd_ = true;
    if (ftruncate(fd_, static_cast<off_t>(size_)) < 0) {
      int err = errno;
      close(fd_);
      fd_ = -1;
      ThrowErrno(env, "ftruncate(guest RAM)", err);
    }
  }
  void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd_, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    if (ownsFd_) close(fd_);
    fd_ = -1;
    ThrowErrno(env, "mmap(guest RAM)", err);
  }
  host_ = static_cast<uint8_t*>(p);
  // The ArrayBuffer owns the mapping, so a typed array that outlives this object never points at
  // unmapped memory. close() unmaps early and detaches the buffer (views then read as empty).
  mapping_ = new Mapping{host_, size_};
  auto ab = Napi::ArrayBuffer::New(env, host_, size_, &GuestMemory::FinalizeMapping, mapping_);
  buffer_ = Napi::Persistent(ab);
}

void GuestMemory::FinalizeMapping(Napi::Env, void*, Mapping* mapping) {
  if (mapping->host != nullptr) munmap(mapping->host, mapping->size);
  delete mapping;
}

GuestMemory::~GuestMemory() {
  // The mapping belongs to the buffer's finalizer; only the memfd is ours to close.
  if (ownsFd_ && fd_ >= 0) close(fd_);
}

Napi::Value GuestMemory::Buffer(const Napi::CallbackInfo& info) {
  if (host_ == nullptr) ThrowType(info.Env(), "GuestMemory: closed");
  return buffer_.Value();
}
Napi::Value GuestMemory::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
Napi::Value GuestMemory::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(size_));
}

// JS loses access at once (the buffer is detached); unmapping and closing a large RAM can take a while
// and happen on a short-lived thread, off the caller's thread.
Napi::Value GuestMemory::Close(const Napi::CallbackInfo& info) {
  uint8_t* host = nullptr;
  size_t size = 0;
  if (host_ != nullptr) {
    Napi::ArrayBuffer ab = buffer_.Value();
    ab.Detach();
    host = mapping_->host;
    size = mapping_->size;
    mapping_->host = nullptr;  // the buffer's finalizer will only free the record
    host_ = nullptr;
    buffer_.Reset();
  }
  int fd = ownsFd_ ? fd_ : -1;
  fd_ = -1;
  if (host != nullptr || fd >= 0) {
    std::thread([host, size, fd] {
      if (host != nullptr) munmap(host, size);
      if (fd >= 0) close(fd);
    }).detach();
  }
  return info.Env().Undefined();
}

}  // namespace nodevmm
