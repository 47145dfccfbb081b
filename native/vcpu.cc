#include "vcpu.h"
#include "errors.h"
#include "kick.h"
#include "kvm_abi.h"
#include "state_ioctl.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <pthread.h>
#include <algorithm>
#include <cstring>
#include <vector>

namespace nodevmm {

namespace {
// The vCPU constructed in this thread (each vCPU has a thread of its own).
thread_local Vcpu* threadVcpu = nullptr;
}  // namespace

Napi::Function Vcpu::Init(Napi::Env env) {
  return DefineClass(env, "Vcpu", {
    InstanceMethod<&Vcpu::GetRegs>("getRegs"),
    InstanceMethod<&Vcpu::SetRegs>("setRegs"),
    InstanceMethod<&Vcpu::GetSregs>("getSregs"),
    InstanceMethod<&Vcpu::SetSregs>("setSregs"),
    InstanceMethod<&Vcpu::GetFpu>("getFpu"),
    InstanceMethod<&Vcpu::SetFpu>("setFpu"),
    InstanceMethod<&Vcpu::GetVcpuEvents>("getVcpuEvents"),
    InstanceMethod<&Vcpu::SetVcpuEvents>("setVcpuEvents"),
    InstanceMethod<&Vcpu::GetLapic>("getLapic"),
    InstanceMethod<&Vcpu::SetLapic>("setLapic"),
    InstanceMethod<&Vcpu::GetMpState>("getMpState"),
    InstanceMethod<&Vcpu::SetMpState>("setMpState"),
    InstanceMethod<&Vcpu::SetCpuid>("setCpuid"),
    InstanceMethod<&Vcpu::GetMsrs>("getMsrs"),
    InstanceMethod<&Vcpu::SetMsrs>("setMsrs"),
    InstanceMethod<&Vcpu::GetState>("getState"),
    InstanceMethod<&Vcpu::SetState>("setState"),
    InstanceMethod<&Vcpu::Close>("close"),
    InstanceAccessor<&Vcpu::Handle>("handle"),
    InstanceAccessor<&Vcpu::Fd>("fd"),
    InstanceAccessor<&Vcpu::Record>("record"),
  });
}

// new Vcpu(vmFd, vcpuId, kvmRunMmapSize): KVM_CREATE_VCPU in the calling thread.
Vcpu::Vcpu(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Vcpu>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    ThrowType(env, "Vcpu(vmFd, id, mmapSize): three numbers expected");
  int vmFd = info[0].As<Napi::Number>().Int32Value();
  unsigned long id = info[1].As<Napi::Number>().Uint32Value();
  runSize_ = info[2].As<Napi::Number>().Uint32Value();

  fd_ = ioctl(vmFd, KVM_CREATE_VCPU, id);
  if (fd_ < 0) ThrowErrno(env, "KVM_CREATE_VCPU");
  void* p = mmap(nullptr, runSize_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    close(fd_);
    fd_ = -1;
    ThrowErrno(env, "mmap(kvm_run)", err);
  }
  run_ = static_cast<kvm_run*>(p);

  auto buffer = Napi::ArrayBuffer::New(env, sizeof(ExitRecord));
  record_ = static_cast<ExitRecord*>(buffer.Data());
  std::memset(record_, 0, sizeof(ExitRecord));
  recordBuffer_ = Napi::Persistent(buffer);

  InstallKickSignal();
  UnblockKickSignal();
  handle_ = RegisterVcpu(run_, pthread_self());
  threadVcpu = this;
}

Vcpu::~Vcpu() { Release(); }

void Vcpu::Release() {
  if (threadVcpu == this) threadVcpu = nullptr;
  if (handle_ != 0) UnregisterVcpu(handle_);  // no kick can reach the mapping after this
  handle_ = 0;
  if (run_ != nullptr) munmap(run_, runSize_);
  run_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int Vcpu::CheckedFd(Napi::Env env) const {
  if (fd_ < 0) ThrowType(env, "Vcpu: closed");
  return fd_;
}

int Vcpu::Enter() {
  if (pendingIn_ != nullptr) {
    std::memcpy(pendingIn_, record_->data, pendingInLength_);
    pendingIn_ = nullptr;
  }
  if (ioctl(fd_, KVM_RUN, 0) < 0) {
    if (errno != EINTR && errno != EAGAIN) return errno;
    // Kicked: pending I/O has been completed by KVM; the caller looks at its control flags.
    __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
    record_->reason = KVM_EXIT_INTR;
    return 0;
  }
  Decode();
  return 0;
}

// For the V8-bound entry (fast_entry.cc): 0, or -1 with the failed call and errno.
int EnterThreadVcpu(const char** failedCall, int* err) {
  Vcpu* vcpu = threadVcpu;
  if (vcpu == nullptr) {
    *failedCall = "enterGuest (this thread has no open vCPU)";
    *err = ENODEV;
    return -1;
  }
  *err = vcpu->Enter();
  *failedCall = "KVM_RUN";
  return *err == 0 ? 0 : -1;
}

napi_value EnterGuest(napi_env env, napi_callback_info) {
  const char* call = nullptr;
  int err = 0;
  if (EnterThreadVcpu(&call, &err) != 0) {
    try {
      ThrowErrno(Napi::Env(env), call, err);
    } catch (const Napi::Error& e) {
      e.ThrowAsJavaScriptException();
    }
  }
  return nullptr;
}

void Vcpu::Decode() {
  ExitRecord* r = record_;
  r->reason = run_->exit_reason;
  switch (run_->exit_reason) {
    case KVM_EXIT_IO: {
      r->size = run_->io.size;
      r->isWrite = run_->io.direction == KVM_EXIT_IO_OUT;
      r->count = run_->io.count;
      r->address = run_->io.port;
      uint32_t length = std::min<uint32_t>(run_->io.size * run_->io.count, sizeof(r->data));
      uint8_t* data = reinterpret_cast<uint8_t*>(run_) + run_->io.data_offset;
      if (r->isWrite) {
        std::memcpy(r->data, data, length);
      } else {
        pendingIn_ = data;
        pendingInLength_ = length;
      }
      break;
    }
    case KVM_EXIT_MMIO: {
      r->size = run_->mmio.len;
      r->isWrite = run_->mmio.is_write;
      r->count = 1;
      r->address = run_->mmio.phys_addr;
      if (r->isWrite) {
        std::memcpy(r->data, run_->mmio.data, sizeof(run_->mmio.data));
      } else {
        pendingIn_ = run_->mmio.data;
        pendingInLength_ = std::min<uint32_t>(run_->mmio.len, sizeof(run_->mmio.data));
      }
      break;
    }
    case KVM_EXIT_INTERNAL_ERROR: {
      r->aux = run_->internal.suberror;
      r->ndata = std::min<uint32_t>(run_->internal.ndata, 16);
      std::memcpy(r->extra, run_->internal.data, sizeof(r->extra));
      break;
    }
    case KVM_EXIT_FAIL_ENTRY:
      r->aux = run_->fail_entry.hardware_entry_failure_reason;
      r->flags = run_->fail_entry.cpu;
      break;
    case KVM_EXIT_UNKNOWN:
      r->aux = run_->hw.hardware_exit_reason;
      break;
    default:
      break;
  }
}

// get*/set* take a Uint8Array sized exactly like the kernel struct; the JS side owns the layout.
template <unsigned long Request, typename T>
Napi::Value Vcpu::StructIoctl(const Napi::CallbackInfo& info, const char* name) {
  Napi::Env env = info.Env();
  int fd = CheckedFd(env);
  if (info.Length() < 1 || !info[0].IsTypedArray())
    ThrowType(env, std::string(name) + ": a Uint8Array is expected");
  auto array = info[0].As<Napi::Uint8Array>();
  if (array.ByteLength() != sizeof(T))
    ThrowType(env, std::string(name) + ": buffer must be " + std::to_string(sizeof(T)) + " bytes");
  if (ioctl(fd, Request, array.Data()) < 0) ThrowErrno(env, name);
  return env.Undefined();
}

Napi::Value Vcpu::GetRegs(const Napi::CallbackInfo& i) { return StructIoctl<KVM_GET_REGS, kvm_regs>(i, "KVM_GET_REGS"); }
Napi::Value Vcpu::SetRegs(const Napi::CallbackInfo& i) { return StructIoctl<KVM_SET_REGS, kvm_regs>(i, "KVM_SET_REGS"); }
Napi::Value Vcpu::GetSregs(const Napi::CallbackInfo& i) { return StructIoctl<KVM_GET_SREGS, kvm_sregs>(i, "KVM_GET_SREGS"); }
Napi::Value Vcpu::SetSregs(const Napi::CallbackInfo& i) { return StructIoctl<KVM_SET_SREGS, kvm_sregs>(i, "KVM_SET_SREGS"); }
Napi::Value Vcpu::GetFpu(const Napi::CallbackInfo& i) { return StructIoctl<KVM_GET_FPU, kvm_fpu>(i, "KVM_GET_FPU"); }
Napi::Value Vcpu::SetFpu(const Napi::CallbackInfo& i) { return StructIoctl<KVM_SET_FPU, kvm_fpu>(i, "KVM_SET_FPU"); }
Napi::Value Vcpu::GetVcpuEvents(const Napi::CallbackInfo& i) {
  return StructIoctl<KVM_GET_VCPU_EVENTS, kvm_vcpu_events>(i, "KVM_GET_VCPU_EVENTS");
}
Napi::Value Vcpu::SetVcpuEvents(const Napi::CallbackInfo& i) {
  return StructIoctl<KVM_SET_VCPU_EVENTS, kvm_vcpu_events>(i, "KVM_SET_VCPU_EVENTS");
}
Napi::Value Vcpu::GetLapic(const Napi::CallbackInfo& i) { return StructIoctl<KVM_GET_LAPIC, kvm_lapic_state>(i, "KVM_GET_LAPIC"); }
Napi::Value Vcpu::SetLapic(const Napi::CallbackInfo& i) { return StructIoctl<KVM_SET_LAPIC, kvm_lapic_state>(i, "KVM_SET_LAPIC"); }

Napi::Value Vcpu::GetMpState(const Napi::CallbackInfo& info) {
  kvm_mp_state state = {};
  if (ioctl(CheckedFd(info.Env()), KVM_GET_MP_STATE, &state) < 0) ThrowErrno(info.Env(), "KVM_GET_MP_STATE");
  return Napi::Number::New(info.Env(), state.mp_state);
}

Napi::Value Vcpu::SetMpState(const Napi::CallbackInfo& info) {
  kvm_mp_state state = {};
  state.mp_state = info[0].As<Napi::Number>().Uint32Value();
  if (ioctl(CheckedFd(info.Env()), KVM_SET_MP_STATE, &state) < 0) ThrowErrno(info.Env(), "KVM_SET_MP_STATE");
  return info.Env().Undefined();
}

// setCpuid(entries: Uint32Array): 10 words per kvm_cpuid_entry2, as KVM_GET_SUPPORTED_CPUID gives them.
Napi::Value Vcpu::SetCpuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = CheckedFd(env);
  if (info.Length() < 1 || !info[0].IsTypedArray()) ThrowType(env, "setCpuid: a Uint32Array is expected");
  auto words = info[0].As<Napi::Uint32Array>();
  size_t perEntry = sizeof(kvm_cpuid_entry2) / 4;
  if (words.ElementLength() % perEntry != 0) ThrowType(env, "setCpuid: length must be a multiple of 10 words");
  size_t n = words.ElementLength() / perEntry;
  VarStruct<CpuidHeader, kvm_cpuid_entry2> cpuid(n);
  cpuid.header()->nent = static_cast<uint32_t>(n);
  std::memcpy(cpuid.entries(), words.Data(), n * sizeof(kvm_cpuid_entry2));
  if (ioctl(fd, kSetCpuid2, cpuid.data()) < 0) ThrowErrno(env, "KVM_SET_CPUID2");
  return env.Undefined();
}

// getMsrs(indices: Uint32Array, values: BigUint64Array) -> number of MSRs read
Napi::Value Vcpu::GetMsrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = CheckedFd(env);
  auto indices = info[0].As<Napi::Uint32Array>();
  auto values = info[1].As<Napi::BigUint64Array>();
  size_t n = indices.ElementLength();
  if (values.ElementLength() < n) ThrowType(env, "getMsrs: values shorter than indices");
  VarStruct<MsrsHeader, kvm_msr_entry> msrs(n);
  msrs.header()->nmsrs = static_cast<uint32_t>(n);
  for (size_t k = 0; k < n; k++) msrs.entries()[k].index = indices[k];
  int got = ioctl(fd, kGetMsrs, msrs.data());
  if (got < 0) ThrowErrno(env, "KVM_GET_MSRS");
  for (int k = 0; k < got; k++) values[k] = msrs.entries()[k].data;
  return Napi::Number::New(env, got);
}

// setMsrs(indices: Uint32Array, values: BigUint64Array) -> number of MSRs written
Napi::Value Vcpu::SetMsrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = CheckedFd(env);
  auto indices = info[0].As<Napi::Uint32Array>();
  auto values = info[1].As<Napi::BigUint64Array>();
  size_t n = indices.ElementLength();
  if (values.ElementLength() < n) ThrowType(env, "setMsrs: values shorter than indices");
  VarStruct<MsrsHeader, kvm_msr_entry> msrs(n);
  msrs.header()->nmsrs = static_cast<uint32_t>(n);
  for (size_t k = 0; k < n; k++) {
    msrs.entries()[k].index = indices[k];
    msrs.entries()[k].data = values[k];
  }
  int set = ioctl(fd, kSetMsrs, msrs.data());
  if (set < 0) ThrowErrno(env, "KVM_SET_MSRS");
  return Napi::Number::New(env, set);
}

Napi::Value Vcpu::GetState(const Napi::CallbackInfo& i) { return VcpuStateIoctl(i, CheckedFd(i.Env()), false); }
Napi::Value Vcpu::SetState(const Napi::CallbackInfo& i) { return VcpuStateIoctl(i, CheckedFd(i.Env()), true); }

Napi::Value Vcpu::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

Napi::Value Vcpu::Handle(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), handle_); }
Napi::Value Vcpu::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
Napi::Value Vcpu::Record(const Napi::CallbackInfo& info) { return recordBuffer_.Value(); }

}  // namespace nodevmm
