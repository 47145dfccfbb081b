#include "vm.h"
#include "errors.h"
#include "guest_memory.h"
#include "kvm_abi.h"
#include "state_ioctl.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace nodevmm {

// ---- Kvm ------------------------------------------------------------------------------------------

Napi::Function Kvm::Init(Napi::Env env) {
  return DefineClass(env, "Kvm", {
    InstanceMethod<&Kvm::ApiVersion>("apiVersion"),
    InstanceMethod<&Kvm::CheckExtension>("checkExtension"),
    InstanceMethod<&Kvm::VcpuMmapSize>("vcpuMmapSize"),
    InstanceMethod<&Kvm::SupportedCpuid>("supportedCpuid"),
    InstanceMethod<&Kvm::MsrIndexList>("msrIndexList"),
    InstanceMethod<&Kvm::Close>("close"),
  });
}

// new Kvm(path = "/dev/kvm")
Kvm::Kvm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Kvm>(info) {
  std::string path = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "/dev/kvm";
  fd_ = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) ThrowErrno(info.Env(), ("open(" + path + ")").c_str());
}

Kvm::~Kvm() {
  if (fd_ >= 0) close(fd_);
}

Napi::Value Kvm::ApiVersion(const Napi::CallbackInfo& info) {
  int v = ioctl(fd_, KVM_GET_API_VERSION, 0);
  if (v < 0) ThrowErrno(info.Env(), "KVM_GET_API_VERSION");
  return Napi::Number::New(info.Env(), v);
}

Napi::Value Kvm::CheckExtension(const Napi::CallbackInfo& info) {
  int v = ioctl(fd_, KVM_CHECK_EXTENSION, info[0].As<Napi::Number>().Int32Value());
  if (v < 0) ThrowErrno(info.Env(), "KVM_CHECK_EXTENSION");
  return Napi::Number::New(info.Env(), v);
}

Napi::Value Kvm::VcpuMmapSize(const Napi::CallbackInfo& info) {
  int v = ioctl(fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (v < 0) ThrowErrno(info.Env(), "KVM_GET_VCPU_MMAP_SIZE");
  return Napi::Number::New(info.Env(), v);
}

// -> Uint32Array, 10 words per kvm_cpuid_entry2
Napi::Value Kvm::SupportedCpuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (uint32_t n = 64; n <= 4096; n *= 2) {
    VarStruct<CpuidHeader, kvm_cpuid_entry2> cpuid(n);
    cpuid.header()->nent = n;
    if (ioctl(fd_, kGetSupportedCpuid, cpuid.data()) < 0) {
      if (errno == E2BIG) continue;
      ThrowErrno(env, "KVM_GET_SUPPORTED_CPUID");
    }
    size_t words = cpuid.header()->nent * sizeof(kvm_cpuid_entry2) / 4;
    auto out = Napi::Uint32Array::New(env, words);
    std::memcpy(out.Data(), cpuid.entries(), words * 4);
    return out;
  }
  ThrowErrno(env, "KVM_GET_SUPPORTED_CPUID", E2BIG);
}

Napi::Value Kvm::MsrIndexList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (uint32_t n = 256; n <= 16384; n *= 2) {
    VarStruct<MsrListHeader, uint32_t> list(n);
    list.header()->nmsrs = n;
    if (ioctl(fd_, kGetMsrIndexList, list.data()) < 0) {
      if (errno == E2BIG) continue;
      ThrowErrno(env, "KVM_GET_MSR_INDEX_LIST");
    }
    auto out = Napi::Uint32Array::New(env, list.header()->nmsrs);
    std::memcpy(out.Data(), list.entries(), list.header()->nmsrs * 4);
    return out;
  }
  ThrowErrno(env, "KVM_GET_MSR_INDEX_LIST", E2BIG);
}

Napi::Value Kvm::Close(const Napi::CallbackInfo& info) {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

// ---- Vm -------------------------------------------------------------------------------------------

Napi::Function Vm::Init(Napi::Env env) {
  return DefineClass(env, "Vm", {
    InstanceAccessor<&Vm::Fd>("fd"),
    InstanceMethod<&Vm::CheckExtension>("checkExtension"),
    InstanceMethod<&Vm::SetTssAddr>("setTssAddr"),
    InstanceMethod<&Vm::SetIdentityMapAddr>("setIdentityMapAddr"),
    InstanceMethod<&Vm::CreateIrqchip>("createIrqchip"),
    InstanceMethod<&Vm::CreatePit2>("createPit2"),
    InstanceMethod<&Vm::IrqLine>("irqLine"),
    InstanceMethod<&Vm::SetMemoryRegion>("setMemoryRegion"),
    InstanceMethod<&Vm::GetDirtyLog>("getDirtyLog"),
    InstanceMethod<&Vm::Ioeventfd>("ioeventfd"),
    InstanceMethod<&Vm::Irqfd>("irqfd"),
    InstanceMethod<&Vm::GetState>("getState"),
    InstanceMethod<&Vm::SetState>("setState"),
    InstanceMethod<&Vm::Close>("close"),
  });
}

// new Vm(kvm)
Vm::Vm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Vm>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowType(env, "Vm(kvm): a Kvm is expected");
  Kvm* kvm = Napi::ObjectWrap<Kvm>::Unwrap(info[0].As<Napi::Object>());
  // A signal can interrupt KVM_CREATE_VM before the VM exists (seen under kvm_pvm during back-to-back
  // resets); nothing was created then, so asking again is safe.
  do {
    fd_ = ioctl(kvm->fd(), KVM_CREATE_VM, 0);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) ThrowErrno(env, "KVM_CREATE_VM");
}

Vm::~Vm() {
  if (fd_ >= 0) close(fd_);
}

int Vm::CheckedFd(Napi::Env env) const {
  if (fd_ < 0) ThrowType(env, "Vm: closed");
  return fd_;
}

Napi::Value Vm::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

Napi::Value Vm::CheckExtension(const Napi::CallbackInfo& info) {
  int v = ioctl(CheckedFd(info.Env()), KVM_CHECK_EXTENSION, info[0].As<Napi::Number>().Int32Value());
  if (v < 0) ThrowErrno(info.Env(), "KVM_CHECK_EXTENSION");
  return Napi::Number::New(info.Env(), v);
}

Napi::Value Vm::SetTssAddr(const Napi::CallbackInfo& info) {
  unsigned long addr = static_cast<unsigned long>(info[0].As<Napi::Number>().Int64Value());
  if (ioctl(CheckedFd(info.Env()), KVM_SET_TSS_ADDR, addr) < 0) ThrowErrno(info.Env(), "KVM_SET_TSS_ADDR");
  return info.Env().Undefined();
}

Napi::Value Vm::SetIdentityMapAddr(const Napi::CallbackInfo& info) {
  uint64_t addr = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  if (ioctl(CheckedFd(info.Env()), KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0)
    ThrowErrno(info.Env(), "KVM_SET_IDENTITY_MAP_ADDR");
  return info.Env().Undefined();
}

Napi::Value Vm::CreateIrqchip(const Napi::CallbackInfo& info) {
  if (ioctl(CheckedFd(info.Env()), KVM_CREATE_IRQCHIP, 0) < 0) ThrowErrno(info.Env(), "KVM_CREATE_IRQCHIP");
  return info.Env().Undefined();
}

Napi::Value Vm::CreatePit2(const Napi::CallbackInfo& info) {
  kvm_pit_config config = {};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (ioctl(CheckedFd(info.Env()), KVM_CREATE_PIT2, &config) < 0) ThrowErrno(info.Env(), "KVM_CREATE_PIT2");
  return info.Env().Undefined();
}

static void DoIrqLine(Napi::Env env, int vmFd, uint32_t irq, uint32_t level) {
  kvm_irq_level line = {};
  line.irq = irq;
  line.level = level;
  if (ioctl(vmFd, KVM_IRQ_LINE, &line) < 0) ThrowErrno(env, "KVM_IRQ_LINE");
}

Napi::Value Vm::IrqLine(const Napi::CallbackInfo& info) {
  DoIrqLine(info.Env(), CheckedFd(info.Env()), info[0].As<Napi::Number>().Uint32Value(),
            info[1].ToBoolean().Value() ? 1 : 0);
  return info.Env().Undefined();
}

Napi::Value IrqLineByFd(const Napi::CallbackInfo& info) {
  DoIrqLine(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Uint32Value(),
            info[2].ToBoolean().Value() ? 1 : 0);
  return info.Env().Undefined();
}

Napi::Value Vm::GetState(const Napi::CallbackInfo& i) { return VmStateIoctl(i, CheckedFd(i.Env()), false); }
Napi::Value Vm::SetState(const Napi::CallbackInfo& i) { return VmStateIoctl(i, CheckedFd(i.Env()), true); }

// setMemoryRegion(slot, guestPhysAddr, memory: GuestMemory, offset = 0, size = memory.size, flags = 0)
Napi::Value Vm::SetMemoryRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = CheckedFd(env);
  if (info.Length() < 3 || !info[2].IsObject()) ThrowType(env, "setMemoryRegion(slot, gpa, memory[, offset, size, flags])");
  uint32_t slot = info[0].As<Napi::Number>().Uint32Value();
  uint64_t gpa = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  Napi::Object memoryObject = info[2].As<Napi::Object>();
  GuestMemory* memory = Napi::ObjectWrap<GuestMemory>::Unwrap(memoryObject);
  uint64_t offset = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : 0;
  uint64_t size = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int64Value()
                                                          : memory->size() - offset;
  uint32_t flags = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 0;
  if (memory->host() == nullptr) ThrowType(env, "setMemoryRegion: guest memory is closed");
  if (offset + size > memory->size()) ThrowType(env, "setMemoryRegion: region exceeds guest memory");

  kvm_userspace_memory_region region = {};
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(memory->host() + offset);
  if (ioctl(fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) ThrowErrno(env, "KVM_SET_USER_MEMORY_REGION");
  if (size == 0) {
    slots_.erase(slot);  // size 0 deletes the slot
  } else {
    slots_[slot] = Slot{Napi::Persistent(memoryObject), size};
  }
  return env.Undefined();
}

// getDirtyLog(slot, bitmap: Uint8Array): KVM_GET_DIRTY_LOG, one bit per 4 KiB page of the slot in
// 64-bit little-endian words. KVM clears what it returns, so each call reports the writes since the
// last. The slot must be registered with KVM_MEM_LOG_DIRTY_PAGES (ENOENT otherwise).
Napi::Value Vm::GetDirtyLog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = CheckedFd(env);
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    ThrowType(env, "getDirtyLog(slot, bitmap: Uint8Array)");
  uint32_t slot = info[0].As<Napi::Number>().Uint32Value();
  Napi::Uint8Array bitmap = info[1].As<Napi::Uint8Array>();
  auto found = slots_.find(slot);
  if (found == slots_.end()) ThrowType(env, "getDirtyLog: slot " + std::to_string(slot) + " has no memory region");
  // KVM writes whole longs: ceil(pages / 64) * 8 bytes, past the caller's buffer if it is shorter.
  uint64_t pages = (found->second.size + 4095) / 4096;
  uint64_t needed = (pages + 63) / 64 * 8;
  if (bitmap.ByteLength() < needed)
    ThrowType(env, "getDirtyLog: slot " + std::to_string(slot) + " has " + std::to_string(pages) + " pages, its bitmap needs " +
                       std::to_string(needed) + " bytes, got " + std::to_string(bitmap.ByteLength()));
  kvm_dirty_log log = {};
  log.slot = slot;
  log.dirty_bitmap = bitmap.Data();
  if (ioctl(fd, KVM_GET_DIRTY_LOG, &log) < 0) ThrowErrno(env, "KVM_GET_DIRTY_LOG");
  return env.Undefined();
}

// ioeventfd(fd, mmioAddress, length, datamatch): KVM_IOEVENTFD. A guest write of `length` bytes
// equal to `datamatch` at the MMIO address signals the eventfd inside the kernel: the vCPU never
// leaves KVM_RUN for it. datamatch < 0 matches any value.
Napi::Value Vm::Ioeventfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  kvm_ioeventfd event = {};
  event.fd = info[0].As<Napi::Number>().Int32Value();
  event.addr = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  event.len = info[2].As<Napi::Number>().Uint32Value();
  int64_t datamatch = info[3].As<Napi::Number>().Int64Value();
  if (datamatch >= 0) {
    event.datamatch = static_cast<uint64_t>(datamatch);
    event.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
  }
  if (ioctl(CheckedFd(env), KVM_IOEVENTFD, &event) < 0) ThrowErrno(env, "KVM_IOEVENTFD");
  return env.Undefined();
}

// irqfd(fd, gsi): KVM_IRQFD. Signalling the eventfd pulses the GSI in the in-kernel irqchip (an edge),
// from any thread, without a system call into the VMM's vCPU threads.
Napi::Value Vm::Irqfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  kvm_irqfd irqfd = {};
  irqfd.fd = info[0].As<Napi::Number>().Uint32Value();
  irqfd.gsi = info[1].As<Napi::Number>().Uint32Value();
  if (ioctl(CheckedFd(env), KVM_IRQFD, &irqfd) < 0) ThrowErrno(env, "KVM_IRQFD");
  return env.Undefined();
}

// Closing the last fd of a VM destroys it, which waits for the kernel's SRCU grace periods (0.5–19 ms
// measured here): done on a short-lived thread so the caller (the main thread) never waits for it.
Napi::Value Vm::Close(const Napi::CallbackInfo& info) {
  if (fd_ >= 0) {
    int fd = fd_;
    std::thread([fd] { close(fd); }).detach();
  }
  fd_ = -1;
  slots_.clear();
  return info.Env().Undefined();
}

}  // namespace nodevmm
