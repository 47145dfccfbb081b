// Kicking a vCPU out of KVM_RUN from another thread: set kvm_run->immediate_exit, then send the vCPU's
// thread a real-time signal whose handler does nothing and is installed without SA_RESTART, so a
// KVM_RUN in progress returns EINTR and the next one returns at once.
#pragma once
#include <linux/kvm.h>
#include <pthread.h>
#include <cstdint>

namespace nodevmm {

int KickSignal();
void InstallKickSignal();  // once per process; idempotent
void UnblockKickSignal();  // in the calling (vCPU) thread

// The registry maps a small integer handle to a live vCPU, so any thread can kick it by handle.
uint32_t RegisterVcpu(kvm_run* run, pthread_t thread);
void UnregisterVcpu(uint32_t handle);
// Returns false when no live vCPU has that handle (already closed).
bool KickVcpu(uint32_t handle);

}  // namespace nodevmm
