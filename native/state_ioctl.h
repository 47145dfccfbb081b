// Whole-struct state ioctls for snapshots: getState(kind, out) / setState(kind, bytes) on a Vcpu or Vm,
// one table of kinds per object. Each kind's buffer must be exactly the kernel struct's size.
#pragma once
#include <napi.h>

namespace nodevmm {

Napi::Value VcpuStateIoctl(const Napi::CallbackInfo& info, int fd, bool set);
Napi::Value VmStateIoctl(const Napi::CallbackInfo& info, int fd, bool set);
// { kind: bytes } for both tables, checked by the TS side at addon load.
Napi::Object StateSizes(Napi::Env env);

}  // namespace nodevmm
