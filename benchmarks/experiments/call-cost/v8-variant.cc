// Experiment (not part of nodevmm): the same KVM_RUN call as napi-variants.cc, bound with V8's own
// function callbacks instead of Node-API: no napi_env, no exception scope, the result returned as a
// small integer (no heap number). Not ABI-stable across Node majors; built per machine like the rest.
//   bind(fd)  run() -> 0 or -errno (unbound: a counter, to time the call alone)
#include <node.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <cerrno>

namespace {

thread_local int boundFd = -1;
thread_local uint32_t calls = 0;

void Run(const v8::FunctionCallbackInfo<v8::Value>& info) {
  int result = boundFd < 0 ? static_cast<int>(++calls & 0xff) : (ioctl(boundFd, KVM_RUN, 0) < 0 ? -errno : 0);
  info.GetReturnValue().Set(result);
}

void Bind(const v8::FunctionCallbackInfo<v8::Value>& info) {
  boundFd = info[0]->Int32Value(info.GetIsolate()->GetCurrentContext()).FromMaybe(-1);
}

}  // namespace

NODE_MODULE_INIT() {
  NODE_SET_METHOD(exports, "run", Run);
  NODE_SET_METHOD(exports, "bind", Bind);
}
