// Experiment (not part of nodevmm): what a JS -> native call costs per exit, by binding style, through
// Node-API. Each variant does the same work: one KVM_RUN on the bound vCPU fd (or, unbound, a counter
// increment, to time the call alone).
//   Probe#run()        an ObjectWrap method returning a Number: the style of nodevmm's Vcpu.run()
//   runWithHandle(h)   a plain function taking a handle argument, returning a Number
//   runBound()         a plain function, no arguments, returning undefined: JS reads kvm_run itself
//   runBoundCopy()     the same, but decoding the exit into a separate record first, as nodevmm does
// bind(fd, size) maps the vCPU's kvm_run once more and returns it as an ArrayBuffer, so JS can read the
// exit reason and I/O fields in place.
#include <napi.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <cerrno>
#include <cstring>

namespace {

thread_local int boundFd = -1;
thread_local uint64_t calls = 0;
thread_local kvm_run* boundRun = nullptr;

// nodevmm's exit record, abridged: reason, size, isWrite, count, address (u64), then the data bytes
struct Record {
  uint32_t reason, size, isWrite, count;
  uint64_t address;
  uint8_t data[8];
};
thread_local Record record;

inline int RunOnce() {
  if (boundFd < 0) return static_cast<int>(++calls & 0xff);
  return ioctl(boundFd, KVM_RUN, 0) < 0 ? -errno : 0;
}

class Probe : public Napi::ObjectWrap<Probe> {
 public:
  static Napi::Function Init(Napi::Env env) { return DefineClass(env, "Probe", {InstanceMethod<&Probe::Run>("run")}); }
  explicit Probe(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Probe>(info) {}

 private:
  Napi::Value Run(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), RunOnce()); }
};

Napi::Value RunWithHandle(const Napi::CallbackInfo& info) {
  (void)info[0].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), RunOnce());
}

Napi::Value RunBound(const Napi::CallbackInfo& info) {
  RunOnce();
  return info.Env().Undefined();
}

Napi::Value RunBoundCopy(const Napi::CallbackInfo& info) {
  RunOnce();
  kvm_run* run = boundRun;
  record.reason = run->exit_reason;
  if (run->exit_reason == KVM_EXIT_IO) {
    record.size = run->io.size;
    record.isWrite = run->io.direction == KVM_EXIT_IO_OUT;
    record.count = run->io.count;
    record.address = run->io.port;
    std::memcpy(record.data, reinterpret_cast<uint8_t*>(run) + run->io.data_offset, run->io.size);
  } else if (run->exit_reason == KVM_EXIT_MMIO) {
    record.size = run->mmio.len;
    record.isWrite = run->mmio.is_write;
    record.count = 1;
    record.address = run->mmio.phys_addr;
    std::memcpy(record.data, run->mmio.data, sizeof(record.data));
  }
  return info.Env().Undefined();
}

Napi::Value RecordBuffer(const Napi::CallbackInfo& info) {
  return Napi::ArrayBuffer::New(info.Env(), &record, sizeof(record), [](Napi::Env, void*) {});
}

Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  size_t size = info[1].As<Napi::Number>().Uint32Value();
  void* run = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED) {
    Napi::Error::New(env, "mmap(kvm_run) failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  boundFd = fd;
  boundRun = static_cast<kvm_run*>(run);
  return Napi::ArrayBuffer::New(env, run, size, [](Napi::Env, void* p, size_t* n) { munmap(p, *n); }, new size_t(size));
}

Napi::Value Unbind(const Napi::CallbackInfo& info) {
  boundFd = -1;
  boundRun = nullptr;
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Probe", Probe::Init(env));
  exports.Set("runWithHandle", Napi::Function::New(env, RunWithHandle, "runWithHandle"));
  exports.Set("runBound", Napi::Function::New(env, RunBound, "runBound"));
  exports.Set("runBoundCopy", Napi::Function::New(env, RunBoundCopy, "runBoundCopy"));
  exports.Set("recordBuffer", Napi::Function::New(env, RecordBuffer, "recordBuffer"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("unbind", Napi::Function::New(env, Unbind, "unbind"));
  return exports;
}

}  // namespace

NODE_API_MODULE(call_cost_napi, Init)
