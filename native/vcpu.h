// A vCPU: its fd, its kvm_run mapping and its exit record. Constructed in the thread that will run it
// (that thread is the one kicks are sent to).
#pragma once
#include <napi.h>
#include <linux/kvm.h>
#include "exit_record.h"

namespace nodevmm {

class Vcpu : public Napi::ObjectWrap<Vcpu> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Vcpu(const Napi::CallbackInfo& info);
  ~Vcpu() override;

  // One KVM_RUN and the decode into the exit record; 0, or the errno of a failed KVM_RUN.
  int Enter();

 private:
  Napi::Value GetRegs(const Napi::CallbackInfo& info);
  Napi::Value SetRegs(const Napi::CallbackInfo& info);
  Napi::Value GetSregs(const Napi::CallbackInfo& info);
  Napi::Value SetSregs(const Napi::CallbackInfo& info);
  Napi::Value GetFpu(const Napi::CallbackInfo& info);
  Napi::Value SetFpu(const Napi::CallbackInfo& info);
  Napi::Value GetVcpuEvents(const Napi::CallbackInfo& info);
  Napi::Value SetVcpuEvents(const Napi::CallbackInfo& info);
  Napi::Value GetLapic(const Napi::CallbackInfo& info);
  Napi::Value SetLapic(const Napi::CallbackInfo& info);
  Napi::Value GetMpState(const Napi::CallbackInfo& info);
  Napi::Value SetMpState(const Napi::CallbackInfo& info);
  Napi::Value SetCpuid(const Napi::CallbackInfo& info);
  Napi::Value GetMsrs(const Napi::CallbackInfo& info);
  Napi::Value SetMsrs(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value SetState(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Handle(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Record(const Napi::CallbackInfo& info);

  template <unsigned long Request, typename T>
  Napi::Value StructIoctl(const Napi::CallbackInfo& info, const char* name);
  void Decode();
  void Release();
  int CheckedFd(Napi::Env env) const;

  int fd_ = -1;
  kvm_run* run_ = nullptr;
  size_t runSize_ = 0;
  uint32_t handle_ = 0;
  ExitRecord* record_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> recordBuffer_;
  // Where JS's answer to the last IN / MMIO read goes before the next KVM_RUN (null when none).
  uint8_t* pendingIn_ = nullptr;
  uint32_t pendingInLength_ = 0;
};

// enterGuest(): KVM_RUN on the vCPU this thread made, as a bare Node-API function with no arguments
// and no return value (the exit record says what happened). The hot path: one call per exit, and a
// plain function is ~0.3 µs cheaper per call than an ObjectWrap method.
napi_value EnterGuest(napi_env env, napi_callback_info info);

// The same call bound with V8's own API (no napi_env, no exception scope per call): ~0.1 µs less per
// exit. Installed for the calling thread's context; see fast_entry.cc.
void InstallFastEntry();

}  // namespace nodevmm
