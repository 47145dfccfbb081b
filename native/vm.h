// /dev/kvm and a VM: system and VM ioctls. No devices, no policy.
#pragma once
#include <napi.h>
#include <cstdint>
#include <map>

namespace nodevmm {

class Kvm : public Napi::ObjectWrap<Kvm> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Kvm(const Napi::CallbackInfo& info);
  ~Kvm() override;
  int fd() const { return fd_; }

 private:
  Napi::Value ApiVersion(const Napi::CallbackInfo& info);
  Napi::Value CheckExtension(const Napi::CallbackInfo& info);
  Napi::Value VcpuMmapSize(const Napi::CallbackInfo& info);
  Napi::Value SupportedCpuid(const Napi::CallbackInfo& info);
  Napi::Value MsrIndexList(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  int fd_ = -1;
};

class Vm : public Napi::ObjectWrap<Vm> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Vm(const Napi::CallbackInfo& info);
  ~Vm() override;

 private:
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value CheckExtension(const Napi::CallbackInfo& info);
  Napi::Value SetTssAddr(const Napi::CallbackInfo& info);
  Napi::Value SetIdentityMapAddr(const Napi::CallbackInfo& info);
  Napi::Value CreateIrqchip(const Napi::CallbackInfo& info);
  Napi::Value CreatePit2(const Napi::CallbackInfo& info);
  Napi::Value IrqLine(const Napi::CallbackInfo& info);
  Napi::Value SetMemoryRegion(const Napi::CallbackInfo& info);
  Napi::Value GetDirtyLog(const Napi::CallbackInfo& info);
  Napi::Value Ioeventfd(const Napi::CallbackInfo& info);
  Napi::Value Irqfd(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value SetState(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  int CheckedFd(Napi::Env env) const;

  int fd_ = -1;
  struct Slot {
    Napi::ObjectReference memory;  // guest RAM stays alive as long as a slot maps it
    uint64_t size;                 // bytes: sizes the slot's dirty bitmap
  };
  std::map<uint32_t, Slot> slots_;
};

// irqLine(vmFd, irq, level): usable from any thread that only knows the VM's fd.
Napi::Value IrqLineByFd(const Napi::CallbackInfo& info);

}  // namespace nodevmm
