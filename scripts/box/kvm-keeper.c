// kvm-keeper: holds one empty KVM VM open for the box's whole life, then sleeps. KVM counts its VMs,
// and when the count goes from 0 to 1 or back it patches the box kernel's scheduler (the
// preempt-notifier static key, in finish_task_switch) and turns SVM on or off on every CPU. A VMM that
// rebuilds its VM at each reset crosses zero every time; under QEMU's multi-threaded TCG that live
// patching of hot code stalled the box (docs/DECISIONS.md, "The box's freeze"). With one VM always
// held, the count never reaches zero. It needs no vCPU and no memory: KVM_CREATE_VM alone counts.
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_CREATE_VM 0xAE01 /* _IO(KVMIO, 0x01) */

int main(void) {
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) {
    perror("kvm-keeper: open /dev/kvm");
    return 1;
  }
  if (ioctl(kvm, KVM_CREATE_VM, 0) < 0) {
    perror("kvm-keeper: KVM_CREATE_VM");
    return 1;
  }
  for (;;) pause();
}
