// nodevmm's native layer: thin wrappers over /dev/kvm. Loaded once per thread (main and every vCPU
// worker); every object closes its fds when collected or when its thread's environment goes away.
#include "state_ioctl.h"
#include <napi.h>
#include <linux/kvm.h>

#include "exit_record.h"
#include "guest_memory.h"
#include "kick.h"
#include "vcpu.h"
#include "vm.h"

namespace nodevmm {

static Napi::Value KickVcpuByHandle(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), KickVcpu(info[0].As<Napi::Number>().Uint32Value()));
}

Napi::Value OpenPty(const Napi::CallbackInfo& info);
Napi::Value PtyUnread(const Napi::CallbackInfo& info);
Napi::Value SetThreadName(const Napi::CallbackInfo& info);
Napi::Function FdReaderClass(Napi::Env env);
Napi::Value SendWithFds(const Napi::CallbackInfo& info);
Napi::Value CreateEventfd(const Napi::CallbackInfo& info);
Napi::Value SignalEventfd(const Napi::CallbackInfo& info);
Napi::Value WaitEventfds(const Napi::CallbackInfo& info);
Napi::Value LockFile(const Napi::CallbackInfo& info);
Napi::Value UnlockFile(const Napi::CallbackInfo& info);
Napi::Value OpenTap(const Napi::CallbackInfo& info);
Napi::Value AdoptTap(const Napi::CallbackInfo& info);
Napi::Value SetTapOffload(const Napi::CallbackInfo& info);
Napi::Value ReadvNonblocking(const Napi::CallbackInfo& info);
Napi::Value WritevNonblocking(const Napi::CallbackInfo& info);
Napi::Value UnixListen(const Napi::CallbackInfo& info);
Napi::Value UnixAccept(const Napi::CallbackInfo& info);
Napi::Value UnixConnect(const Napi::CallbackInfo& info);
Napi::Value ShutdownSocket(const Napi::CallbackInfo& info);

static Napi::Object Layout(Napi::Env env) {
  auto sizes = Napi::Object::New(env);
  sizes.Set("kvm_regs", sizeof(kvm_regs));
  sizes.Set("kvm_sregs", sizeof(kvm_sregs));
  sizes.Set("kvm_fpu", sizeof(kvm_fpu));
  sizes.Set("kvm_vcpu_events", sizeof(kvm_vcpu_events));
  sizes.Set("kvm_lapic_state", sizeof(kvm_lapic_state));
  sizes.Set("kvm_cpuid_entry2", sizeof(kvm_cpuid_entry2));
  sizes.Set("state", StateSizes(env));
  auto record = Napi::Object::New(env);
  record.Set("size", sizeof(ExitRecord));
  record.Set("reason", offsetof(ExitRecord, reason));
  record.Set("accessSize", offsetof(ExitRecord, size));
  record.Set("isWrite", offsetof(ExitRecord, isWrite));
  record.Set("count", offsetof(ExitRecord, count));
  record.Set("address", offsetof(ExitRecord, address));
  record.Set("aux", offsetof(ExitRecord, aux));
  record.Set("ndata", offsetof(ExitRecord, ndata));
  record.Set("flags", offsetof(ExitRecord, flags));
  record.Set("extra", offsetof(ExitRecord, extra));
  record.Set("data", offsetof(ExitRecord, data));
  auto layout = Napi::Object::New(env);
  layout.Set("sizes", sizes);
  layout.Set("exitRecord", record);
  layout.Set("kickSignal", KickSignal());
  return layout;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Kvm", Kvm::Init(env));
  exports.Set("Vm", Vm::Init(env));
  exports.Set("Vcpu", Vcpu::Init(env));
  exports.Set("GuestMemory", GuestMemory::Init(env));
  napi_value enter;
  napi_create_function(env, "enterGuest", NAPI_AUTO_LENGTH, EnterGuest, nullptr, &enter);
  exports.Set("enterGuest", Napi::Value(env, enter));
  exports.Set("kickVcpu", Napi::Function::New(env, KickVcpuByHandle, "kickVcpu"));
  exports.Set("irqLine", Napi::Function::New(env, IrqLineByFd, "irqLine"));
  exports.Set("openPty", Napi::Function::New(env, OpenPty, "openPty"));
  exports.Set("ptyUnread", Napi::Function::New(env, PtyUnread, "ptyUnread"));
  exports.Set("eventfd", Napi::Function::New(env, CreateEventfd, "eventfd"));
  exports.Set("signalEventfd", Napi::Function::New(env, SignalEventfd, "signalEventfd"));
  exports.Set("waitEventfds", Napi::Function::New(env, WaitEventfds, "waitEventfds"));
  exports.Set("lockFile", Napi::Function::New(env, LockFile, "lockFile"));
  exports.Set("unlockFile", Napi::Function::New(env, UnlockFile, "unlockFile"));
  exports.Set("openTap", Napi::Function::New(env, OpenTap, "openTap"));
  exports.Set("adoptTap", Napi::Function::New(env, AdoptTap, "adoptTap"));
  exports.Set("setTapOffload", Napi::Function::New(env, SetTapOffload, "setTapOffload"));
  exports.Set("readvNonblocking", Napi::Function::New(env, ReadvNonblocking, "readvNonblocking"));
  exports.Set("writevNonblocking", Napi::Function::New(env, WritevNonblocking, "writevNonblocking"));
  exports.Set("unixListen", Napi::Function::New(env, UnixListen, "unixListen"));
  exports.Set("unixAccept", Napi::Function::New(env, UnixAccept, "unixAccept"));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect, "unixConnect"));
  exports.Set("shutdownSocket", Napi::Function::New(env, ShutdownSocket, "shutdownSocket"));
  exports.Set("FdReader", FdReaderClass(env));
  exports.Set("sendWithFds", Napi::Function::New(env, SendWithFds, "sendWithFds"));
  exports.Set("setThreadName", Napi::Function::New(env, SetThreadName, "setThreadName"));
  exports.Set("layout", Layout(env));
  InstallFastEntry();
  return exports;
}

NODE_API_MODULE(nodevmm_kvm, Init)

}  // namespace nodevmm
