// vCPU and VM state ioctls used to save and restore a machine (KVM API: XSAVE, XCRS, DEBUGREGS,
// IRQCHIP, PIT2, CLOCK). Regs, sregs, FPU, events, LAPIC, MP state and MSRs have their own methods.
#include "state_ioctl.h"
#include "errors.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <cstring>
#include <string>

namespace nodevmm {

namespace {

// kvm_xsave ends in a flex array, which C++ sizes differently from C (see kvm_abi.h): use the
// kernel's 4 KiB layout and its request numbers.
struct XsaveC { uint32_t region[1024]; };
constexpr unsigned long kGetXsave = _IOR(KVMIO, 0xa4, XsaveC);
constexpr unsigned long kSetXsave = _IOW(KVMIO, 0xa5, XsaveC);
static_assert(kGetXsave == 0x9000aea4, "KVM_GET_XSAVE");
static_assert(kSetXsave == 0x5000aea5, "KVM_SET_XSAVE");

struct Kind {
  const char* name;
  unsigned long get;
  unsigned long set;
  size_t size;
  const char* getName;
  const char* setName;
  int chipId;  // for irqchip kinds: which chip KVM_GET_IRQCHIP reads; -1 otherwise
};

const Kind kVcpuKinds[] = {
  {"xsave", kGetXsave, kSetXsave, sizeof(XsaveC), "KVM_GET_XSAVE", "KVM_SET_XSAVE", -1},
  {"xcrs", KVM_GET_XCRS, KVM_SET_XCRS, sizeof(kvm_xcrs), "KVM_GET_XCRS", "KVM_SET_XCRS", -1},
  {"debugregs", KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(kvm_debugregs), "KVM_GET_DEBUGREGS", "KVM_SET_DEBUGREGS", -1},
};

const Kind kVmKinds[] = {
  {"picMaster", KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, sizeof(kvm_irqchip), "KVM_GET_IRQCHIP", "KVM_SET_IRQCHIP", KVM_IRQCHIP_PIC_MASTER},
  {"picSlave", KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, sizeof(kvm_irqchip), "KVM_GET_IRQCHIP", "KVM_SET_IRQCHIP", KVM_IRQCHIP_PIC_SLAVE},
  {"ioapic", KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, sizeof(kvm_irqchip), "KVM_GET_IRQCHIP", "KVM_SET_IRQCHIP", KVM_IRQCHIP_IOAPIC},
  {"pit2", KVM_GET_PIT2, KVM_SET_PIT2, sizeof(kvm_pit_state2), "KVM_GET_PIT2", "KVM_SET_PIT2", -1},
  {"clock", KVM_GET_CLOCK, KVM_SET_CLOCK, sizeof(kvm_clock_data), "KVM_GET_CLOCK", "KVM_SET_CLOCK", -1},
};

template <size_t N>
Napi::Value StateIoctl(const Napi::CallbackInfo& info, int fd, bool set, const Kind (&kinds)[N]) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsTypedArray())
    ThrowType(env, "state ioctl: (kind: string, bytes: Uint8Array) expected");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  for (const Kind& k : kinds) {
    if (name != k.name) continue;
    auto array = info[1].As<Napi::Uint8Array>();
    if (array.ByteLength() != k.size)
      ThrowType(env, name + ": buffer must be " + std::to_string(k.size) + " bytes");
    // The irqchip ioctls name their chip in the struct's first field.
    if (k.chipId >= 0) reinterpret_cast<kvm_irqchip*>(array.Data())->chip_id = static_cast<uint32_t>(k.chipId);
    if (ioctl(fd, set ? k.set : k.get, array.Data()) < 0) ThrowErrno(env, set ? k.setName : k.getName);
    return env.Undefined();
  }
  ThrowType(env, "state ioctl: unknown kind " + name);
}

}  // namespace

Napi::Value VcpuStateIoctl(const Napi::CallbackInfo& info, int fd, bool set) {
  return StateIoctl(info, fd, set, kVcpuKinds);
}

Napi::Value VmStateIoctl(const Napi::CallbackInfo& info, int fd, bool set) {
  return StateIoctl(info, fd, set, kVmKinds);
}

Napi::Object StateSizes(Napi::Env env) {
  auto sizes = Napi::Object::New(env);
  for (const Kind& k : kVcpuKinds) sizes.Set(k.name, k.size);
  for (const Kind& k : kVmKinds) sizes.Set(k.name, k.size);
  return sizes;
}

}  // namespace nodevmm
