#include "kick.h"

#include <signal.h>
#include <mutex>
#include <unordered_map>

namespace nodevmm {

namespace {
struct Entry {
  kvm_run* run;
  pthread_t thread;
};
std::mutex registryMutex;
std::unordered_map<uint32_t, Entry> registry;
uint32_t nextHandle = 1;
std::once_flag installOnce;

void IgnoreKick(int) {}
}  // namespace

int KickSignal() { return SIGRTMIN + 5; }

void InstallKickSignal() {
  std::call_once(installOnce, [] {
    struct sigaction sa = {};
    sa.sa_handler = IgnoreKick;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must come back with EINTR
    sigaction(KickSignal(), &sa, nullptr);
  });
}

void UnblockKickSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, KickSignal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

uint32_t RegisterVcpu(kvm_run* run, pthread_t thread) {
  std::lock_guard<std::mutex> lock(registryMutex);
  uint32_t handle = nextHandle++;
  registry[handle] = Entry{run, thread};
  return handle;
}

void UnregisterVcpu(uint32_t handle) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry.erase(handle);
}

bool KickVcpu(uint32_t handle) {
  std::lock_guard<std::mutex> lock(registryMutex);
  auto it = registry.find(handle);
  if (it == registry.end()) return false;
  __atomic_store_n(&it->second.run->immediate_exit, 1, __ATOMIC_SEQ_CST);
  pthread_kill(it->second.thread, KickSignal());
  return true;
}

}  // namespace nodevmm
