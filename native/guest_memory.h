// Guest RAM: a memfd mapped MAP_SHARED. The owner creates it; every vCPU worker maps the same memfd, so
// all threads see one RAM without copies, and each mapping is released with the object that made it.
#pragma once
#include <napi.h>
#include <cstddef>
#include <cstdint>

namespace nodevmm {

class GuestMemory : public Napi::ObjectWrap<GuestMemory> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit GuestMemory(const Napi::CallbackInfo& info);
  ~GuestMemory() override;

  uint8_t* host() const { return host_; }
  size_t size() const { return size_; }

 private:
  Napi::Value Buffer(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // native/memory_pages.cc: which pages hold data, and filling RAM from a file's data only
  Napi::Value NonZeroRuns(const Napi::CallbackInfo& info);
  Napi::Value LoadFileData(const Napi::CallbackInfo& info);

  // Owned by the ArrayBuffer: its finalizer unmaps unless close() already did.
  struct Mapping {
    uint8_t* host;
    size_t size;
  };
  static void FinalizeMapping(Napi::Env, void*, Mapping* mapping);

  int fd_ = -1;
  bool ownsFd_ = false;
  uint8_t* host_ = nullptr;
  size_t size_ = 0;
  Mapping* mapping_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};

}  // namespace nodevmm
