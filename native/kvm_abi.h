// linux/kvm.h declares its variable-length structs with __DECLARE_FLEX_ARRAY, which in C++ adds an empty
// struct: sizeof and the array offset differ from C, and so do the ioctl numbers that encode sizeof.
// These headers and request numbers use the kernel's (C) layout.
#pragma once
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <cstdint>
#include <vector>

namespace nodevmm {

struct CpuidHeader { uint32_t nent; uint32_t padding; };  // then kvm_cpuid_entry2[nent]
struct MsrsHeader { uint32_t nmsrs; uint32_t pad; };      // then kvm_msr_entry[nmsrs]
struct MsrListHeader { uint32_t nmsrs; };                 // then uint32_t[nmsrs]

constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);

static_assert(sizeof(kvm_cpuid_entry2) == 40, "kvm_cpuid_entry2");
static_assert(sizeof(kvm_msr_entry) == 16, "kvm_msr_entry");
static_assert(kGetSupportedCpuid == 0xc008ae05, "KVM_GET_SUPPORTED_CPUID");
static_assert(kSetCpuid2 == 0x4008ae90, "KVM_SET_CPUID2");
static_assert(kGetMsrs == 0xc008ae88, "KVM_GET_MSRS");
static_assert(kSetMsrs == 0x4008ae89, "KVM_SET_MSRS");
static_assert(kGetMsrIndexList == 0xc004ae02, "KVM_GET_MSR_INDEX_LIST");

// A header followed by a variable array, laid out as the kernel expects.
template <typename Header, typename Entry>
struct VarStruct {
  explicit VarStruct(size_t n) : bytes(sizeof(Header) + n * sizeof(Entry), 0) {}
  Header* header() { return reinterpret_cast<Header*>(bytes.data()); }
  Entry* entries() { return reinterpret_cast<Entry*>(bytes.data() + sizeof(Header)); }
  void* data() { return bytes.data(); }
  std::vector<uint8_t> bytes;
};

}  // namespace nodevmm
