// The calling thread's name (/proc/PID/task/TID/comm), so that tools that look for threads by name
// find them: libvirt's ch driver takes `vcpuN` for vCPUs and `_disk…`, `_net…`, `_rng…` for I/O
// threads, as Cloud Hypervisor names them. Linux keeps 15 bytes; longer names are cut.
#include "errors.h"

#include <pthread.h>
#include <string>

namespace nodevmm {

// setThreadName(name): names the thread that calls it.
Napi::Value SetThreadName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) ThrowType(env, "setThreadName(name): name is a string");
  std::string name = info[0].As<Napi::String>().Utf8Value().substr(0, 15);
  int err = pthread_setname_np(pthread_self(), name.c_str());
  if (err != 0) ThrowErrno(env, "pthread_setname_np", err);
  return env.Undefined();
}

}  // namespace nodevmm
