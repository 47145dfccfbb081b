// What a vCPU loop calls per exit: the addon's enterGuest() for the vCPU this thread created (bound
// through V8's API where available, see native/fast_entry.cc), with the exit reason read back from the
// shared record. Cheaper per exit than the Vcpu object's run() method.
import type { NativeAddon, NativeVcpu } from '../kvm/native.js';
import type { LoopVcpu } from './vcpu-loop.js';

export function guestEntry(addon: NativeAddon, vcpu: NativeVcpu): LoopVcpu {
  const reason = new Uint32Array(vcpu.record, 0, 1);
  const enterGuest = addon.enterGuest;
  return {
    record: vcpu.record,
    run: () => {
      enterGuest();
      return reason[0];
    },
  };
}
