// The exit record: after every KVM_RUN the vCPU decodes kvm_run into this fixed layout in a buffer JS
// reads directly (no allocation per exit). The offsets are exported to JS as constants.
#pragma once
#include <cstdint>

namespace nodevmm {

struct ExitRecord {
  uint32_t reason;   // KVM_EXIT_*; KVM_EXIT_INTR (10) when KVM_RUN returned EINTR/EAGAIN
  uint32_t size;     // PIO/MMIO access size in bytes
  uint32_t isWrite;  // 1 for OUT / MMIO write
  uint32_t count;    // PIO repeat count (rep ins/outs), else 1
  uint64_t address;  // port or guest-physical address
  uint64_t aux;      // suberror / entry-failure reason / system-event type / raw hardware reason
  uint32_t ndata;    // valid words in extra[]
  uint32_t flags;    // fail-entry cpu
  uint64_t extra[16];  // internal-error or system-event data, as KVM gave it
  uint8_t pad[24];
  uint8_t data[4096];  // PIO/MMIO data: OUT/write data on exit; IN/read result written here by JS
};
static_assert(sizeof(ExitRecord) == 192 + 4096, "exit record layout");

}  // namespace nodevmm
